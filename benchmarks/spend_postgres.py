"""spend_postgres: concurrent ``spend_credits`` on PostgreSQL against pgbench's TPC-B-like script.

Ours: ``WORKERS`` processes (no shared GIL), each with its own engine and its
own account, spend one credit per transaction until the deadline. Baseline:
``pgbench -b tpcb-like`` with as many clients, on the same server. The sides
run one after the other, alternating over the rounds, each in its own
throwaway database.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing as mp
import threading
from collections.abc import Callable
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from benchmarks import postgres
from benchmarks.fixtures import NOW, open_deps, prepare
from benchmarks.report import Comparison, log, skipped
from benchmarks.timing import Sample, combine, run_for
from inmail.services.context import Deps
from inmail.services.credits import spend_credits

NAME = "spend_postgres"
TARGET = 0.75  # issue 13 (0.6 before it)
ROUNDS = 2
WORKERS = 8
PGBENCH_THREADS = 2
PGBENCH_SCALE = 8
START_TIMEOUT_S = 120.0


def run(seconds: float) -> dict[str, Any]:
    problem = postgres.unavailable()
    if problem is not None:
        return skipped(NAME, problem)
    per_round = max(1, math.ceil(seconds / ROUNDS))  # pgbench -T takes whole seconds
    with (
        postgres.throwaway_database("inmail_bench") as ours_url,
        postgres.throwaway_database("pgbench") as bench_url,
    ):
        url = postgres.sqlalchemy_url(ours_url)
        log(f"{NAME}: preparing {WORKERS} accounts in {ours_url.database}")
        members = prepare(url, WORKERS)
        log(f"{NAME}: pgbench -i -s {PGBENCH_SCALE} {bench_url.database}")
        pgbench = postgres.Pgbench(bench_url)
        pgbench.initialise(PGBENCH_SCALE)
        result = Comparison(NAME, "postgresql", TARGET)
        server = ServerCpu()
        for number in range(ROUNDS):
            spend = partial(run_workers, url, members, per_round, f"r{number}")
            ours = server.during("ours", spend)
            base = server.during(
                "baseline", partial(pgbench.tpcb_like, WORKERS, PGBENCH_THREADS, per_round)
            )
            result.add_round(ours, base)
    line = result.line(
        seconds=per_round * ROUNDS,
        workers=WORKERS,
        baseline="pgbench -b tpcb-like -c 8 -j 2",
        pgbench_scale=PGBENCH_SCALE,
    )
    return line | server.fields(line)


class ServerCpu:
    """The PostgreSQL server's CPU per operation of each side (postgres.server_cpu_seconds),
    and what the whole machine spends per operation, client and server together."""

    def __init__(self) -> None:
        self.seconds: dict[str, float | None] = {"ours": 0.0, "baseline": 0.0}
        self.ops: dict[str, int] = {"ours": 0, "baseline": 0}

    def during(self, side: str, run: Callable[[], Sample]) -> Sample:
        before = postgres.server_cpu_seconds()
        sample = run()
        after = postgres.server_cpu_seconds()
        spent = self.seconds[side]
        self.seconds[side] = (
            None if spent is None or before is None or after is None else spent + after - before
        )
        self.ops[side] += sample.ops
        return sample

    def fields(self, line: dict[str, Any]) -> dict[str, Any]:
        """``*_postgres_cpu_ms_per_op``, ``*_total_cpu_ms_per_op`` (with the client's) and
        ``cpu_ratio``: the baseline's total over ours, the ratio a machine whose cores are
        all busy would give (on 2 cores both sides are CPU-bound)."""
        out: dict[str, Any] = {}
        totals: dict[str, float] = {}
        for side in ("ours", "baseline"):
            spent, ops = self.seconds[side], self.ops[side]
            server = None if spent is None or not ops else 1000 * spent / ops
            client = line.get(f"{side}_client_cpu_ms_per_op")
            out[f"{side}_postgres_cpu_ms_per_op"] = None if server is None else round(server, 3)
            if server is not None and isinstance(client, int | float):
                totals[side] = server + client
                out[f"{side}_total_cpu_ms_per_op"] = round(totals[side], 3)
        if len(totals) == 2 and totals["ours"]:
            out["cpu_ratio"] = round(totals["baseline"] / totals["ours"], 3)
        return out


def run_workers(url: str, members: list[str], seconds: float, tag: str) -> Sample:
    """Spend on every member at once, one process each, for ``seconds`` after all are ready."""
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(len(members) + 1)
    results: Queue[Sample | str] = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(url, member, f"{tag}-w{i}", seconds, ready, results))
        for i, member in enumerate(members)
    ]
    for proc in procs:
        proc.start()
    try:
        _start(ready)
        outcomes = [results.get(timeout=seconds + START_TIMEOUT_S) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
    failures = [o for o in outcomes if isinstance(o, str)]
    if failures:
        raise RuntimeError(f"{len(failures)} spend worker(s) failed, first: {failures[0]}")
    return combine([o for o in outcomes if isinstance(o, Sample)])


def _start(ready: Barrier) -> None:
    """Wait until every worker is connected and warm: that is when their clocks start."""
    try:
        ready.wait(START_TIMEOUT_S)
    except threading.BrokenBarrierError:
        raise RuntimeError("a spend worker failed while starting (traceback above)") from None


def worker(
    url: str,
    member_id: str,
    prefix: str,
    seconds: float,
    ready: Barrier,
    results: Queue[Sample | str],
) -> None:
    """One process: warm up, wait for the others, then spend on one account until the deadline.

    Puts one Sample, or the error that stopped it, on ``results``.
    """
    try:
        deps = open_deps(url, pool_size=1)
        spend = _spender(deps, member_id, prefix)
        spend()
    except BaseException:
        ready.abort()  # the parent stops waiting for a start that will not come
        raise
    ready.wait(START_TIMEOUT_S)
    try:
        results.put(run_for(seconds, spend))
    except Exception as exc:
        results.put(f"{exc.__class__.__name__}: {exc}")
        raise
    finally:
        deps.db.dispose()


def _spender(deps: Deps, member_id: str, prefix: str) -> Callable[[], object]:
    seq = itertools.count()

    def spend() -> object:
        reference = f"{prefix}-{next(seq)}"
        return spend_credits(deps, member_id=member_id, cost=1, reference=reference, now=NOW)

    return spend
