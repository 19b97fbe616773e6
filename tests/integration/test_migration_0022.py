"""Migration 0022 adds targeting's two indexes on both engines (the InMails received carry
their outcome on PostgreSQL, INCLUDE), and goes down without them and up again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from inmail.store import schema
from inmail.store.db import Database
from tests.migrations import ENGINES, database_at, downgrade

ADDED = {"posts": "ix_posts_author_created_at", "threads": "ix_threads_inmails_to"}


@pytest.fixture(params=ENGINES)
def at_0021(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0021") as db:
        yield db


def _indexes(db: Database) -> set[str]:
    found = inspect(db.engine)
    return {ix["name"] or "" for table in ADDED for ix in found.get_indexes(table)}


def test_targetings_indexes_come_and_go(at_0021: Database) -> None:
    assert not set(ADDED.values()) & _indexes(at_0021)
    schema.upgrade(at_0021.engine, "0022")
    assert set(ADDED.values()) <= _indexes(at_0021)
    downgrade(at_0021.engine, "0021")
    assert not set(ADDED.values()) & _indexes(at_0021)
    schema.upgrade(at_0021.engine, "0022")
    assert set(ADDED.values()) <= _indexes(at_0021)


def test_the_inmails_received_carry_their_outcome_on_postgresql(at_0021: Database) -> None:
    schema.upgrade(at_0021.engine, "0022")
    if at_0021.engine.dialect.name != "postgresql":
        return
    with at_0021.engine.connect() as conn:
        ddl = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_threads_inmails_to'")
        ).scalar_one()
    assert "INCLUDE (status, created_at, responded_at)" in ddl
    assert "WHERE ((kind)::text = 'inmail'::text)" in ddl
