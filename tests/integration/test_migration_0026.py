"""Migration 0026 makes ``ix_messages_template_id`` partial (messages with a template only)
on both engines, and goes down and up again. A lookup by template still uses it: both
planners prove that ``template_id = value`` implies ``template_id IS NOT NULL``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inmail.store import schema
from inmail.store.db import Database
from tests.migrations import ENGINES, database_at, downgrade


@pytest.fixture(params=ENGINES)
def at_0025(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0025") as db:
        yield db


def _definition(db: Database) -> str:
    sqlite = db.engine.dialect.name == "sqlite"
    catalog = (
        "SELECT sql FROM sqlite_master WHERE name = 'ix_messages_template_id'"
        if sqlite
        else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_template_id'"
    )
    with db.engine.connect() as conn:
        (definition,) = conn.exec_driver_sql(catalog).one()
    return str(definition).replace("(", "").replace(")", "").upper()


def _lookup_plan(db: Database) -> str:
    """The plan of a lookup by template (PostgreSQL told to avoid sequential scans: its
    tables are empty here, where it would rightly read the table instead)."""
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT seq FROM messages WHERE template_id = 'tpl_1'"
            ).all()
            return " ".join(str(row[-1]) for row in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql(
            "EXPLAIN SELECT seq FROM messages WHERE template_id = 'tpl_1'"
        ).all()
        return " ".join(str(row[0]) for row in rows)


def test_the_template_index_holds_only_messages_with_a_template(at_0025: Database) -> None:
    assert "WHERE" not in _definition(at_0025)
    schema.upgrade(at_0025.engine, "0026")
    assert _definition(at_0025).endswith("WHERE TEMPLATE_ID IS NOT NULL")
    assert "ix_messages_template_id" in _lookup_plan(at_0025)
    downgrade(at_0025.engine, "0025")
    assert "WHERE" not in _definition(at_0025)
    schema.upgrade(at_0025.engine, "0026")
    assert _definition(at_0025).endswith("WHERE TEMPLATE_ID IS NOT NULL")
