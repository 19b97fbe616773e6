"""search_100k: a page of people search on the 100,000-member graph, against the member list.

The graph and its loading are ``mutuals_100k``'s (``benchmarks.graph``), every
member with a seeded profile (``benchmarks.profiles``) in the search index. On
each engine, one request at a time, through the service layer:

- ours: ``find_members(viewer, q/company/interest/degree..., limit=50)``, what
  ``GET /v1/members`` runs: the page of results, each member's plan as of now,
  and the batch quote (degree, cheapest channel, cost) of every row;
- baseline, side by side in alternating rounds: ``list_members(after, limit=50)``,
  the plain member list page (50 members by id, with their plan as of now).

The searches cycle through kinds a People page sends: a first name, a full
name, two letters typed, an exact handle, a company, an interest, a word
in a third of all profiles, a name among the 2nd degree, the 1st degree, a
company outside the network (3rd degree), everyone, and a word nobody has.
One line per engine: percentiles of both sides, ``ratio`` (ours_per_s /
baseline_per_s), and the p99 of each kind.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks import postgres
from benchmarks.fixtures import NOW, open_deps
from benchmarks.graph import Graph, random_graph
from benchmarks.mutuals_100k import DEGREE, MEMBERS, SEED, Latencies, built_postgres, built_sqlite
from benchmarks.report import log, skipped
from inmail.domain.search import fold
from inmail.services.members import list_members
from inmail.services.search import find_members

NAME = "search_100k"
TARGET_P99_MS = 20.0
LIMIT = 50
SEARCHES = 2_400
ROUND_SECONDS = 0.5
MIN_SAMPLES = 600
WARMUP_CALLS = 120
KINDS = (
    "first name",
    "full name",
    "two letters",
    "handle",
    "company",
    "interest",
    "common word",
    "name, 2nd degree",
    "1st degree",
    "company, 3rd degree",
    "everyone",
    "nobody",
)


@dataclass(frozen=True, slots=True)
class Search:
    kind: str
    viewer: str
    params: dict[str, Any]


def sample_searches(graph: Graph, count: int, rng: random.Random) -> list[Search]:
    """``count`` searches by random viewers, the kinds in turn, for people who exist."""
    n = len(graph.ids)
    made = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        wanted = graph.profiles[rng.randrange(n)]
        first = wanted.name.split(" ", 1)[0]
        choices: dict[str, dict[str, Any]] = {
            "first name": {"q": first},
            "full name": {"q": wanted.name},
            "two letters": {"q": fold(first)[:2]},
            "handle": {"q": f"g{rng.randrange(n)}"},
            "company": {"company": wanted.company},
            "interest": {"interest": rng.choice(wanted.interests)},
            "common word": {"q": "engineer"},
            "name, 2nd degree": {"q": first, "degree": 2},
            "1st degree": {"degree": 1},
            "company, 3rd degree": {"company": wanted.company.split(" ")[0], "degree": 3},
            "everyone": {},
            "nobody": {"q": "zzyzx"},
        }
        params = choices[kind]
        made.append(Search(kind, graph.ids[rng.randrange(n)], params))
    return made


def run(seconds: float) -> Iterator[dict[str, Any]]:
    """One line for SQLite, then one for PostgreSQL (or why it was skipped)."""
    started = time.perf_counter()
    graph = random_graph(MEMBERS, DEGREE, SEED)
    rng = random.Random(SEED + 3)
    searches = sample_searches(graph, SEARCHES, rng)
    afters = [graph.ids[rng.randrange(len(graph.ids))] for _ in range(SEARCHES)]
    generated = time.perf_counter() - started
    log(f"{NAME}: {MEMBERS} members and {SEARCHES} searches generated in {generated:.1f} s")
    common = {"generate_seconds": round(generated, 1)}

    def measure(engine: str, build: Callable[[Graph, str], Any]) -> dict[str, Any]:
        try:
            with build(graph, NAME) as (url, built):
                return _measure(engine, url, searches, afters, seconds, built) | common
        except Exception as exc:
            return {"name": NAME, "engine": engine, "error": f"{exc.__class__.__name__}: {exc}"}

    yield measure("sqlite", built_sqlite)
    problem = postgres.server_unavailable()
    if problem is not None:
        yield skipped(NAME, problem) | {"engine": "postgres"}
        return
    yield measure("postgres", built_postgres)


def _measure(
    engine: str,
    url: str,
    searches: list[Search],
    afters: list[str],
    seconds: float,
    built: float,
) -> dict[str, Any]:
    log(f"{NAME}: {engine} built in {built:.1f} s; timing ({seconds:g} s per side)")
    deps = open_deps(url, pool_size=1)

    def ours(i: int) -> int:
        s = searches[i % len(searches)]
        return len(find_members(deps, viewer=s.viewer, now=NOW, limit=LIMIT, **s.params).items)

    def baseline(i: int) -> int:
        return len(list_members(deps, now=NOW, after=afters[i % len(afters)], limit=LIMIT))

    try:
        for i in range(WARMUP_CALLS):
            ours(i)
            baseline(i)
        mine, base, by_kind = _alternate(ours, baseline, searches, seconds)
        sizes = {s.kind: ours(k) for k, s in enumerate(searches[: len(KINDS)])}
    finally:
        deps.db.dispose()
    p99 = mine.percentile(99)
    ours_per_s = len(mine.ms) / (sum(mine.ms) / 1000)
    baseline_per_s = len(base.ms) / (sum(base.ms) / 1000)
    return {
        "name": NAME,
        "engine": engine,
        "p50_ms": mine.percentile(50),
        "p99_ms": p99,
        "baseline_p50_ms": base.percentile(50),
        "baseline_p99_ms": base.percentile(99),
        "ours_per_s": round(ours_per_s, 1),
        "baseline_per_s": round(baseline_per_s, 1),
        "ratio": round(ours_per_s / baseline_per_s, 3),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": p99 < TARGET_P99_MS,
        "samples": len(mine.ms),
        "baseline_samples": len(base.ms),
        "p99_ms_by_kind": {kind: ms.percentile(99) for kind, ms in by_kind.items()},
        "results_by_kind": sizes,
        "max_ms": mine.percentile(100),
        "client_cpu_ms_per_op": mine.cpu_ms_per_op,
        "baseline_client_cpu_ms_per_op": base.cpu_ms_per_op,
        "build_seconds": round(built, 1),
        "members": MEMBERS,
        "page_size": LIMIT,
    }


def _alternate(
    ours: Callable[[int], object],
    baseline: Callable[[int], object],
    searches: list[Search],
    seconds: float,
) -> tuple[Latencies, Latencies, dict[str, Latencies]]:
    """Rounds of about ``ROUND_SECONDS`` per side, in turns, until each side had ``seconds``
    (and ours at least ``MIN_SAMPLES`` calls): a busy machine slows both sides alike."""
    mine: list[float] = []
    base: list[float] = []
    kinds: defaultdict[str, list[float]] = defaultdict(list)
    cpu = {"ours": 0.0, "base": 0.0}
    spent = {"ours": 0.0, "base": 0.0}
    i = j = 0
    while spent["ours"] < seconds or spent["base"] < seconds or len(mine) < MIN_SAMPLES:
        for side, op, times in (("ours", ours, mine), ("base", baseline, base)):
            started, process = time.perf_counter(), time.process_time()
            deadline = started + ROUND_SECONDS
            while time.perf_counter() < deadline:
                k = i if side == "ours" else j
                start = time.perf_counter()
                op(k)
                elapsed = 1000 * (time.perf_counter() - start)
                times.append(elapsed)
                if side == "ours":
                    kinds[searches[i % len(searches)].kind].append(elapsed)
                    i += 1
                else:
                    j += 1
            spent[side] += time.perf_counter() - started
            cpu[side] += time.process_time() - process
    by_kind = {kind: Latencies(kinds[kind], 0.0) for kind in KINDS if kinds[kind]}
    return Latencies(mine, cpu["ours"]), Latencies(base, cpu["base"]), by_kind
