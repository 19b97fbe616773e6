"""Migration 0020 (sender reputation: spam reports, suspensions, standings) goes down to 0018
and up again on both engines; it creates tables only and moves no data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from inmail.store import schema
from inmail.store.db import Database
from tests.migrations import ENGINES, database_at, downgrade

TABLES = {"spam_reports", "suspensions", "sender_standings"}


@pytest.fixture(params=ENGINES)
def at_0018(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0018") as db:
        yield db


def test_the_migration_goes_down_and_up_again(at_0018: Database) -> None:
    engine = at_0018.engine
    assert not TABLES & set(inspect(engine).get_table_names())
    schema.upgrade(engine, "0020")
    assert set(inspect(engine).get_table_names()) >= TABLES
    downgrade(engine, "0018")
    assert not TABLES & set(inspect(engine).get_table_names())
    schema.upgrade(engine, "0020")
    assert {ix["name"] for ix in inspect(engine).get_indexes("spam_reports")} >= {
        "ix_spam_reports_sender"
    }
