"""Reads that may be stale go to the read replica; nothing that decides a charge does
(docs/rules.md, "Reads from the replica"; INMAIL_READ_DATABASE_URL).

Against a real streaming replica: a private primary made with initdb and its copy made
with pg_basebackup, started on other ports (tests/replica.py). With the replica's replay
paused, it lags for as long as the test wants: what the primary wrote since is missing
from every stale read (feed, search, mutual connections, statement, stats), while a
spend, decided on the primary, sees it. After replay resumes, the stale reads catch up.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from inmail.bootstrap import build
from inmail.config import Settings
from inmail.domain.errors import InsufficientCredits
from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import spend_credits, update_overage_settings
from inmail.services.inbox import stats
from inmail.services.inmail import send_inmail
from inmail.services.introductions import mutual_connections
from inmail.services.network import connect
from inmail.services.posts import create_post, feed
from inmail.services.search import search_records
from inmail.services.statement import statement_page
from inmail.services.statements import operator_totals
from inmail.store import schema
from inmail.store.db import Database, make_engine
from tests.conftest import IN_CI, T0
from tests.helpers import balance, new_member
from tests.replica import StreamingPair, unavailable

pytestmark = pytest.mark.postgres

CREDITS = 25  # premium_business at creation


@pytest.fixture(scope="module")
def pair() -> Iterator[StreamingPair]:
    problem = unavailable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true needs a streaming replica: {problem}")
        pytest.skip(f"read replica tests skipped: {problem}")
    with StreamingPair() as started:
        engine = make_engine(started.primary_url("postgres"))
        schema.upgrade(engine)
        seed_catalog(Deps(Database(engine), PlanVersionCache()), now=T0)
        engine.dispose()
        started.wait_for_replay()
        yield started


@pytest.fixture
def deps(pair: StreamingPair) -> Iterator[Deps]:
    """What bootstrap builds from INMAIL_DATABASE_URL and INMAIL_READ_DATABASE_URL."""
    runtime = build(
        Settings(
            database_url=pair.primary_url("postgres"),
            read_database_url=pair.replica_url("postgres"),
        )
    )
    yield runtime.deps
    runtime.close()


def test_bootstrap_gives_stale_reads_the_replica_and_everything_else_the_primary(
    pair: StreamingPair, deps: Deps
) -> None:
    assert make_url(str(deps.db.read_engine.url)).port == pair.replica_port
    assert make_url(str(deps.db.engine.url)).port == pair.primary_port
    with deps.db.read_stale() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    with deps.db.read() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False


def test_without_a_replica_stale_reads_use_the_primary(pair: StreamingPair) -> None:
    runtime = build(Settings(database_url=pair.primary_url("postgres")))
    try:
        assert runtime.deps.db.read_engine is runtime.deps.db.engine
    finally:
        runtime.close()


def test_a_lagging_replica_shows_stale_reads_but_never_decides_a_charge(
    pair: StreamingPair, deps: Deps
) -> None:
    me = new_member(deps, "premium_business", T0)
    update_overage_settings(deps, member_id=me, auto_overage=False, limit_minor=None, now=T0)
    friend = new_member(deps, "premium_business", T0)
    other = new_member(deps, "premium_business", T0)
    connect(deps, a=me, b=friend, now=T0)
    create_post(deps, author_id=friend, body="before the lag", now=T0)
    pair.wait_for_replay()
    members_before = operator_totals(deps, now=T0).members
    sent_before = stats(deps, member_id=me, now=T0)

    pair.pause_replay()
    try:
        create_post(deps, author_id=friend, body="during the lag", now=T0)
        connect(deps, a=friend, b=other, now=T0)
        latecomer = new_member(deps, "premium_business", T0, handle="latecomer")
        send_inmail(deps, sender_id=me, to=latecomer, subject="Hi", body="Hello", now=T0)
        spend_credits(deps, member_id=me, cost=CREDITS - 1, reference="all-of-it", now=T0)

        # Decided on the primary: the credits spent during the lag are gone.
        with pytest.raises(InsufficientCredits):
            spend_credits(deps, member_id=me, cost=1, reference="one-more", now=T0)
        assert balance(deps, me, T0) == 0

        # Read from the replica: none of what the primary wrote during the lag.
        assert [p.body for _, p in feed(deps, member_id=me)] == ["before the lag"]
        assert mutual_connections(deps, viewer=me, other=other) == []
        assert search_records(deps, text="latecomer", limit=10) == []
        assert "all-of-it" not in [
            s.line.reference for s in statement_page(deps, member_id=me, now=T0).lines
        ]
        assert operator_totals(deps, now=T0).members == members_before
        assert stats(deps, member_id=me, now=T0) == sent_before
    finally:
        pair.resume_replay()

    pair.wait_for_replay()
    assert [p.body for _, p in feed(deps, member_id=me)] == ["during the lag", "before the lag"]
    assert mutual_connections(deps, viewer=me, other=other) == [friend]
    assert [r.id for r in search_records(deps, text="latecomer", limit=10)] == [latecomer]
    assert "all-of-it" in [
        s.line.reference for s in statement_page(deps, member_id=me, now=T0).lines
    ]
    assert operator_totals(deps, now=T0).members == members_before + 1
    assert stats(deps, member_id=me, now=T0).inmails_sent == sent_before.inmails_sent + 1


def test_a_sqlite_read_replica_is_refused_at_start_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="INMAIL_READ_DATABASE_URL must be a PostgreSQL"):
        Settings(database_url="sqlite:///inmail.db", read_database_url="sqlite:///copy.db")
