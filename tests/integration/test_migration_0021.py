"""Migration 0021 makes the seat usage index partial (seats' spends only) on both engines,
and goes down to the full index and up again; the seat usage query still uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from inmail.store import schema
from inmail.store.db import Database
from tests.migrations import ENGINES, database_at, downgrade

INDEX = "ix_spends_seat_member_id_at"


@pytest.fixture(params=ENGINES)
def at_0020(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0020") as db:
        yield db


def _where(db: Database) -> Any:
    """The index's partial WHERE clause as the engine reports it (None: a full index)."""
    (found,) = (ix for ix in inspect(db.engine).get_indexes("spends") if ix["name"] == INDEX)
    options: dict[str, Any] = found.get("dialect_options", {})
    return options.get(f"{db.engine.dialect.name}_where")


def test_the_seat_index_becomes_partial_and_goes_back_down(at_0020: Database) -> None:
    assert _where(at_0020) is None
    schema.upgrade(at_0020.engine, "0021")
    assert "seat_member_id IS NOT NULL" in str(_where(at_0020))
    downgrade(at_0020.engine, "0020")
    assert _where(at_0020) is None
    schema.upgrade(at_0020.engine, "0021")
    assert "seat_member_id IS NOT NULL" in str(_where(at_0020))
