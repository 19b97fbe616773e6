"""Engines and transactions for SQLite and PostgreSQL, behind one small interface.

SQLite: WAL, ``synchronous=FULL`` (an acknowledged write survives power
loss), foreign keys on, a busy timeout, and every write transaction starts
with ``BEGIN IMMEDIATE`` so that two writers never both read and then fail to
upgrade their lock. A process's writers also queue for their turn in the
process (:class:`WriterQueue`), first come first served, before asking SQLite
for its lock: SQLite's busy handler sleeps and polls, so writers contending
inside it wait far longer than the work takes (a send's p99 went from 15 ms
to over a second at 32 connections); in the queue each waits exactly for the
writers ahead of it. The busy timeout remains for other processes (a worker,
the CLI) writing to the same file. PostgreSQL: READ COMMITTED with
``synchronous_commit`` on; writers serialise on an account by locking its row
first, and never queue here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

from inmail.store.fast_spend import FastSpend
from inmail.store.writers import DEFAULT_TIMEOUT_MS, writer_queue

_BEGIN_MODE = "inmail_sqlite_begin"


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = DEFAULT_TIMEOUT_MS,
    pool_size: int = 10,
    turn_timeout_ms: int | None = None,
) -> Engine:
    """An engine for ``url`` with the durability settings above. SQLite: ``busy_timeout_ms``
    is how long a writer waits for another process's write lock, ``turn_timeout_ms`` how
    long for its turn among this process's writers (by default the same)."""
    if url.startswith("sqlite"):
        turn = busy_timeout_ms if turn_timeout_ms is None else turn_timeout_ms
        return _sqlite_engine(url, busy_timeout_ms, turn)
    # No pre-ping: it costs a round trip on every checkout, the hot path's largest single
    # overhead. Connections are recycled after 30 minutes, and a dropped one fails its
    # request (503, retry with the same idempotency key) and leaves the pool.
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)

    @event.listens_for(engine, "connect")
    def _durable(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET synchronous_commit TO on")
            # psycopg returns times in the session's zone: in any zone east (west) of UTC
            # a time stored near 9999-12-31 (0001-01-01) would not load. UTC loads them all.
            cur.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.commit()

    return engine


def _sqlite_engine(url: str, busy_timeout_ms: int, turn_timeout_ms: int) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    writer_queue(engine, turn_timeout_ms)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """Hands out transactions. ``write()`` takes SQLite's write lock up front, after its
    turn among this process's writers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._writers = writer_queue(engine)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        if self._writers is None:
            with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        with self._writers.turn(), self.engine.connect() as conn:
            conn = conn.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @functools.cached_property
    def fast_spend(self) -> FastSpend:
        return FastSpend(self.engine, self._writers)

    def dispose(self) -> None:
        self.engine.dispose()
