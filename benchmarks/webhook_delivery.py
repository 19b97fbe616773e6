"""webhook_delivery: events/s the worker's step delivers to a local receiver, against the
receiver's raw rate.

Ours: each round writes ``EVENTS`` outbox events of ``MEMBERS`` members (untimed), then
times ``services.webhooks.deliver_due`` until every one is delivered to an endpoint at the
receiver: dispatch into deliveries, claims in batches of 50 (one per member at a time: the
order rule), a signed POST each (standardwebhooks), the results recorded. The baseline POSTs
the same number of event-sized JSON bodies to the same receiver in a plain ``httpx2`` loop on
one keep-alive connection, unsigned, recording nothing. The receiver is a separate process
on 127.0.0.1 (benchmarks/webhook_receiver.py) that answers 204. Rounds alternate the sides.
One line per engine: SQLite (a file, WAL, ``synchronous=FULL``) and PostgreSQL (skipped
when none answers).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2

from benchmarks.fixtures import NOW, open_deps
from benchmarks.postgres import server_unavailable, sqlalchemy_url, throwaway_database
from benchmarks.report import Comparison, log, skipped
from benchmarks.served import free_port
from benchmarks.timing import Sample
from inmail.domain.events import Event, envelope
from inmail.domain.webhooks import DeliveryPolicy, RetryPolicy
from inmail.services import webhooks
from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps
from inmail.store import outbox, schema

NAME = "webhook_delivery"
TARGET = 0.5
EVENTS = 300
MEMBERS = 60
MIN_ROUNDS = 5
POLICY = DeliveryPolicy(RetryPolicy(3), 5.0, 10.0, batch=50, lease=timedelta(minutes=2))
START_TIMEOUT_S = 10.0
ROUND_TIMEOUT_S = 120.0


def run(seconds: float) -> Iterator[dict[str, Any]]:
    with _receiver() as url, tempfile.TemporaryDirectory(prefix="inmail-bench-") as tmp:
        yield _measure("sqlite", f"sqlite:///{Path(tmp) / 'webhooks.db'}", url, seconds)
        problem = server_unavailable()
        if problem is not None:
            yield skipped(NAME, problem) | {"engine": "postgres"}
            return
        with throwaway_database("inmail_bench") as pg:
            yield _measure("postgres", sqlalchemy_url(pg), url, seconds)


def _measure(engine: str, db_url: str, receiver_url: str, seconds: float) -> dict[str, Any]:
    deps = open_deps(db_url)
    try:
        schema.upgrade(deps.db.engine)
        seed_catalog(deps, now=NOW)
        webhooks.create_endpoint(deps, url=receiver_url, events=["*"], secret=None, now=NOW)
        result = Comparison(NAME, engine, TARGET)
        with httpx2.Client(timeout=10.0, trust_env=False) as client:
            ours, base = _ours(deps), _baseline(client, receiver_url)
            ours()  # warm both up: connections, caches, the first dispatch
            base()
            while len(result.round_ratios) < MIN_ROUNDS or result.ours.seconds < seconds:
                mine, theirs = ours(), base()
                result.add_round(mine, theirs)
        return result.line(events_per_round=EVENTS, members=MEMBERS, batch=POLICY.batch)
    finally:
        deps.db.dispose()


def _ours(deps: Deps) -> Callable[[], Sample]:
    rounds = iter(range(1_000_000))

    def one_round() -> Sample:
        n = next(rounds)
        events = [
            Event("bench.happened", f"m_{i % MEMBERS}", NOW, {"round": n, "i": i})
            for i in range(EVENTS)
        ]
        with deps.db.write() as conn:
            outbox.append(conn, events)
        cpu, start = time.process_time(), time.perf_counter()
        delivered = 0
        while delivered < EVENTS:
            report = webhooks.deliver_due(deps, clock=lambda: NOW, policy=POLICY)
            delivered += report.delivered
            if report.retrying or report.dead:
                raise RuntimeError(f"a delivery failed: {report}")
            if time.perf_counter() - start > ROUND_TIMEOUT_S:
                raise RuntimeError(f"only {delivered} of {EVENTS} delivered")
        return Sample(EVENTS, time.perf_counter() - start, time.process_time() - cpu)

    return one_round


def _baseline(client: httpx2.Client, url: str) -> Callable[[], Sample]:
    def one_round() -> Sample:
        bodies = [
            json.dumps(
                envelope(f"evt_{i:032x}", "bench.happened", f"m_{i % MEMBERS}", NOW, {"i": i}),
                separators=(",", ":"),
            )
            for i in range(EVENTS)
        ]
        headers = {"content-type": "application/json"}
        cpu, start = time.process_time(), time.perf_counter()
        for body in bodies:
            client.post(url, content=body, headers=headers).raise_for_status()
        return Sample(EVENTS, time.perf_counter() - start, time.process_time() - cpu)

    return one_round


@contextmanager
def _receiver() -> Iterator[str]:
    """The receiver process on a free port of 127.0.0.1; its URL until the block ends."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.webhook_receiver", "--port", str(port)],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the webhook receiver did not start") from None
                time.sleep(0.05)
        log(f"{NAME}: receiver on 127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
