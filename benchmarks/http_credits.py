"""http_credits_read: GET /v1/me/credits against GET /healthz on one running ``inmail serve``.

One ``inmail serve`` (one worker, SQLite file, system clock) and one member with
a token and some history: purchases, a renewal, more purchases. Ours is the
member's credits read; the baseline is ``/healthz`` on the same server, which
pays for the same HTTP parsing, routing, thread pool and access log but reads
no database. The ratio is therefore what a credits read costs on top of a
trivial request.

The load comes from another process (``benchmarks.loadgen``): ``CONNECTIONS``
keep-alive connections, each with one request in flight. The rounds alternate
the two paths so that noise on a shared machine falls on both.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.report import Comparison, log
from benchmarks.served import Request, Server, alternate, serving

NAME = "http_credits_read"
TARGET = 0.5
CONNECTIONS = 8
ADMIN_TOKEN = "bench-operator"
TEST_CLOCK = "2026-01-31T09:00:00Z"
OURS_PATH = "/v1/me/credits"
BASELINE_PATH = "/healthz"


def run(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-http-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'served.db'}"
        log(f"{NAME}: starting inmail serve on {url}")
        with serving(url, Path(tmp), ADMIN_TOKEN, TEST_CLOCK) as server:
            token, lots = member_with_history(server)
        # Measure as production runs: on the system clock (the test clock is a row to read).
        with serving(url, Path(tmp), ADMIN_TOKEN, None) as server:
            server.ok("GET", OURS_PATH, token)  # catches up the months since the test clock
            log(f"{NAME}: member ready with {lots} lots; {CONNECTIONS} connections")
            return _compare(server, token, seconds) | {"member_lots": lots}


def member_with_history(server: Server) -> tuple[str, int]:
    """A member on a paid plan with purchases before and after a renewal; (token, lot count)."""
    member = server.ok(
        "POST",
        "/v1/admin/members",
        ADMIN_TOKEN,
        {"handle": "bench", "name": "Bench", "plan": "premium_business"},
    )
    token: str = server.ok("POST", f"/v1/admin/members/{member['id']}/tokens", ADMIN_TOKEN)["token"]
    for pack in ("pack_5", "pack_10", "pack_25"):
        server.ok("POST", "/v1/me/purchases", token, {"pack": pack})
    server.ok("POST", "/v1/admin/clock", ADMIN_TOKEN, {"advance_days": 40})
    server.ok("GET", OURS_PATH, token)  # applies the renewal that fell due
    server.ok("POST", "/v1/me/purchases", token, {"pack": "pack_1"})
    credits = server.ok("GET", OURS_PATH, token)
    return token, len(credits["lots"])


def _compare(server: Server, token: str, seconds: float) -> dict[str, Any]:
    # The same Authorization header on both sides, so both requests are the same size.
    mine, healthz = Request(OURS_PATH, token), Request(BASELINE_PATH, token)
    result = Comparison(NAME, "sqlite", TARGET)
    cpu = alternate(server, (mine, healthz), CONNECTIONS, seconds, result)
    return result.line(
        seconds=seconds,
        ours_path=OURS_PATH,
        baseline_path=BASELINE_PATH,
        connections=CONNECTIONS,
        server="inmail serve --workers 1",
        load_generator="python -m benchmarks.loadgen (asyncio, one process)",
        ours_server_cpu_ms_per_op=cpu.ours.ms_per_op,
        baseline_server_cpu_ms_per_op=cpu.baseline.ms_per_op,
    )
