"""sizing_postgres: POST /v1/inmails on one ``inmail serve`` process on PostgreSQL, for sizing.

docs/deploy.md ("Sizing") quotes this line. One ``inmail serve --workers 1`` on a
throwaway PostgreSQL database, one funded sender on ``recruiter_corporate``,
and enough free-plan recipients (COPYed in bulk) that every request is a new
InMail (a spend, a thread, a message, a notification: answered 201). As in
``http_send_inmail``, the baseline is ``GET /healthz`` on the same server,
same load generator and headers, in alternating rounds.

Besides the ratio, the line gives what an operator sizes with:
``sends_per_s`` (one app process), ``ours_server_cpu_ms_per_op`` (the app
process's CPU per send) and ``postgres_cpu_ms_per_send``: the CPU time of the
PostgreSQL backends serving this database (``pg_stat_activity`` by database,
``/proc/<pid>/stat``) divided by the sends. The server's shared processes (WAL
writer, checkpointer) are not counted, so it is a floor.
"""

from __future__ import annotations

import json
import tempfile
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from benchmarks import procfs
from benchmarks.fixtures import CREDITS
from benchmarks.graph import Graph, load_postgres
from benchmarks.http_send_inmail import funded_sender, inmail_to, recipients_needed
from benchmarks.postgres import ADMIN_URL, server_unavailable, sqlalchemy_url, throwaway_database
from benchmarks.profiles import random_profiles
from benchmarks.report import Comparison, log, skipped
from benchmarks.served import Request, Server, Sides, load, serving
from inmail.domain.credits import new_id
from inmail.store.db import make_engine

NAME = "sizing_postgres"
TARGET = 0.3
CONNECTIONS = 8
MIN_ROUNDS = 3
ROUND_SECONDS = 1.0
WARMUP_SECONDS = 0.5
ADMIN_TOKEN = "bench-operator"


def run(seconds: float) -> dict[str, Any]:
    problem = server_unavailable()
    if problem is not None:
        return skipped(NAME, problem)
    with (
        tempfile.TemporaryDirectory(prefix="inmail-bench-sizing-") as tmp,
        throwaway_database("inmail_bench") as db,
    ):
        url = sqlalchemy_url(db)
        now = datetime.now(UTC)  # the server runs on the system clock
        log(f"{NAME}: preparing {db.database}")
        token = funded_sender(url, now)
        recipients = [new_id("m") for _ in range(recipients_needed(seconds))]
        engine = make_engine(url)
        try:
            load_postgres(
                engine,
                Graph(recipients, array("I"), array("I"), random_profiles(len(recipients), 1)),
                now,
            )
        finally:
            engine.dispose()
        pool = Path(tmp) / "inmails.jsonl"
        pool.write_text("".join(json.dumps(inmail_to(r)) + "\n" for r in recipients))
        log(f"{NAME}: starting inmail serve; {CONNECTIONS} connections")
        with serving(url, Path(tmp), ADMIN_TOKEN, None) as server:
            return _compare(server, db, token, pool, seconds)


def _compare(server: Server, db: URL, token: str, pool: Path, seconds: float) -> dict[str, Any]:
    send = Request("/v1/inmails", token, method="POST", pool=pool, expect=201)
    healthz = Request("/healthz", token)
    load(server, send, CONNECTIONS, WARMUP_SECONDS)  # the pool's connections, the caches
    load(server, healthz, CONNECTIONS, WARMUP_SECONDS)
    rounds = max(MIN_ROUNDS, round(seconds / ROUND_SECONDS))
    result = Comparison(NAME, "postgres", TARGET)
    cpu = Sides()
    postgres_cpu = 0.0
    sends = 0
    for _ in range(rounds):
        with _backend_cpu(db) as used:
            ours, ours_cpu = load(server, send, CONNECTIONS, seconds / rounds)
        postgres_cpu += used()
        sends += ours.ops
        base, base_cpu = load(server, healthz, CONNECTIONS, seconds / rounds)
        cpu.ours.add(ours_cpu, ours.ops)
        cpu.baseline.add(base_cpu, base.ops)
        result.add_round(ours, base)
    line = result.line(
        seconds=seconds,
        ours_path="POST /v1/inmails",
        baseline_path="GET /healthz",
        connections=CONNECTIONS,
        server="inmail serve --workers 1",
        load_generator="python -m benchmarks.loadgen (asyncio, one process)",
        ours_server_cpu_ms_per_op=cpu.ours.ms_per_op,
        baseline_server_cpu_ms_per_op=cpu.baseline.ms_per_op,
        postgres_cpu_ms_per_send=round(1000 * postgres_cpu / sends, 3) if sends else None,
        sender_credits=CREDITS,
    )
    line["sends_per_s"] = line.get("ours_per_s")
    return line


@contextmanager
def _backend_cpu(db: URL) -> Iterator[Any]:
    """CPU seconds the database's backends used in the block (a backend new in it: all of its)."""
    before = _backends(db)
    spent: list[float] = []
    yield lambda: spent[0]
    after = _backends(db)
    spent.append(sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()))


def _backends(db: URL) -> dict[int, float]:
    admin = create_engine(ADMIN_URL)
    try:
        with admin.connect() as conn:
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": db.database},
            ).scalars()
            # The server must run on this machine: its backends are local processes.
            return {pid: cpu for pid in pids if (cpu := procfs.cpu_seconds(pid)) is not None}
    finally:
        admin.dispose()
