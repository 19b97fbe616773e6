"""A large, seeded member graph, and loading it straight into the tables in bulk.

The graph: ``members`` members, each connected to about ``degree`` others.
Member ``i`` picks ``degree / 2`` distinct offsets ``d`` in ``[1, members / 2)``
at random and connects to ``(i + d) mod members``. A pair can only come from
one side (the two offsets that would name it add up to ``members``), so there
are no duplicates and exactly ``members * degree / 2`` pairs; the degrees are
``degree / 2`` plus a Poisson-like count around ``degree / 2``.

Each member has a seeded profile (``benchmarks.profiles``): a name, headline,
company, school and interests.

Loading bypasses the service layer (100,000 ``create_member`` calls would take
many minutes) and writes the rows those calls would write for a member on the
free plan: ``members``, ``accounts`` (plan ``basic`` version 1, no credits,
nothing due), ``member_search`` (the profile's words, ``domain.search``) and
``connections`` (once per pair, ``a < b``). SQLite gets ``executemany`` batches
on one transaction (its triggers fill the FTS5 index); PostgreSQL gets ``COPY``,
with the keys and indexes of ``connections`` and ``member_search`` built after
the rows are in.
"""

from __future__ import annotations

import json
import random
import sqlite3
from array import array
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from benchmarks.profiles import Profile, random_profiles
from inmail.domain.search import member_document

BATCH = 50_000
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite
BASIC_PLAN = ("basic", 1)


@dataclass(frozen=True, slots=True)
class Graph:
    ids: list[str]
    # Pair k connects ids[left[k]] and ids[right[k]].
    left: array[int]
    right: array[int]
    profiles: list[Profile]

    @property
    def pairs(self) -> int:
        return len(self.left)

    def ordered_pairs(self) -> Iterator[tuple[str, str]]:
        """Every pair once, as stored: ``(a, b)`` with ``a < b``."""
        ids = self.ids
        for i, j in zip(self.left, self.right, strict=True):
            x, y = ids[i], ids[j]
            yield (x, y) if x < y else (y, x)

    def adjacency(self) -> list[list[int]]:
        """Each member's connections, by index."""
        near: list[list[int]] = [[] for _ in self.ids]
        for i, j in zip(self.left, self.right, strict=True):
            near[i].append(j)
            near[j].append(i)
        return near


def random_graph(members: int, degree: int, seed: int) -> Graph:
    """The seeded graph described in the module docstring; ids look like ``new_id("m")``."""
    rng = random.Random(seed)
    ids = [f"m_{rng.getrandbits(128):032x}" for _ in range(members)]
    offsets = range(1, (members + 1) // 2)
    left, right = array("I"), array("I")
    for i in range(members):
        for d in rng.sample(offsets, degree // 2):
            left.append(i)
            right.append((i + d) % members)
    return Graph(ids, left, right, random_profiles(members, seed + 2))


def _batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _member_rows(graph: Graph, at: Any) -> Iterator[tuple[Any, ...]]:
    for i, (member_id, p) in enumerate(zip(graph.ids, graph.profiles, strict=True)):
        interests = json.dumps(list(p.interests), ensure_ascii=False)
        yield member_id, f"g{i}", p.name, p.headline, p.company, p.school, interests, at


def _documents(graph: Graph) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each member's words in the search index, as ``store.members.insert_member`` writes them."""
    for i, (member_id, p) in enumerate(zip(graph.ids, graph.profiles, strict=True)):
        document = member_document(
            name=p.name,
            handle=f"g{i}",
            headline=p.headline,
            company=p.company,
            school=p.school,
            interests=p.interests,
        )
        yield member_id, document


def _account_rows(graph: Graph, at: Any, yes: Any) -> Iterator[tuple[Any, ...]]:
    code, version = BASIC_PLAN
    for i, member_id in enumerate(graph.ids):
        yield member_id, f"sub_{i:032x}", code, version, at, -1, 0, yes


MEMBER_COLUMNS = "id, handle, name, headline, company, school, interests, created_at"
ACCOUNT_COLUMNS = (
    "member_id, subscription_id, plan_code, plan_version, anchor, renewed_cycle, balance, "
    "auto_overage"
)
SQLITE_INSERT_MEMBER = f"INSERT INTO members ({MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
SQLITE_INSERT_ACCOUNT = f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
SQLITE_INSERT_DOCUMENT = "INSERT INTO member_search (member_id, document) VALUES (?, ?)"


def load_sqlite(path: str, graph: Graph, at: datetime) -> None:
    """Write the graph into the migrated, seeded SQLite file at ``path``, in one transaction.

    The loading connection alone skips fsync (a throwaway file): the durability of the
    load is not what is measured.
    """
    stamp = at.strftime(SQLITE_TIME)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1000000")  # about 1 GB: the indexes stay in memory
        conn.execute("BEGIN IMMEDIATE")
        for batch in _batches(_member_rows(graph, stamp)):
            conn.executemany(SQLITE_INSERT_MEMBER, batch)
        for batch in _batches(_account_rows(graph, stamp, 1)):
            conn.executemany(SQLITE_INSERT_ACCOUNT, batch)
        documents = ((member_id, " ".join(words)) for member_id, words in _documents(graph))
        for batch in _batches(documents):
            conn.executemany(SQLITE_INSERT_DOCUMENT, batch)
        rows = ((a, b, stamp) for a, b in graph.ordered_pairs())
        for batch in _batches(rows):
            conn.executemany("INSERT INTO connections (a, b, created_at) VALUES (?, ?, ?)", batch)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def load_postgres(engine: Engine, graph: Graph, at: datetime) -> None:
    """COPY the graph into the migrated, seeded PostgreSQL database, then VACUUM ANALYZE.

    One transaction. The connections table gets its keys and indexes built after the
    COPY (see ``_keys_rebuilt``). VACUUM ANALYZE does what autovacuum would do soon
    after such a load: planner statistics, and the visibility map that index-only
    scans need.
    """
    stamp = at.isoformat()
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor() as cur:
            cur.execute("SET LOCAL maintenance_work_mem = '1GB'")  # for the index builds
            _copy(cur, "members", MEMBER_COLUMNS, _member_rows(graph, stamp))
            _copy(cur, "accounts", ACCOUNT_COLUMNS, _account_rows(graph, stamp, "t"))
            with _keys_rebuilt(cur, "member_search"):  # the GIN index, built once
                # tsvector's text form: each word quoted (the words hold no quote or backslash)
                vectors = (
                    (member_id, " ".join(f"'{w}'" for w in words))
                    for member_id, words in _documents(graph)
                )
                _copy(cur, "member_search", "member_id, document", vectors)
            with _keys_rebuilt(cur, "connections"):
                rows = ((a, b, stamp) for a, b in graph.ordered_pairs())
                _copy(cur, "connections", "a, b, created_at", rows)
        driver.commit()
        driver.autocommit = True
        with driver.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) members, accounts, connections, member_search")
        driver.autocommit = False
    finally:
        raw.close()


# The primary key, unique and foreign keys of a table, and its other indexes, as DDL.
KEYS = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY contype"
)
OTHER_INDEXES = (
    "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
    "WHERE indrelid = %s::regclass AND NOT EXISTS "
    "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid AND conrelid = indrelid)"
)


@contextmanager
def _keys_rebuilt(cur: Any, table: str) -> Iterator[None]:
    """Load ``table`` without its keys and indexes, then rebuild them from the catalog.

    Building a b-tree from millions of rows at once is several times faster than
    inserting them one by one in random order, and each foreign key is then checked
    in one pass. The definitions are read from the database, so they are whatever
    the migrations made. Only for a table that no foreign key points at.
    """
    cur.execute(KEYS, (table,))
    keys = cur.fetchall()
    cur.execute(OTHER_INDEXES, (table,))
    indexes = cur.fetchall()
    for name, _ in keys:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f"DROP INDEX {name}")
    yield
    for _, ddl in indexes:
        cur.execute(ddl)
    for name, ddl in reversed(keys):  # the primary key before the foreign keys
        cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}')


def _copy(cur: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY in text format; every value here is free of tabs, newlines and backslashes."""
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for batch in _batches(rows):
            text = "".join("\t".join(map(str, row)) + "\n" for row in batch)
            copy.write(text.encode())
