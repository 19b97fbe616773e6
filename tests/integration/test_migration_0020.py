"""Migration 0020 (sender reputation: spam reports, suspensions, standings) goes down to 0018
and up again on both engines; it creates tables only and moves no data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from inmail.store import schema
from inmail.store.db import Database, make_engine
from tests.api.served import own_postgres_database

TABLES = {"spam_reports", "suspensions", "sender_standings"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0018(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:  # a database of its own: the session's is at the newest migration
            url = stack.enter_context(
                own_postgres_database(request.getfixturevalue("postgres_url"))
            )
        db = Database(make_engine(url))
        stack.callback(db.dispose)
        schema.upgrade(db.engine, "0018")
        yield db


def test_the_migration_goes_down_and_up_again(at_0018: Database) -> None:
    engine = at_0018.engine
    assert not TABLES & set(inspect(engine).get_table_names())
    schema.upgrade(engine, "0020")
    assert set(inspect(engine).get_table_names()) >= TABLES
    config = schema.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0018")
    assert not TABLES & set(inspect(engine).get_table_names())
    schema.upgrade(engine, "0020")
    assert {ix["name"] for ix in inspect(engine).get_indexes("spam_reports")} >= {
        "ix_spam_reports_sender"
    }
