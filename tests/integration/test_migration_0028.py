"""Migration 0028 drops the outbox's index by member on both engines, and goes down and up
again with the events kept and still read by member (the bounded scan, store/outbox.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from inmail.domain.events import Event
from inmail.store import outbox, schema
from inmail.store.db import Database
from tests.conftest import T0
from tests.migrations import ENGINES, database_at, downgrade


@pytest.fixture(params=ENGINES)
def at_0027(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0027") as db:
        yield db


def _indexes(db: Database) -> set[str]:
    return {ix["name"] for ix in inspect(db.engine).get_indexes("outbox_events") if ix["name"]}


def _members_events(db: Database, member_id: str) -> list[int]:
    with db.read() as conn:
        return [
            e.data["n"] for e in outbox.read_filtered(conn, None, 10, member_id=member_id).events
        ]


def test_the_outbox_loses_its_member_index_and_keeps_its_events(at_0027: Database) -> None:
    with at_0027.write() as conn:
        outbox.append(conn, [Event("test.happened", m, T0, {"n": n}) for n, m in enumerate("abab")])
    assert "ix_outbox_events_member_id" in _indexes(at_0027)
    schema.upgrade(at_0027.engine, "0028")
    assert "ix_outbox_events_member_id" not in _indexes(at_0027)
    assert _members_events(at_0027, "b") == [1, 3]
    downgrade(at_0027.engine, "0027")
    assert "ix_outbox_events_member_id" in _indexes(at_0027)
    assert _members_events(at_0027, "a") == [0, 2]
    schema.upgrade(at_0027.engine, "0028")
    assert "ix_outbox_events_member_id" not in _indexes(at_0027)
    assert _members_events(at_0027, "b") == [1, 3]
