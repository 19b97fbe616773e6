"""Migration 0014 (the inbox) on a database that already holds threads and notifications.

What came before counts as seen by whoever had seen it: the sender saw all of their
thread; the recipient saw what they opened, and an InMail never opened stays unread.
Nothing is archived and every notification is unread. It goes down and up again.
Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select

from inmail.domain.inbox import Box
from inmail.services import inbox, threads
from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.members import get_member
from inmail.store import schema
from inmail.store.db import Database, make_engine
from inmail.store.tables import messages, notifications
from inmail.store.tables import threads as thread_table
from tests.api.served import own_postgres_database
from tests.conftest import T0
from tests.helpers import days, new_member

NOW = T0 + days(3)


@dataclass(frozen=True, slots=True)
class Old:
    """A database at 0013 (before the inbox's columns) with the catalog and two members."""

    deps: Deps
    ada: str
    bob: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Old]:
    """The catalog and members are made by today's app at the newest migration, then the
    schema goes down to 0013: today's services write tables later migrations changed
    (packs' versions, members' time zone), which 0013's schema does not have."""
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
        ada, bob = (new_member(deps, "premium_business", T0) for _ in range(2))
        config = schema.alembic_config(db.engine)
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0013")
        yield Old(deps, ada, bob)


def _thread(thread_id: str, a: str, b: str, opened: datetime | None) -> dict[str, Any]:
    """A thread row as the app of 0013 wrote it (none of 0014's columns)."""
    return {
        "id": thread_id,
        "kind": "inmail",
        "initiator_id": a,
        "recipient_id": b,
        # One InMail of a pair may await a response: the opened one was declined.
        "status": "declined" if opened else "awaiting_response",
        "created_at": T0,
        "last_message_at": T0,
        "last_inmail_at": T0,
        "followups_sent": 0,
        "opened_at": opened,
    }


def _message(message_id: str, thread_id: str, sender: str, subject: str | None) -> dict[str, Any]:
    return {
        "id": message_id,
        "thread_id": thread_id,
        "sender_id": sender,
        "kind": "inmail" if subject else "reply",
        "subject": subject,
        "body": f"Body of {message_id}",
        "cost_credits": 1 if subject else 0,
        "created_at": T0,
    }


def _old_data(old: Old) -> tuple[str, str]:
    """Ada wrote Bob twice: one InMail he opened, one he never did; one notification."""
    deps, ada, bob = old.deps, old.ada, old.bob
    with deps.db.write() as conn:
        conn.execute(
            insert(thread_table),
            [_thread("th_opened", ada, bob, T0), _thread("th_unopened", ada, bob, None)],
        )
        conn.execute(
            insert(messages),
            [
                _message("msg_1", "th_opened", ada, "Opened one"),
                _message("msg_2", "th_unopened", ada, "Never opened"),
            ],
        )
        conn.execute(
            insert(notifications).values(
                member_id=bob,
                at=T0,
                kind="new_inmail",
                text="New InMail: Never opened",
                reference="thread:th_unopened",
            )
        )
    return ada, bob


def test_what_was_seen_before_stays_seen_and_an_unopened_inmail_is_unread(
    at_0013: Old,
) -> None:
    deps = at_0013.deps
    ada, bob = _old_data(at_0013)

    schema.upgrade(deps.db.engine)

    shown = threads.list_box(deps, member_id=bob, box=Box.INBOX)
    assert {(i.thread.id, i.subject, i.unread, i.archived) for i in shown} == {
        ("th_opened", "Opened one", False, False),
        ("th_unopened", "Never opened", True, False),
    }
    sent = threads.list_box(deps, member_id=ada, box=Box.SENT)
    assert {(i.thread.id, i.unread) for i in sent} == {("th_opened", False), ("th_unopened", False)}
    assert threads.unread_count(deps, member_id=bob) == 1
    notices = inbox.list_notifications(deps, member_id=bob, now=NOW)
    old = [n for n in notices if n.reference == "thread:th_unopened"]
    name = get_member(deps, ada, now=NOW).name
    assert [(n.read_at, n.text) for n in old] == [(None, f"New InMail from {name}: Never opened")]


def test_the_migration_goes_down_and_up_again(at_0013: Old) -> None:
    deps = at_0013.deps
    _, bob = _old_data(at_0013)
    schema.upgrade(deps.db.engine)
    threads.set_archived(deps, member_id=bob, thread_id="th_opened", archived=True)
    config = schema.alembic_config(deps.db.engine)
    with deps.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0013")
    columns = {c["name"] for c in inspect(deps.db.engine).get_columns("threads")}
    assert not columns & {"recipient_archived_seq", "recipient_seen_seq", "decline_reason"}
    assert "read_at" not in {
        c["name"] for c in inspect(deps.db.engine).get_columns("notifications")
    }

    schema.upgrade(deps.db.engine)

    with deps.db.read() as conn:
        kept = conn.execute(select(thread_table.c.id).order_by(thread_table.c.id)).scalars()
        assert list(kept) == ["th_opened", "th_unopened"]
    assert {i.thread.id for i in threads.list_box(deps, member_id=bob, box=Box.INBOX)} == {
        "th_opened",
        "th_unopened",
    }
    indexes = {i["name"]: i for i in inspect(deps.db.engine).get_indexes("threads")}
    assert indexes["uq_threads_awaiting_inmail"]["unique"]  # the one-awaiting rule still holds
