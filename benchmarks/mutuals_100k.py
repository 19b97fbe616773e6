"""mutuals_100k: mutual connections and the cost preview on a graph of 100,000 members.

The graph (``benchmarks.graph``): 100,000 members on the free plan with about
50 connections each, 2.5 million pairs, seeded. It is written in bulk to a
SQLite file and to a throwaway PostgreSQL database (dropped afterwards), and
on each engine, one request at a time, we time:

- ``mutual_connections(viewer, other)`` through the service layer (what
  ``GET /v1/members/{id}/mutual-connections`` runs, besides member lookups);
- ``quote(member_id, to)`` through the service layer (``GET /v1/me/quote``),
  which gathers every free route, mutual connections included.

Half the pairs are drawn uniformly (two random members share a connection
with odds of about 2.5 %), half are two connections of one random member (they
share at least that one), so both the empty and the non-empty answer are
timed. This benchmark has no baseline: its target is a latency, so it prints
one line per engine with percentiles instead of a ratio.
"""

from __future__ import annotations

import math
import random
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import event

from benchmarks import postgres
from benchmarks.fixtures import NOW, open_deps
from benchmarks.graph import Graph, load_postgres, load_sqlite, random_graph
from benchmarks.report import log, skipped
from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps
from inmail.services.introductions import mutual_connections
from inmail.services.quote import quote
from inmail.store import schema

NAME = "mutuals_100k"
MEMBERS = 100_000
DEGREE = 50
SEED = 20260115
PAIRS = 5_000
TARGET_P99_MS = 20.0
MIN_SAMPLES = 300
WARMUP_CALLS = 100

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Latencies:
    """Wall milliseconds of one operation, one call after another, and our CPU meanwhile."""

    ms: list[float]
    cpu_seconds: float

    @property
    def cpu_ms_per_op(self) -> float:
        return round(1000 * self.cpu_seconds / len(self.ms), 3)

    def percentile(self, p: float) -> float:
        """Nearest rank: the smallest latency that ``p`` % of the calls did not exceed."""
        ordered = sorted(self.ms)
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 3)


def run(seconds: float) -> Iterator[dict[str, Any]]:
    """One line for SQLite, then one for PostgreSQL (or why it was skipped)."""
    started = time.perf_counter()
    graph = random_graph(MEMBERS, DEGREE, SEED)
    pairs = sample_pairs(graph, PAIRS, random.Random(SEED + 1))
    generated = time.perf_counter() - started
    log(f"{NAME}: {MEMBERS} members, {graph.pairs} connections generated in {generated:.1f} s")
    common = {"generate_seconds": round(generated, 1)}
    yield _guarded("sqlite", lambda: on_sqlite(graph, pairs, seconds) | common)
    problem = postgres.server_unavailable()
    if problem is not None:
        yield skipped(NAME, problem) | {"engine": "postgres"}
        return
    yield _guarded("postgres", lambda: on_postgres(graph, pairs, seconds) | common)


def _guarded(engine: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The engine's line; a failure becomes an error line, and the other engine still runs."""
    try:
        return measure()
    except Exception as exc:
        traceback.print_exc()
        return {"name": NAME, "engine": engine, "error": f"{exc.__class__.__name__}: {exc}"}


def sample_pairs(graph: Graph, count: int, rng: random.Random) -> list[Pair]:
    """Half uniform pairs, half pairs of two connections of one member (who is a mutual)."""
    near = graph.adjacency()
    ids, pairs = graph.ids, list[Pair]()
    while len(pairs) < count:
        if len(pairs) % 2:
            x, y = rng.sample(near[rng.randrange(len(ids))], 2)
        else:
            x, y = rng.sample(range(len(ids)), 2)
        pairs.append((ids[x], ids[y]))
    return pairs


def on_sqlite(graph: Graph, pairs: list[Pair], seconds: float) -> dict[str, Any]:
    with built_sqlite(graph) as (url, built):
        return _measure("sqlite", url, pairs, seconds, built)


def on_postgres(graph: Graph, pairs: list[Pair], seconds: float) -> dict[str, Any]:
    with built_postgres(graph) as (url, built):
        return _measure("postgres", url, pairs, seconds, built)


@contextmanager
def built_sqlite(graph: Graph, name: str = NAME) -> Iterator[tuple[str, float]]:
    """The graph in a migrated SQLite file: (its URL, seconds the build took)."""
    with TemporaryDirectory(prefix="inmail-bench-graph-") as tmp:
        path = str(Path(tmp) / "graph.db")
        url = f"sqlite:///{path}"
        log(f"{name}: loading {url}")
        started = time.perf_counter()
        _migrate(url)
        load_sqlite(path, graph, NOW)
        yield url, time.perf_counter() - started


@contextmanager
def built_postgres(graph: Graph, name: str = NAME) -> Iterator[tuple[str, float]]:
    """The graph in a migrated throwaway PostgreSQL database, dropped afterwards."""
    with postgres.throwaway_database("inmail_graph") as pg_url:
        url = postgres.sqlalchemy_url(pg_url)
        log(f"{name}: loading {pg_url.database}")
        started = time.perf_counter()
        _migrate(url)
        deps = open_deps(url, pool_size=1)
        try:
            load_postgres(deps.db.engine, graph, NOW)
        finally:
            deps.db.dispose()
        yield url, time.perf_counter() - started


def _migrate(url: str) -> None:
    deps = open_deps(url)
    try:
        schema.upgrade(deps.db.engine)
        seed_catalog(deps, now=NOW)
    finally:
        deps.db.dispose()


def _measure(
    engine: str, url: str, pairs: list[Pair], seconds: float, built: float
) -> dict[str, Any]:
    log(f"{NAME}: {engine} built in {built:.1f} s; timing ({seconds:g} s per operation)")
    deps = open_deps(url, pool_size=1)

    def mutuals_of(x: str, y: str) -> list[str]:
        return mutual_connections(deps, viewer=x, other=y)

    def quote_for(x: str, y: str) -> object:
        return quote(deps, member_id=x, to=y, now=NOW)

    try:
        found = [len(mutuals_of(x, y)) for x, y in pairs[:200]]
        mutuals = timed(mutuals_of, pairs, seconds)
        quotes = timed(quote_for, pairs, seconds)
        counted = {
            "statements_per_op": statements(deps, mutuals_of, pairs[1]),
            "quote_statements_per_op": statements(deps, quote_for, pairs[1]),
        }
    finally:
        deps.db.dispose()
    p99 = mutuals.percentile(99)
    return {
        "name": NAME,
        "engine": engine,
        "p50_ms": mutuals.percentile(50),
        "p99_ms": p99,
        "quote_p50_ms": quotes.percentile(50),
        "quote_p99_ms": quotes.percentile(99),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": p99 < TARGET_P99_MS,
        "samples": len(mutuals.ms),
        "quote_samples": len(quotes.ms),
        "build_seconds": round(built, 1),
        "members": MEMBERS,
        "connections_per_member": DEGREE,
        "pairs_with_mutuals": round(sum(1 for n in found if n) / len(found), 3),
        "max_ms": mutuals.percentile(100),
        "quote_max_ms": quotes.percentile(100),
        "client_cpu_ms_per_op": mutuals.cpu_ms_per_op,
        "quote_client_cpu_ms_per_op": quotes.cpu_ms_per_op,
        **counted,
    }


def statements(deps: Deps, op: Callable[[str, str], object], pair: Pair) -> int:
    """How many SQL statements one call sends (BEGIN left out: PostgreSQL's is implicit)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not sql.lstrip().upper().startswith("BEGIN"):
            seen.append(sql)

    event.listen(deps.db.engine, "before_cursor_execute", count)
    try:
        op(*pair)
    finally:
        event.remove(deps.db.engine, "before_cursor_execute", count)
    return len(seen)


def timed(op: Callable[[str, str], object], pairs: list[Pair], seconds: float) -> Latencies:
    """Call ``op`` on the pairs in turn for ``seconds`` (at least ``MIN_SAMPLES`` calls)."""
    for x, y in pairs[:WARMUP_CALLS]:
        op(x, y)
    ms: list[float] = []
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    for i in range(len(pairs) * 1000):
        if len(ms) >= MIN_SAMPLES and time.perf_counter() >= deadline:
            break
        x, y = pairs[(WARMUP_CALLS + i) % len(pairs)]
        start = time.perf_counter()
        op(x, y)
        ms.append(1000 * (time.perf_counter() - start))
    return Latencies(ms, time.process_time() - cpu)
