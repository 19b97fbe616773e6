"""Migration 0008 on a database that already holds several awaiting InMails for one pair.

Before 0008 nothing stopped a sender from writing a second InMail to someone who had not
answered the first. Those threads stay as they were (statuses are what members see):
the newest of a pair keeps ``duplicate_rank`` 0, the older ones get 1, 2, ...; the unique
index then holds, and from then on the pair gets no new InMail until every one of its
awaiting threads is answered or declined. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, insert, inspect, select

from inmail.domain.errors import InmailAlreadyAwaitingResponse
from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.inmail import decline, post_in_thread, send_inmail
from inmail.store import schema
from inmail.store.db import Database, make_engine
from inmail.store.messaging import ThreadRecord, thread_row
from inmail.store.tables import threads
from tests.api.served import own_postgres_database
from tests.conftest import T0
from tests.helpers import days, new_member

NOW = T0 + days(20)


@dataclass(frozen=True, slots=True)
class Old:
    """A database at 0007 (the schema before the rule) with the catalog and three members."""

    deps: Deps
    a: str
    b: str
    c: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Old]:
    """The catalog and members are made by today's app at the newest migration, then the
    schema goes down to 0007: today's services write tables later migrations made (the
    search index, packs' versions, members' time zone), which 0007's schema does not have."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:  # a database of its own: the session's is at the newest migration
            url = stack.enter_context(
                own_postgres_database(request.getfixturevalue("postgres_url"))
            )
        db = Database(make_engine(url))
        stack.callback(db.dispose)
        schema.upgrade(db.engine)
        deps = Deps(db, PlanVersionCache())
        seed_catalog(deps, now=T0)
        a, b, c = (new_member(deps, "premium_business", T0) for _ in range(3))
        config = schema.alembic_config(db.engine)
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0007")
        yield Old(deps, a, b, c)


def _thread(
    thread_id: str, a: str, b: str, at: datetime, status: str = "awaiting_response"
) -> dict[str, object]:
    record = ThreadRecord(thread_id, "inmail", a, b, status, at, at, at, 0, None, None)
    return thread_row(record)


def _old_data(old: Old) -> tuple[str, str]:
    """Three awaiting InMails a -> b (two at the same moment), one a -> c, and others."""
    deps, a, b, c = old.deps, old.a, old.b, old.c
    rows = [
        _thread("th_old1", a, b, T0 + days(1)),
        _thread("th_old2", a, b, T0 + days(2)),
        _thread("th_old3", a, b, T0 + days(2)),  # a tie on time: the id decides
        _thread("th_ac", a, c, T0 + days(1)),
        _thread("th_answered", a, b, T0 + days(3), "answered"),
        _thread("th_ba1", b, a, T0 + days(1)),  # the other way round is another pair
    ]
    # Only the columns 0007 had: today's row holds later migrations' columns too.
    old_columns = {c["name"] for c in inspect(deps.db.engine).get_columns("threads")}
    rows = [{k: v for k, v in row.items() if k in old_columns} for row in rows]
    with deps.db.write() as conn:
        conn.execute(insert(threads), rows)
    return a, b


def _upgrade(engine: Engine) -> None:
    schema.upgrade(engine)


def _ranks(deps: Deps) -> dict[str, tuple[str, int]]:
    query = select(threads.c.id, threads.c.status, threads.c.duplicate_rank)
    with deps.db.read() as conn:
        return {row.id: (row.status, row.duplicate_rank) for row in conn.execute(query)}


def test_older_duplicates_keep_their_status_and_the_index_holds_over_them(at_0007: Old) -> None:
    deps = at_0007.deps
    _old_data(at_0007)

    _upgrade(deps.db.engine)

    assert _ranks(deps) == {
        "th_old3": ("awaiting_response", 0),  # the newest of a -> b
        "th_old2": ("awaiting_response", 1),
        "th_old1": ("awaiting_response", 2),
        "th_ac": ("awaiting_response", 0),
        "th_answered": ("answered", 0),
        "th_ba1": ("awaiting_response", 0),
    }
    indexes = {i["name"]: i for i in inspect(deps.db.engine).get_indexes("threads")}
    assert indexes["uq_threads_awaiting_inmail"]["unique"]


def test_after_the_migration_a_pair_waits_until_every_old_inmail_is_answered(
    at_0007: Old,
) -> None:
    deps = at_0007.deps
    a, b = _old_data(at_0007)
    _upgrade(deps.db.engine)

    def send() -> str:
        sent = send_inmail(deps, sender_id=a, to=b, subject="Hi", body="Again?", now=NOW)
        return sent.thread_id

    for answered in ("th_old3", "th_old2"):
        with pytest.raises(InmailAlreadyAwaitingResponse) as caught:
            send()
        assert caught.value.thread_id == answered  # the newest one still waiting
        post_in_thread(deps, member_id=b, thread_id=answered, body="Thanks", now=NOW)
    with pytest.raises(InmailAlreadyAwaitingResponse) as caught:
        send()
    assert caught.value.thread_id == "th_old1"
    follow_up = post_in_thread(deps, member_id=a, thread_id="th_old1", body="News?", now=NOW)
    assert (follow_up.kind, follow_up.cost_credits) == ("followup", 1)  # older ones still work
    decline(deps, member_id=b, thread_id="th_old1", now=NOW)

    new_thread = send()

    assert _ranks(deps)[new_thread] == ("awaiting_response", 0)
    with pytest.raises(InmailAlreadyAwaitingResponse):
        send()


def test_the_migration_goes_down_and_up_again_over_duplicates(at_0007: Old) -> None:
    deps = at_0007.deps
    _old_data(at_0007)
    _upgrade(deps.db.engine)
    config = schema.alembic_config(deps.db.engine)
    with deps.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    assert "duplicate_rank" not in {
        c["name"] for c in inspect(deps.db.engine).get_columns("threads")
    }

    _upgrade(deps.db.engine)

    assert _ranks(deps)["th_old1"] == ("awaiting_response", 2)
