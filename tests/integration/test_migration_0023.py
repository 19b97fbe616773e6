"""Migration 0023 adds the spend's PL/pgSQL functions on PostgreSQL (and nothing on SQLite),
and goes down and up again on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from inmail.store import schema
from inmail.store.db import Database
from tests.migrations import ENGINES, database_at, downgrade

FUNCTIONS = {"inmail_spend_lock", "inmail_spend_one_lot"}


@pytest.fixture(params=ENGINES)
def at_0022(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0022") as db:
        yield db


def _functions(db: Database) -> set[str]:
    if db.is_sqlite:
        return set()
    with db.engine.connect() as conn:
        found = conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'inmail_%'"))
        return set(found.scalars())


def test_the_functions_come_and_go_with_the_migration(at_0022: Database) -> None:
    tables = set(inspect(at_0022.engine).get_table_names())
    assert _functions(at_0022) == set()
    schema.upgrade(at_0022.engine, "0023")
    assert _functions(at_0022) == (set() if at_0022.is_sqlite else FUNCTIONS)
    downgrade(at_0022.engine, "0022")
    assert _functions(at_0022) == set()
    schema.upgrade(at_0022.engine, "0023")
    assert _functions(at_0022) == (set() if at_0022.is_sqlite else FUNCTIONS)
    assert set(inspect(at_0022.engine).get_table_names()) == tables  # functions only
