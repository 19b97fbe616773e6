"""http_send_inmail: POST /v1/inmails against GET /healthz on one running ``inmail serve``.

One ``inmail serve`` (one worker, SQLite file, system clock) and a sender on
``recruiter_corporate`` with plenty of credits. There is no HTTP endpoint for
credit adjustments, so the database is set up as an operator would, through
the service layer, before the server starts on that file. Ours sends the same
InMail body to the same recipient over and over: each request is a new
InMail (a spend, a thread, a message, a notification; answered 201). The
baseline is ``/healthz`` on the same server with the same headers, which pays
for the HTTP parsing, routing, thread pool and access log but reads no
database. The rounds alternate the two (see ``http_credits``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.fixtures import CREDITS, open_deps, plain_members, prepare
from benchmarks.report import Comparison, log
from benchmarks.served import Request, Server, Sides, load, serving
from inmail.services.auth import issue_token

NAME = "http_send_inmail"
TARGET = 0.3
CONNECTIONS = 8
MIN_ROUNDS = 3
ROUND_SECONDS = 1.0
WARMUP_SECONDS = 0.5
ADMIN_TOKEN = "bench-operator"
OURS_PATH = "/v1/inmails"
BASELINE_PATH = "/healthz"
SUBJECT = "A role you might like"
BODY = "Hello! We are hiring for a role that matches your profile. Are you open to a chat?"


def run(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-http-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'served.db'}"
        log(f"{NAME}: preparing {url}")
        # The server runs on the system clock: set up at the same moment, so nothing falls due.
        token, recipient = sender_and_recipient(url, datetime.now(UTC))
        log(f"{NAME}: starting inmail serve; {CONNECTIONS} connections")
        with serving(url, Path(tmp), ADMIN_TOKEN, None) as server:
            return _compare(server, token, recipient, seconds)


def sender_and_recipient(url: str, now: datetime) -> tuple[str, str]:
    """Migrate and seed; a funded sender and a member to write to; (sender's token, recipient)."""
    (sender,) = prepare(url, 1, now=now)
    (recipient,) = plain_members(url, 1, prefix="to", now=now)
    deps = open_deps(url)
    try:
        return issue_token(deps, member_id=sender, now=now), recipient
    finally:
        deps.db.dispose()


def _compare(server: Server, token: str, recipient: str, seconds: float) -> dict[str, Any]:
    inmail = {"to": recipient, "subject": SUBJECT, "body": BODY}
    send = Request(OURS_PATH, token, method="POST", body=inmail, expect=201)
    healthz = Request(BASELINE_PATH, token)
    # Warm up: the server's plan cache, statement caches and thread pool; the SQLite WAL.
    load(server, send, CONNECTIONS, WARMUP_SECONDS)
    load(server, healthz, CONNECTIONS, WARMUP_SECONDS)
    rounds = max(MIN_ROUNDS, round(seconds / ROUND_SECONDS))
    result = Comparison(NAME, "sqlite", TARGET)
    cpu = Sides()
    for _ in range(rounds):
        ours, ours_cpu = load(server, send, CONNECTIONS, seconds / rounds)
        base, base_cpu = load(server, healthz, CONNECTIONS, seconds / rounds)
        cpu.ours.add(ours_cpu, ours.ops)
        cpu.baseline.add(base_cpu, base.ops)
        result.add_round(ours, base)
    return result.line(
        seconds=seconds,
        ours_path=f"POST {OURS_PATH}",
        baseline_path=f"GET {BASELINE_PATH}",
        connections=CONNECTIONS,
        server="inmail serve --workers 1",
        load_generator="python -m benchmarks.loadgen (asyncio, one process)",
        ours_server_cpu_ms_per_op=cpu.ours.ms_per_op,
        baseline_server_cpu_ms_per_op=cpu.baseline.ms_per_op,
        sender_credits=CREDITS,
    )
