"""inmail behind pgbouncer in transaction pooling mode (docs/rules.md, "PostgreSQL behind
pgbouncer"), against Debian's pgbouncer (1.18: no support for protocol-level prepared
statements) in front of the test server.

Each transaction of a client may run on a different server connection. These tests force
that: another client holds the server connection the first one just used, inside an open
transaction, so pgbouncer must hand the first client another one. What only holds per
server connection then shows: a prepared statement is gone, a session setting is gone
unless pgbouncer tracks it. The spend, send, bulk and renewal suites also run through a
pgbouncer (``WITH_PGBOUNCER`` in tests/integration/test_concurrency.py and its neighbours).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from inmail.bootstrap import build
from inmail.config import Settings
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import spend_credits
from inmail.store.db import Database, UnsafeServerSettings, make_engine
from tests.conftest import PG_ADMIN_URL, T0, _fresh_postgres
from tests.helpers import balance, new_member
from tests.pgbouncer import Pgbouncer, version

pytestmark = pytest.mark.postgres

QUERY = text("SELECT pg_backend_pid(), current_setting('TimeZone'), CAST(:n AS int)")


@pytest.fixture
def bouncer(pgbouncer: Pgbouncer) -> Iterator[Pgbouncer]:
    """A pgbouncer of this test's own: its server connections start with nothing on them.

    (It depends on the run's ``pgbouncer`` fixture for the skip, or failure under CI,
    when pgbouncer is not installed.)
    """
    server = make_url(PG_ADMIN_URL)
    with Pgbouncer(
        server_host=server.host or "127.0.0.1", server_port=server.port or 5432, pool_size=4
    ) as private:
        yield private


@pytest.fixture
def database(postgres_url: str) -> str:
    """The run's test database, emptied and seeded; its name."""
    _fresh_postgres(postgres_url).dispose()
    return make_url(postgres_url).database or ""


def run_on_another_server_connection(
    engine: Engine, bouncer: Pgbouncer, database: str, runs: int
) -> list[tuple[int, str]]:
    """Run QUERY ``runs`` times on one pooled connection, each in its own transaction (so
    pgbouncer keeps handing it the same, most recently used, server connection), then once
    more while another client holds that server connection: pgbouncer must use another.

    Returns the (server process id, time zone) of every run.
    """
    seen: list[tuple[int, str]] = []
    with engine.connect() as conn:
        for n in range(runs):
            pid, zone, _ = conn.execute(QUERY, {"n": n}).one()
            conn.commit()
            seen.append((pid, zone))
        with psycopg.connect(bouncer.conninfo(database)) as holder:
            held = holder.execute("SELECT pg_backend_pid()").fetchone()
            assert held is not None  # its transaction stays open: the server connection is held
            assert held[0] == seen[-1][0]
            pid, zone, _ = conn.execute(QUERY, {"n": runs}).one()
            conn.commit()
            seen.append((pid, zone))
    return seen


def test_debians_pgbouncer_predates_protocol_level_prepared_statements() -> None:
    # pgbouncer 1.21 added max_prepared_statements; if a newer one is installed, the rules
    # in docs/rules.md still hold (the setting keeps statements unprepared) but say why.
    major, minor = (int(part) for part in version().split(".")[:2])
    assert (major, minor) < (1, 21)


def test_without_the_setting_a_prepared_statement_is_missing_on_the_next_server_connection(
    bouncer: Pgbouncer, database: str
) -> None:
    engine = make_engine(bouncer.url(database))  # psycopg's default: prepare on the 5th run
    try:
        with pytest.raises(ProgrammingError, match=r'prepared statement "_pg3_\d+" does not exist'):
            run_on_another_server_connection(engine, bouncer, database, runs=8)
    finally:
        engine.dispose()


@pytest.mark.parametrize("in_url", [True, False], ids=["url-says-pgbouncer", "argument-says-so"])
def test_with_the_setting_nothing_is_prepared_and_the_time_zone_follows_the_client(
    bouncer: Pgbouncer, database: str, in_url: bool
) -> None:
    if in_url:
        engine = make_engine(bouncer.url(database) + "?pgbouncer=true")
    else:
        engine = make_engine(bouncer.url(database), pgbouncer=True)
    try:
        seen = run_on_another_server_connection(engine, bouncer, database, runs=8)
    finally:
        engine.dispose()

    assert seen[-1][0] != seen[0][0]  # the last run was on another server connection
    # The server's default is 'Etc/UTC': 'UTC' is the engine's SET, which pgbouncer tracks
    # for the client and repeats on every server connection it hands it.
    assert {zone for _, zone in seen} == {"UTC"}


def test_inmail_pgbouncer_setting_turns_off_prepared_statements(postgres_url: str) -> None:
    for settings in (
        Settings(database_url=postgres_url, pgbouncer=True),
        Settings(database_url=postgres_url, pg_prepare_threshold="none"),  # type: ignore[arg-type]
    ):
        runtime = build(settings)
        try:
            raw = runtime.deps.db.engine.raw_connection()
            assert raw.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
            raw.close()
        finally:
            runtime.close()
    runtime = build(Settings(database_url=postgres_url))
    try:
        raw = runtime.deps.db.engine.raw_connection()
        assert raw.driver_connection.prepare_threshold == 5  # type: ignore[union-attr]
        raw.close()
    finally:
        runtime.close()


def test_a_server_that_would_not_keep_commits_is_refused_at_the_first_connection(
    bouncer: Pgbouncer, database: str
) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" SET synchronous_commit = off'))
        engine = make_engine(bouncer.url(database), pgbouncer=True)
        try:
            with pytest.raises(UnsafeServerSettings, match="synchronous_commit is off"):
                engine.connect().close()
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" RESET synchronous_commit'))
        admin.dispose()


def test_spends_through_pgbouncer_land_once_each_across_server_connections(
    bouncer: Pgbouncer, database: str
) -> None:
    engine_url = bouncer.url(database) + "?pgbouncer=true"
    deps = Deps(Database(make_engine(engine_url, pool_size=2)), PlanVersionCache())
    try:
        member = new_member(deps, "premium_business", T0)
        start = balance(deps, member, T0)
        for n in range(12):  # more than psycopg's threshold: nothing may be prepared
            with psycopg.connect(bouncer.conninfo(database)) as holder:
                holder.execute("SELECT 1")  # holds a server connection: the next spend moves
                spend_credits(deps, member_id=member, cost=1, reference=f"r{n}", now=T0)
        assert balance(deps, member, T0) == start - 12
    finally:
        deps.db.dispose()
