"""http_send_inmail: POST /v1/inmails against GET /healthz on one running ``inmail serve``.

One ``inmail serve`` (one worker, SQLite file, system clock) and a sender on
``recruiter_corporate`` with plenty of credits. There is no HTTP endpoint for
credit adjustments, so the database is set up as an operator would, through
the service layer, before the server starts on that file. Ours sends the same
InMail to a new recipient each time: each request is a new InMail (a spend, a
thread, a message, a notification; answered 201). No recipient gets two: a
second InMail to someone who has not answered the first is refused (SPEC §4).
The recipients are written in bulk beforehand, as many as
:data:`MAX_SENDS_PER_S` could use, and the load generator takes the bodies
from that pool (``--bodies``), each once; running out fails the run. The
baseline is ``/healthz`` on the same server with the same headers, which pays
for the HTTP parsing, routing, thread pool and access log but reads no
database. The rounds alternate the two (see ``http_credits``).
"""

from __future__ import annotations

import json
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.fixtures import CREDITS, many_plain_members, open_deps, prepare
from benchmarks.report import Comparison, log
from benchmarks.served import WARMUP_SECONDS, Request, Server, alternate, serving
from inmail.services.auth import issue_token

NAME = "http_send_inmail"
NAME_C32 = "http_send_inmail_c32"
TARGET = 0.3
CONNECTIONS = 8
CONNECTIONS_C32 = 32
P99_TARGET_MS_C32 = 100.0
ADMIN_TOKEN = "bench-operator"
OURS_PATH = "/v1/inmails"
BASELINE_PATH = "/healthz"
SUBJECT = "A role you might like"
BODY = "Hello! We are hiring for a role that matches your profile. Are you open to a chat?"
# More InMails a second than one server process answers here (about 120; /healthz about 700).
MAX_SENDS_PER_S = 2_000


def run(seconds: float) -> dict[str, Any]:
    return _run(NAME, CONNECTIONS, seconds)


def run_c32(seconds: float) -> dict[str, Any]:
    """http_send_inmail_c32: the same at 32 connections, with the sends' p50/p99/max latency
    (issue 13: SQLite writers queue in the process, so none sleeps in the busy handler)."""
    return _run(NAME_C32, CONNECTIONS_C32, seconds)


def _run(name: str, connections: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-http-") as tmp:
        path = Path(tmp) / "served.db"
        url = f"sqlite:///{path}"
        log(f"{name}: preparing {url}")
        # The server runs on the system clock: set up at the same moment, so nothing falls due.
        now = datetime.now(UTC)
        token = funded_sender(url, now)
        pool = Path(tmp) / "inmails.jsonl"
        recipients = many_plain_members(path, recipients_needed(seconds), now=now)
        pool.write_text("".join(json.dumps(inmail_to(r)) + "\n" for r in recipients))
        log(f"{name}: starting inmail serve; {connections} connections")
        with serving(url, Path(tmp), ADMIN_TOKEN, None) as server:
            line = _compare(name, server, token, pool, seconds, connections)
            return line | {"recipients": len(recipients)}


def funded_sender(url: str, now: datetime) -> str:
    """Migrate and seed; a funded sender; its token."""
    (sender,) = prepare(url, 1, now=now)
    deps = open_deps(url)
    try:
        return issue_token(deps, member_id=sender, now=now)
    finally:
        deps.db.dispose()


def inmail_to(recipient: str) -> dict[str, str]:
    return {"to": recipient, "subject": SUBJECT, "body": BODY}


def recipients_needed(seconds: float) -> int:
    """Every send of a run at up to MAX_SENDS_PER_S: warm-up, rounds, and one more second."""
    return math.ceil(MAX_SENDS_PER_S * (WARMUP_SECONDS + seconds + 1))


def _compare(
    name: str, server: Server, token: str, pool: Path, seconds: float, connections: int
) -> dict[str, Any]:
    send = Request(OURS_PATH, token, method="POST", pool=pool, expect=201)
    healthz = Request(BASELINE_PATH, token)
    result = Comparison(name, "sqlite", TARGET)
    latencies: list[int] = []
    cpu = alternate(server, (send, healthz), connections, seconds, result, latencies)
    return result.line(
        seconds=seconds,
        ours_path=f"POST {OURS_PATH}",
        baseline_path=f"GET {BASELINE_PATH}",
        connections=connections,
        **latency_ms(sorted(latencies), P99_TARGET_MS_C32 if name == NAME_C32 else None),
        server="inmail serve --workers 1",
        load_generator="python -m benchmarks.loadgen (asyncio, one process)",
        ours_server_cpu_ms_per_op=cpu.ours.ms_per_op,
        baseline_server_cpu_ms_per_op=cpu.baseline.ms_per_op,
        sender_credits=CREDITS,
    )


def latency_ms(sorted_us: list[int], p99_target_ms: float | None) -> dict[str, Any]:
    """p50, p99 and max of the sends' latencies (nearest rank), in milliseconds, and whether
    the p99 meets ``p99_target_ms`` (when there is one)."""
    target: dict[str, Any] = {}
    if p99_target_ms is not None:
        target = {"p99_target_ms": p99_target_ms}
    if not sorted_us:
        return {"ours_p50_ms": None, "ours_p99_ms": None, "ours_max_ms": None} | target

    def rank(q: float) -> float:
        return round(
            sorted_us[min(len(sorted_us) - 1, math.ceil(q * len(sorted_us)) - 1)] / 1000, 2
        )

    found = {"ours_p50_ms": rank(0.50), "ours_p99_ms": rank(0.99), "ours_max_ms": rank(1.0)}
    if p99_target_ms is not None:
        target["meets_p99_target"] = found["ours_p99_ms"] < p99_target_ms
    return found | target
