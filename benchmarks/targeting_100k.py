"""targeting_100k: ranking 200 candidates on the 100,000-member graph, against 200 profile reads.

The graph of ``mutuals_100k`` (100,000 members, ~50 connections each, 2.5 M pairs), with
what targeting reads added in bulk, the same on both engines (seeded):

- every member gets a company (of 2,000), a school (of 500) and 3 interests (of 300);
- 2,000 groups, every member in 3 of them (300,000 memberships);
- 200,000 InMail threads between random members over the last 90 days, each with its
  InMail message; by the recipient, a third answer 80 %, a third 40 % and a third 10 %
  (replied within 5 days, with a reply message), 10 % are declined, the rest still wait;
- 100,000 posts over the last 60 days.

20 viewers on ``premium_business`` are created through the service layer, each connected
to 50 members of the graph and in 3 of its groups. One call at a time, after warm-up
calls, each sample times, on the same 200 candidates (100 from the viewer's 2nd-degree
network, 100 drawn uniformly):

- ours: ``rank_candidates(viewer, candidates=200 ids, limit=200)`` through the service
  layer (``POST /v1/me/targeting``: every fact, batched);
- baseline: 200 ``get_member`` calls, one read each: what a client that looked the 200 up
  one by one would spend before scoring anything;

alternately, call by call, so noise hits both sides alike. Also timed: the default pool
(``rank_candidates(viewer)``: the 200 of the 2nd-degree network with the most mutual
connections). One line per engine; ``ratio`` is ours per second / the baseline per second
(mean times), the target a p99 under 50 ms on PostgreSQL.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from benchmarks import postgres
from benchmarks.fixtures import NOW, open_deps
from benchmarks.graph import (
    SQLITE_TIME,
    Graph,
    _batches,
    _copy,
    load_postgres,
    load_sqlite,
    random_graph,
)
from benchmarks.mutuals_100k import DEGREE, MEMBERS, SEED, Latencies, _migrate, statements
from benchmarks.report import log, skipped
from inmail.services.context import Deps
from inmail.services.members import create_member, get_member
from inmail.services.targeting import rank_candidates

NAME = "targeting_100k"
TARGET_P99_MS = 50.0
CANDIDATES = 200
VIEWERS = 20
VIEWER_CONNECTIONS = 50
COMPANIES, SCHOOLS, INTERESTS, GROUPS = 2_000, 500, 300, 2_000
GROUPS_EACH, INTERESTS_EACH = 3, 3
THREADS, POSTS = 200_000, 100_000
MIN_SAMPLES = 200
WARMUP_CALLS = 20


@dataclass(slots=True)
class Extras:
    """The rows targeting reads besides the graph, as tuples in each table's column order."""

    profiles: list[tuple[str, str, str, str]] = field(default_factory=list)
    groups: list[tuple[Any, ...]] = field(default_factory=list)
    memberships: list[tuple[Any, ...]] = field(default_factory=list)
    threads: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    posts: list[tuple[Any, ...]] = field(default_factory=list)


GROUP_COLUMNS = "id, name, description, closed, owner_id, created_at"
MEMBERSHIP_COLUMNS = "group_id, member_id, status, since"
THREAD_COLUMNS = (
    "id, kind, initiator_id, recipient_id, status, created_at, last_message_at, "
    "last_inmail_at, followups_sent, opened_at, responded_at"
)
MESSAGE_COLUMNS = "id, thread_id, sender_id, kind, subject, body, cost_credits, created_at"
POST_COLUMNS = "id, author_id, body, created_at"
ANSWER_SHARES = (0.8, 0.4, 0.1)  # by recipient index mod 3


def extras(graph: Graph, rng: random.Random) -> Extras:
    """Profiles, groups, InMail history and posts for the graph (see the module docstring)."""
    ids, made = graph.ids, Extras()
    interests = [f"interest {i}" for i in range(INTERESTS)]
    for member_id in ids:
        chosen = json.dumps(rng.sample(interests, INTERESTS_EACH))
        company, school = rng.randrange(COMPANIES), rng.randrange(SCHOOLS)
        made.profiles.append((member_id, f"Company {company}", f"School {school}", chosen))
    for g in range(GROUPS):
        made.groups.append((f"g_{g:08d}", f"Group {g}", "", False, ids[g], NOW))
    for member_id in ids:
        for g in rng.sample(range(GROUPS), GROUPS_EACH):
            made.memberships.append((f"g_{g:08d}", member_id, "member", NOW))
    for t in range(THREADS):
        i, j = rng.sample(range(len(ids)), 2)
        _thread(made, f"th_{t:010d}", i, j, graph, rng)
    for p in range(POSTS):
        at = NOW - timedelta(days=rng.uniform(0, 60))
        made.posts.append((f"p_{p:010d}", ids[rng.randrange(len(ids))], "A post", at))
    return made


def _thread(made: Extras, thread_id: str, i: int, j: int, graph: Graph, rng: random.Random) -> None:
    sender, recipient = graph.ids[i], graph.ids[j]
    sent = NOW - timedelta(days=rng.uniform(0, 90))
    draw = rng.random()
    status, responded = "awaiting_response", None
    if draw < ANSWER_SHARES[j % 3]:
        status, responded = "answered", sent + timedelta(days=rng.uniform(0, 5))
    elif draw > 0.9:
        status, responded = "declined", sent + timedelta(days=rng.uniform(0, 5))
    last = responded or sent
    made.threads.append(
        (thread_id, "inmail", sender, recipient, status, sent, last, sent, 0, responded, responded)
    )
    made.messages.append((f"m{thread_id}", thread_id, sender, "inmail", "Hello", "Hi", 1, sent))
    if status == "answered":
        made.messages.append(
            (f"r{thread_id}", thread_id, recipient, "reply", None, "Sure", 0, last)
        )


# --- Loading -------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(SQLITE_TIME)
    if isinstance(value, bool):
        return int(value)
    return value


def load_extras_sqlite(path: str, made: Extras) -> None:
    """Write the extras into the SQLite file in one transaction (fsync off: a throwaway)."""
    tables = [
        ("groups", GROUP_COLUMNS, made.groups),
        ("group_members", MEMBERSHIP_COLUMNS, made.memberships),
        ("threads", THREAD_COLUMNS, made.threads),
        ("messages", MESSAGE_COLUMNS, made.messages),
        ("posts", POST_COLUMNS, made.posts),
    ]
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN IMMEDIATE")
        update = "UPDATE members SET company = ?, school = ?, interests = ? WHERE id = ?"
        conn.executemany(update, [(c, s, i, m) for m, c, s, i in made.profiles])
        for table, columns, rows in tables:
            marks = ", ".join("?" for _ in columns.split(","))
            insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            for batch in _batches(iter(rows)):
                conn.executemany(insert, [tuple(map(_sqlite_value, row)) for row in batch])
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _pg_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def load_extras_postgres(deps: Deps, made: Extras) -> None:
    """COPY the extras in one transaction (profiles through a temporary table), then
    VACUUM ANALYZE the tables they went to."""
    raw = deps.db.engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor() as cur:
            cur.execute(
                "CREATE TEMPORARY TABLE profiles (id text, company text, school text, "
                "interests json) ON COMMIT DROP"
            )
            _copy(cur, "profiles", "id, company, school, interests", iter(made.profiles))
            cur.execute(
                "UPDATE members m SET company = p.company, school = p.school, "
                "interests = p.interests FROM profiles p WHERE m.id = p.id"
            )
            for table, columns, rows in [
                ("groups", GROUP_COLUMNS, made.groups),
                ("group_members", MEMBERSHIP_COLUMNS, made.memberships),
                ("threads", THREAD_COLUMNS, made.threads),
                ("messages", MESSAGE_COLUMNS, made.messages),
                ("posts", POST_COLUMNS, made.posts),
            ]:
                text_rows = (tuple(map(_pg_value, row)) for row in rows)
                _copy(cur, table, columns, text_rows)
        driver.commit()
        driver.autocommit = True
        with driver.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) members, groups, group_members, threads, messages, posts")
        driver.autocommit = False
    finally:
        raw.close()


# --- Viewers and their candidates ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Viewer:
    member_id: str
    candidates: tuple[str, ...]


def add_viewers(deps: Deps, graph: Graph, rng: random.Random) -> list[Viewer]:
    """Paid members in the graph: connections and groups written through the service's
    tables in one transaction each, candidates drawn as the module docstring says."""
    from inmail.store.network import insert_connection
    from inmail.store.social import set_membership

    near = graph.adjacency()
    viewers = []
    for v in range(VIEWERS):
        member_id = create_member(
            deps, handle=f"viewer{v}", name=f"Viewer {v}", plan="premium_business", now=NOW
        ).id
        friends = rng.sample(range(len(graph.ids)), VIEWER_CONNECTIONS)
        with deps.db.write() as conn:
            for f in friends:
                insert_connection(conn, member_id, graph.ids[f], NOW)
            for g in rng.sample(range(GROUPS), GROUPS_EACH):
                set_membership(conn, f"g_{g:08d}", member_id, "member", NOW)
        second = sorted({graph.ids[x] for f in friends for x in near[f]})
        picked = rng.sample(second, min(CANDIDATES // 2, len(second)))
        while len(picked) < CANDIDATES:
            other = graph.ids[rng.randrange(len(graph.ids))]
            if other not in picked:
                picked.append(other)
        viewers.append(Viewer(member_id, tuple(picked)))
    return viewers


# --- Timing --------------------------------------------------------------------------------


def run(seconds: float) -> Iterator[dict[str, Any]]:
    """One line for SQLite, then one for PostgreSQL (or why it was skipped)."""
    started = time.perf_counter()
    graph = random_graph(MEMBERS, DEGREE, SEED)
    made = extras(graph, random.Random(SEED + 2))
    generated = time.perf_counter() - started
    log(f"{NAME}: graph and extras generated in {generated:.1f} s")
    common = {"generate_seconds": round(generated, 1)}
    yield _guarded("sqlite", lambda: on_sqlite(graph, made, seconds) | common)
    problem = postgres.server_unavailable()
    if problem is not None:
        yield skipped(NAME, problem) | {"engine": "postgres"}
        return
    yield _guarded("postgres", lambda: on_postgres(graph, made, seconds) | common)


def _guarded(engine: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return measure()
    except Exception as exc:
        traceback.print_exc()
        return {"name": NAME, "engine": engine, "error": f"{exc.__class__.__name__}: {exc}"}


def on_sqlite(graph: Graph, made: Extras, seconds: float) -> dict[str, Any]:
    with TemporaryDirectory(prefix="inmail-bench-targeting-") as tmp:
        path = str(Path(tmp) / "graph.db")
        url = f"sqlite:///{path}"
        log(f"{NAME}: loading {url}")
        started = time.perf_counter()
        _migrate(url)
        load_sqlite(path, graph, NOW)
        load_extras_sqlite(path, made)
        return _measure("sqlite", url, graph, seconds, time.perf_counter() - started)


def on_postgres(graph: Graph, made: Extras, seconds: float) -> dict[str, Any]:
    with postgres.throwaway_database("inmail_targeting") as pg_url:
        url = postgres.sqlalchemy_url(pg_url)
        log(f"{NAME}: loading {pg_url.database}")
        started = time.perf_counter()
        _migrate(url)
        deps = open_deps(url, pool_size=1)
        try:
            load_postgres(deps.db.engine, graph, NOW)
            load_extras_postgres(deps, made)
        finally:
            deps.db.dispose()
        return _measure("postgres", url, graph, seconds, time.perf_counter() - started)


def _measure(engine: str, url: str, graph: Graph, seconds: float, built: float) -> dict[str, Any]:
    deps = open_deps(url, pool_size=1)
    try:
        viewers = add_viewers(deps, graph, random.Random(SEED + 3))
        log(f"{NAME}: {engine} built in {built:.1f} s; timing ({seconds:g} s per side)")

        def ours(v: Viewer) -> object:
            return rank_candidates(
                deps, member_id=v.member_id, candidates=v.candidates, now=NOW, limit=CANDIDATES
            )

        def baseline(v: Viewer) -> object:
            return [get_member(deps, c, now=NOW) for c in v.candidates]

        def network(v: Viewer) -> object:
            return rank_candidates(deps, member_id=v.member_id, now=NOW, limit=CANDIDATES)

        ranked = ours(viewers[0])
        mine, theirs = side_by_side(ours, baseline, viewers, seconds)
        pools = timed(network, viewers, seconds / 2)
        by_id = {v.member_id: v for v in viewers}
        counted = statements(deps, lambda m, _: ours(by_id[m]), (viewers[0].member_id, ""))
        shape = _shape(ranked)
    finally:
        deps.db.dispose()
    p99 = mine.percentile(99)
    ratio = (sum(theirs.ms) / len(theirs.ms)) / (sum(mine.ms) / len(mine.ms))
    return {
        "name": NAME,
        "engine": engine,
        "p50_ms": mine.percentile(50),
        "p99_ms": p99,
        "baseline_p50_ms": theirs.percentile(50),
        "baseline_p99_ms": theirs.percentile(99),
        "ratio": round(ratio, 3),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": p99 < TARGET_P99_MS,
        "network_p50_ms": pools.percentile(50),
        "network_p99_ms": pools.percentile(99),
        "samples": len(mine.ms),
        "network_samples": len(pools.ms),
        "candidates": CANDIDATES,
        "statements_per_op": counted,
        "client_cpu_ms_per_op": mine.cpu_ms_per_op,
        "baseline_client_cpu_ms_per_op": theirs.cpu_ms_per_op,
        "max_ms": mine.percentile(100),
        "build_seconds": round(built, 1),
        "members": MEMBERS,
        "inmail_threads": THREADS,
        **shape,
    }


def _shape(ranked: Any) -> dict[str, Any]:
    """What one ranking found, so a run shows the facts were really there."""
    items = ranked.items
    return {
        "ranked": len(items),
        "with_mutuals": sum(1 for t in items if t.ranked.mutual_count),
        "with_history": sum(1 for t in items if t.ranked.answers.value != "not_enough_history"),
        "with_shared_facts": sum(1 for t in items if len(t.ranked.reasons) > 1),
    }


def side_by_side(
    ours: Callable[[Viewer], object],
    baseline: Callable[[Viewer], object],
    viewers: list[Viewer],
    seconds: float,
) -> tuple[Latencies, Latencies]:
    """Both sides on the same viewer, one call each in turn, for ``2 * seconds`` in all."""
    for v in viewers[:WARMUP_CALLS]:
        ours(v)
        baseline(v)
    mine: list[float] = []
    theirs: list[float] = []
    cpu = [0.0, 0.0]
    deadline = time.perf_counter() + 2 * seconds
    i = 0
    while len(mine) < MIN_SAMPLES or time.perf_counter() < deadline:
        v = viewers[i % len(viewers)]
        for side, (op, into) in enumerate(((ours, mine), (baseline, theirs))):
            started, on_cpu = time.perf_counter(), time.process_time()
            op(v)
            into.append(1000 * (time.perf_counter() - started))
            cpu[side] += time.process_time() - on_cpu
        i += 1
    return Latencies(mine, cpu[0]), Latencies(theirs, cpu[1])


def timed(op: Callable[[Viewer], object], viewers: list[Viewer], seconds: float) -> Latencies:
    for v in viewers:
        op(v)
    ms: list[float] = []
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    i = 0
    while len(ms) < MIN_SAMPLES or time.perf_counter() < deadline:
        started = time.perf_counter()
        op(viewers[i % len(viewers)])
        ms.append(1000 * (time.perf_counter() - started))
        i += 1
    return Latencies(ms, time.process_time() - cpu)
