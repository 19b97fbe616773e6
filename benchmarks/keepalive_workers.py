"""keepalive_workers: a keep-alive request's median time with ``--workers 2`` ÷ with one worker.

Two ``inmail serve`` processes on the same SQLite file, one with ``--workers 2`` and one
without, each asked ``GET /healthz`` over one keep-alive connection (``http.client``, one
request at a time), in alternating rounds. With Nagle's algorithm left on for a worker's
connections every request after the first waited for the client's delayed ACK, about 40 ms,
against under a millisecond with one worker (issue 13; the cause is tested in
tests/integration/test_keepalive_nodelay.py). Lower is better: the target is a ratio of at
most 1.5.
"""

from __future__ import annotations

import http.client
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.report import log
from benchmarks.served import HOST, Server, serving

NAME = "keepalive_workers"
TARGET = 1.5  # at most
ADMIN_TOKEN = "bench-operator"
WARMUP = 50
ROUNDS = 6


def run(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-keepalive-") as tmp, ExitStack() as stack:
        url = f"sqlite:///{Path(tmp) / 'served.db'}"
        for side in ("one", "two"):
            (Path(tmp) / side).mkdir()
        one = stack.enter_context(serving(url, Path(tmp) / "one", ADMIN_TOKEN, None, workers=1))
        two = stack.enter_context(serving(url, Path(tmp) / "two", ADMIN_TOKEN, None, workers=2))
        per_round = max(20, round(seconds * 100 / ROUNDS))
        times: dict[int, list[float]] = {1: [], 2: []}
        for server, workers in ((one, 1), (two, 2)):
            _keepalive(server, WARMUP)
            log(f"{NAME}: {workers} worker(s) warm")
        for _ in range(ROUNDS):
            times[1] += _keepalive(one, per_round)
            times[2] += _keepalive(two, per_round)
        medians = {w: statistics.median(t) * 1000 for w, t in times.items()}
        ratio = medians[2] / medians[1]
        return {
            "name": NAME,
            "ratio": round(ratio, 3),
            "target": TARGET,
            "meets_target": ratio <= TARGET,
            "lower_is_better": True,
            "ours_median_ms": round(medians[2], 3),
            "baseline_median_ms": round(medians[1], 3),
            "ours": "GET /healthz, one keep-alive connection, inmail serve --workers 2",
            "baseline": "the same on inmail serve (one worker), alternating rounds",
            "requests_per_side": len(times[1]),
        }


def _keepalive(server: Server, requests: int) -> list[float]:
    """Each request's time on one keep-alive connection, in seconds."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    took = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
            took.append(time.perf_counter() - started)
            if answer.status != 200 or answer.will_close:
                raise RuntimeError(
                    f"/healthz answered {answer.status}, closing: {answer.will_close}"
                )
    finally:
        connection.close()
    return took
