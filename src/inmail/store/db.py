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

Behind pgbouncer in transaction pooling mode (``pgbouncer=True``) a client's
transactions may each run on a different server connection, so nothing may
rely on session state: psycopg never prepares statements server-side, and
only the time zone is set per connection (pgbouncer tracks ``TimeZone`` for
each client and sets it on whichever server connection it hands out).
``synchronous_commit`` is not tracked: it must come from the server's own
settings, which the first connection checks (docs/rules.md, "PostgreSQL
behind pgbouncer").
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry

from inmail.store import checkpoint
from inmail.store.fast_spend import FastSpend
from inmail.store.writers import DEFAULT_TIMEOUT_MS, writer_queue

_BEGIN_MODE = "inmail_sqlite_begin"
_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}

PSYCOPG_PREPARE_THRESHOLD = 5
"""psycopg's own default: a query is prepared server-side on its 5th run on a connection."""


class UnsafeServerSettings(RuntimeError):
    """The PostgreSQL server behind pgbouncer would not keep an acknowledged commit."""


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = DEFAULT_TIMEOUT_MS,
    pool_size: int = 10,
    turn_timeout_ms: int | None = None,
    pgbouncer: bool = False,
    prepare_threshold: int | None = PSYCOPG_PREPARE_THRESHOLD,
) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL through psycopg).

    SQLite: ``busy_timeout_ms`` is how long a writer waits for another process's write
    lock, ``turn_timeout_ms`` how long for its turn among this process's writers (by
    default the same).

    ``pgbouncer``: the URL is a pgbouncer in transaction pooling mode; no statement is
    prepared server-side and no session setting other than the time zone is made. The URL
    may say so itself with ``?pgbouncer=true`` (as Prisma's URLs do), which is taken out
    before connecting.
    ``prepare_threshold``: psycopg's (runs of a query on one connection before it is
    prepared; None never prepares); ``pgbouncer=True`` makes it None. Raises
    :class:`UnsafeServerSettings` from the first connection behind pgbouncer when the
    server's ``synchronous_commit`` is off (SPEC §3: an acknowledged write survives a crash).
    """
    if url.startswith("sqlite"):
        turn = busy_timeout_ms if turn_timeout_ms is None else turn_timeout_ms
        return _sqlite_engine(url, busy_timeout_ms, turn)
    parsed = make_url(url)
    if "pgbouncer" in parsed.query:
        pgbouncer = pgbouncer or str(parsed.query["pgbouncer"]).lower() in {"true", "1", "yes"}
        parsed = parsed.difference_update_query(["pgbouncer"])
    # A statement psycopg prepared lives on one server connection; behind a transaction
    # pooler the next transaction runs on another, where it does not exist (pgbouncer
    # before 1.21 does not track them: docs/rules.md, "PostgreSQL behind pgbouncer").
    threshold = None if pgbouncer else prepare_threshold
    # No pre-ping: it costs a round trip on every checkout, the hot path's largest single
    # overhead. Connections are recycled after 30 minutes, and a dropped one fails its
    # request (503, retry with the same idempotency key) and leaves the pool.
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={"prepare_threshold": threshold},
    )

    @event.listens_for(engine, "connect")
    def _durable(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        with dbapi_conn.cursor() as cur:
            if pgbouncer:
                # A session SET would stay on the server connection this transaction
                # happened to get (for its next client) and not follow us to the next one.
                cur.execute("SELECT current_setting('synchronous_commit')")
                if cur.fetchone()[0] == "off":
                    raise UnsafeServerSettings(
                        "synchronous_commit is off on the PostgreSQL server behind pgbouncer; "
                        "set it on for the database: ALTER DATABASE ... SET synchronous_commit"
                        " = on"
                    )
            else:
                cur.execute("SET synchronous_commit TO on")
            # psycopg returns times in the session's zone: in any zone east (west) of UTC
            # a time stored near 9999-12-31 (0001-01-01) would not load. UTC loads them all.
            # pgbouncer tracks TimeZone per client and repeats this SET on every server
            # connection it gives us, so it holds in transaction pooling too.
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
        # The WAL is checkpointed on a background thread; SQLite's own is the backstop.
        cur.execute(f"PRAGMA wal_autocheckpoint = {checkpoint.BACKSTOP_PAGES}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    background = checkpoint.attach(engine)
    writer_queue(engine, turn_timeout_ms, None if background is None else background.wrote)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        statement = _BEGIN[mode]
        # On the driver connection itself: SQLAlchemy's execute machinery costs several
        # times the statement, once per transaction. Its errors are wrapped as SQLAlchemy
        # wraps them (a busy database stays an OperationalError: 503, retry).
        try:
            conn.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as error:
            raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error

    return engine


class Database:
    """Hands out transactions. ``write()`` takes SQLite's write lock up front, after its
    turn among this process's writers.

    ``read_engine``: a read replica for :meth:`read_stale` (default: ``engine`` itself).
    """

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self.read_engine = engine if read_engine is None else read_engine
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

    @contextmanager
    def read_stale(self) -> Iterator[Connection]:
        """A read that may be a moment behind the primary (a replica's lag).

        Only for what docs/rules.md ("Reads from the replica") lists: the feed, search,
        mutual connections, statements and stats. Never for a read that decides a charge
        or a refusal (quote, send, spend, bulk, renewal): those use :meth:`read` or
        :meth:`write` on the primary.
        """
        with self.read_engine.connect() as conn, conn.begin():
            yield conn

    @functools.cached_property
    def fast_spend(self) -> FastSpend:
        return FastSpend(self.engine, self._writers)

    def dispose(self) -> None:
        try:
            if "fast_spend" in self.__dict__:  # built: it may keep a connection (SQLite)
                self.fast_spend.close()
        finally:  # even when a spend held the writers' turn past its timeout
            background = checkpoint.of(self.engine)
            if background is not None:
                background.stop()
            self.engine.dispose()
            if self.read_engine is not self.engine:
                self.read_engine.dispose()
