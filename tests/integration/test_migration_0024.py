"""Migration 0024 drops the outbox's (tx, seq) index on SQLite, where ``tx`` is always 0, and
keeps it on PostgreSQL; it goes down and up again. SQLite's readers then page the outbox in
rowid order, without sorting it (tests/integration/test_outbox.py reads it on both engines)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect

from inmail.domain.events import Event
from inmail.store import outbox, schema
from inmail.store.db import Database
from tests.migrations import ENGINES, database_at, downgrade

INDEX = "ix_outbox_events_tx"
AT = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
def at_0023(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0023") as db:
        yield db


def _has_index(db: Database) -> bool:
    return INDEX in {ix["name"] for ix in inspect(db.engine).get_indexes("outbox_events")}


def test_sqlite_drops_the_index_and_postgresql_keeps_it(at_0023: Database) -> None:
    on_sqlite = at_0023.engine.dialect.name == "sqlite"
    assert _has_index(at_0023)
    schema.upgrade(at_0023.engine, "0024")
    assert _has_index(at_0023) is not on_sqlite
    downgrade(at_0023.engine, "0023")
    assert _has_index(at_0023)
    schema.upgrade(at_0023.engine, "0024")
    assert _has_index(at_0023) is not on_sqlite


def _events(n: int) -> list[Event]:
    return [Event("test.happened", "m1", AT, {"n": i}, id=f"evt_m24_{i}") for i in range(n)]


@pytest.fixture(params=["sqlite"])
def sqlite_at_0024(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0024") as db:
        yield db


def test_sqlite_reads_after_a_place_from_the_rowid_without_sorting(
    sqlite_at_0024: Database,
) -> None:
    engine = sqlite_at_0024.engine
    with engine.begin() as conn:
        outbox.append(conn, _events(50))
    seen: list[tuple[str, Any]] = []

    def keep(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "FROM outbox_events" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with engine.connect() as conn:
            (after,) = outbox.read_after(conn, None, 1)
            page = outbox.read_after(conn, after.position, 10)
            ((statement, parameters),) = seen[1:]
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert [e.data["n"] for e in page] == list(range(1, 11))
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INTEGER PRIMARY KEY (rowid>?)" in details
    assert "TEMP B-TREE" not in details  # no sort: the rowid is the order
