"""Databases for the tests: a fresh SQLite file per test, and a throwaway PostgreSQL database.

PostgreSQL tests run when a server answers at INMAIL_TEST_PG_ADMIN_URL
(default: postgres on 127.0.0.1:5432). Outside CI they are skipped, with the
reason printed, when none does; under CI=true an unreachable server fails the
run instead, so a green CI always means they ran.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.store import schema
from inmail.store.db import Database, make_engine
from inmail.store.tables import metadata
from tests.pgbouncer import Pgbouncer
from tests.pgbouncer import unavailable as pgbouncer_unavailable

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
PG_ADMIN_URL = os.environ.get(
    "INMAIL_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL at {PG_ADMIN_URL}: {exc.__class__.__name__}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, seeded SQLite file; each test gets a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    seed_catalog(Deps(Database(engine), PlanVersionCache()), now=T0)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database created for this run and dropped after it."""
    problem = _pg_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true needs PostgreSQL: {problem}")
        pytest.skip(f"PostgreSQL tests skipped: {problem}")
    name = f"inmail_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fresh_postgres(url: str) -> Database:
    db = Database(make_engine(url))
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.write() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    seed_catalog(Deps(db, PlanVersionCache()), now=T0)
    return db


DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
WITH_PGBOUNCER = [*DB_PARAMS, pytest.param("pgbouncer", marks=pytest.mark.postgres)]
"""``db_url``'s engines plus PostgreSQL through pgbouncer in transaction pooling mode: a
module opts in by overriding ``db_url`` with ``params=WITH_PGBOUNCER`` (see
tests/integration/test_concurrency.py)."""


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated, seeded database on each engine."""
    return database_url(request, tmp_path)


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``db_url``'s body for ``request.param`` (``sqlite``, ``postgres`` or ``pgbouncer``)."""
    if request.param == "sqlite":
        path = tmp_path / "inmail.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _fresh_postgres(url).dispose()
    if request.param == "pgbouncer":
        return through_pgbouncer(request, url)
    return url


@pytest.fixture(scope="session")
def pgbouncer(postgres_url: str) -> Iterator[Pgbouncer]:
    """One private pgbouncer (transaction pooling) in front of the test server, per run.

    Skipped when Debian's pgbouncer is not installed (``make pgbouncer``), except under
    CI=true, where that fails the run.
    """
    problem = pgbouncer_unavailable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true needs pgbouncer: {problem}")
        pytest.skip(f"pgbouncer tests skipped: {problem}")
    server = make_url(PG_ADMIN_URL)
    with Pgbouncer(server_host=server.host or "127.0.0.1", server_port=server.port or 5432) as b:
        yield b


def through_pgbouncer(request: pytest.FixtureRequest, url: str) -> str:
    """``url``'s database through the run's pgbouncer, marked ``?pgbouncer=true`` so that
    every engine made from it (``make_engine``) runs in pgbouncer mode."""
    bouncer: Pgbouncer = request.getfixturevalue("pgbouncer")
    return bouncer.url(make_url(url).database or "") + "?pgbouncer=true"


@pytest.fixture
def deps(db_url: str) -> Iterator[Deps]:
    db = Database(make_engine(db_url))
    yield Deps(db, PlanVersionCache())
    db.dispose()
