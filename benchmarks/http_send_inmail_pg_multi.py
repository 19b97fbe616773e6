"""http_send_inmail_pg_multi: ``http_send_inmail`` on PostgreSQL with ``inmail serve --workers 2``.

The production shape (docs/rules.md, "PostgreSQL behind pgbouncer"): several app
processes on one PostgreSQL. A throwaway database on the benchmark server, set up as
``http_send_inmail`` sets up its SQLite file (a funded sender and its token through the
service layer; the recipients written in bulk, here with COPY), then ``inmail serve
--workers 2``. Ours: ``POST /v1/inmails``, each to a new recipient (201), from 8
senders in turn (``SENDERS``; ``http_send_inmail`` has one). Baseline:
``GET /healthz`` on the same processes with the same header. Rounds alternate the two.
The server's CPU is that of its supervisor and both workers (their process group).
"""

from __future__ import annotations

import json
import math
import tempfile
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import postgres
from benchmarks.fixtures import CREDITS, open_deps, prepare
from benchmarks.graph import Graph, load_postgres
from benchmarks.http_send_inmail import (
    ADMIN_TOKEN,
    BASELINE_PATH,
    OURS_PATH,
    inmail_to,
)
from benchmarks.profiles import random_profiles
from benchmarks.report import Comparison, log, skipped
from benchmarks.served import WARMUP_SECONDS, Request, Server, alternate, serving
from inmail.domain.credits import new_id
from inmail.services.auth import issue_token
from inmail.store.db import make_engine

NAME = "http_send_inmail_pg_multi"
TARGET = 0.3
WORKERS = 2
CONNECTIONS = 8
# Each send locks its sender's account row until it commits: with one sender, sends queue
# on that lock and a second process adds nothing. Request k comes from sender k mod 8.
SENDERS = CONNECTIONS
# More InMails a second than two server processes answer here.
MAX_SENDS_PER_S = 2_000


def run(seconds: float) -> dict[str, Any]:
    problem = postgres.server_unavailable()
    if problem is not None:
        return skipped(NAME, problem)
    with (
        tempfile.TemporaryDirectory(prefix="inmail-bench-http-pg-") as tmp,
        postgres.throwaway_database("inmail_bench_http") as database,
    ):
        url = postgres.sqlalchemy_url(database)
        log(f"{NAME}: preparing {database.database}")
        now = datetime.now(UTC)  # the server runs on the system clock: nothing falls due
        tokens = funded_senders(url, SENDERS, now)
        recipients = plain_recipients(
            url, math.ceil(MAX_SENDS_PER_S * (WARMUP_SECONDS + seconds + 1)), now
        )
        pool = Path(tmp) / "inmails.jsonl"
        pool.write_text("".join(json.dumps(inmail_to(r)) + "\n" for r in recipients))
        log(f"{NAME}: starting inmail serve --workers {WORKERS}; {CONNECTIONS} connections")
        with serving(url, Path(tmp), ADMIN_TOKEN, None, workers=WORKERS) as server:
            return _compare(server, tokens, pool, seconds) | {"recipients": len(recipients)}


def funded_senders(url: str, senders: int, now: datetime) -> tuple[str, ...]:
    """Migrate and seed; ``senders`` funded senders; their tokens."""
    members = prepare(url, senders, now=now)
    deps = open_deps(url)
    try:
        return tuple(issue_token(deps, member_id=m, now=now) for m in members)
    finally:
        deps.db.dispose()


def plain_recipients(url: str, members: int, now: datetime) -> list[str]:
    """``members`` members on the free plan, COPYed into the migrated database at ``url``."""
    ids = [new_id("m") for _ in range(members)]
    engine = make_engine(url)
    try:
        load_postgres(engine, Graph(ids, array("I"), array("I"), random_profiles(members, 1)), now)
    finally:
        engine.dispose()
    return ids


def _compare(server: Server, tokens: tuple[str, ...], pool: Path, seconds: float) -> dict[str, Any]:
    send = Request(OURS_PATH, tokens[0], method="POST", pool=pool, expect=201, rotate_tokens=tokens)
    healthz = Request(BASELINE_PATH, tokens[0])  # a header of the same size
    result = Comparison(NAME, "postgresql", TARGET)
    cpu = alternate(server, (send, healthz), CONNECTIONS, seconds, result)
    return result.line(
        seconds=seconds,
        ours_path=f"POST {OURS_PATH}",
        baseline_path=f"GET {BASELINE_PATH}",
        connections=CONNECTIONS,
        server=f"inmail serve --workers {WORKERS} (PostgreSQL, direct)",
        load_generator="python -m benchmarks.loadgen (asyncio, one process)",
        ours_server_cpu_ms_per_op=cpu.ours.ms_per_op,
        baseline_server_cpu_ms_per_op=cpu.baseline.ms_per_op,
        senders=SENDERS,
        sender_credits=CREDITS,
    )
