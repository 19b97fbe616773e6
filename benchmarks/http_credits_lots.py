"""http_credits_many_lots: GET /v1/me/credits of a member with 400 lots against one with 1.

One ``inmail serve`` (one worker, SQLite file, system clock), two members on
the same plan: one holds only this cycle's plan lot, the other that and 399
packs bought one by one. Both sides are the same request on the same server,
so the ratio is what the number of lots costs a credits read: the overview
lists the plan lots and the first 20 others (issue 13), the rest is paged at
``/v1/me/credits/lots``.

The load comes from another process (``benchmarks.loadgen``): ``CONNECTIONS``
keep-alive connections; the rounds alternate the two sides.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.report import Comparison, log
from benchmarks.served import Request, Server, alternate, serving

NAME = "http_credits_many_lots"
TARGET = 0.8
CONNECTIONS = 8
ADMIN_TOKEN = "bench-operator"
TEST_CLOCK = "2026-01-31T09:00:00Z"
PATH = "/v1/me/credits"
LOTS = 400


def run(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-lots-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'served.db'}"
        log(f"{NAME}: starting inmail serve on {url}")
        with serving(url, Path(tmp), ADMIN_TOKEN, TEST_CLOCK) as server:
            few = _member(server, "few", packs=0)
            many = _member(server, "many", packs=LOTS - 1)
        with serving(url, Path(tmp), ADMIN_TOKEN, None) as server:
            lots = [server.ok("GET", PATH, token)["lots_total"] for token in (few, many)]
            log(f"{NAME}: members ready with {lots[0]} and {lots[1]} lots")
            return _compare(server, many, few, seconds) | {
                "ours_lots": lots[1],
                "baseline_lots": lots[0],
            }


def _member(server: Server, handle: str, packs: int) -> str:
    member = server.ok(
        "POST",
        "/v1/admin/members",
        ADMIN_TOKEN,
        {"handle": handle, "name": handle.title(), "plan": "premium_business"},
    )
    token: str = server.ok("POST", f"/v1/admin/members/{member['id']}/tokens", ADMIN_TOKEN)["token"]
    for _ in range(packs):
        server.ok("POST", "/v1/me/purchases", token, {"pack": "pack_1"})
    return token


def _compare(server: Server, many: str, few: str, seconds: float) -> dict[str, Any]:
    mine, baseline = Request(PATH, many), Request(PATH, few)
    result = Comparison(NAME, "sqlite", TARGET)
    cpu = alternate(server, (mine, baseline), CONNECTIONS, seconds, result)
    return result.line(
        seconds=seconds,
        ours_path=f"{PATH} ({LOTS} lots)",
        baseline_path=f"{PATH} (1 lot)",
        connections=CONNECTIONS,
        server="inmail serve --workers 1",
        load_generator="python -m benchmarks.loadgen (asyncio, one process)",
        ours_server_cpu_ms_per_op=cpu.ours.ms_per_op,
        baseline_server_cpu_ms_per_op=cpu.baseline.ms_per_op,
    )
