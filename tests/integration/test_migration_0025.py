"""Migration 0025 replaces ``ix_lots_member_id`` with ``ix_lots_spending_order`` on both
engines, and goes down and up again. The credits overview then reads a member's first lots
in spending order from that index instead of sorting all of them: on SQLite the query plan
uses it for every part and has no sort; on PostgreSQL the plan can do without a Sort node.
(What the overview lists is tested in tests/integration/test_ledger_model.py and
tests/api/test_credits_api.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import buy_pack
from inmail.services.members import create_member
from inmail.services.statements import LOTS_SHOWN, get_credits
from inmail.store import schema
from inmail.store.db import Database
from tests.migrations import ENGINES, database_at, downgrade

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
def at_0024(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0024") as db:
        yield db


def _indexes(db: Database) -> set[str]:
    """Read from the catalog: SQLAlchemy's SQLite reflection skips expression indexes."""
    sqlite = db.engine.dialect.name == "sqlite"
    catalog = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'lots'"
        if sqlite
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'lots'"
    )
    with db.engine.connect() as conn:
        return {row[0] for row in conn.exec_driver_sql(catalog)}


def test_the_spending_order_index_replaces_the_member_index(at_0024: Database) -> None:
    assert {"ix_lots_member_id"} <= _indexes(at_0024)
    schema.upgrade(at_0024.engine, "0025")
    assert "ix_lots_spending_order" in _indexes(at_0024)
    assert "ix_lots_member_id" not in _indexes(at_0024)
    downgrade(at_0024.engine, "0024")
    assert "ix_lots_member_id" in _indexes(at_0024)
    assert "ix_lots_spending_order" not in _indexes(at_0024)
    schema.upgrade(at_0024.engine, "0025")
    assert "ix_lots_spending_order" in _indexes(at_0024)


def _overview_plan(db: Database, packs: int) -> tuple[str, int, int]:
    """Upgrade, give a member ``packs`` packs, read their credits; the overview statement's
    query plan (as text), how many lots it listed and its count."""
    schema.upgrade(db.engine, "0025")
    deps = Deps(db, PlanVersionCache())
    seed_catalog(deps, now=NOW)
    member = create_member(deps, handle="lots", name="Lots", plan="premium_business", now=NOW)
    for i in range(packs):
        buy_pack(deps, member_id=member.id, pack="pack_1", now=NOW + timedelta(hours=i))
    seen: list[tuple[str, Any]] = []

    def keep(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "UNION ALL" in statement and "FROM lots" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        view = get_credits(deps, member_id=member.id, now=NOW + timedelta(days=1))
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    ((statement, parameters),) = seen
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plan = "\n".join(str(row[-1]) for row in rows)
        else:  # few rows: make the planner show what the index allows, not a small table's scan
            for scan in ("seqscan", "bitmapscan", "sort"):
                conn.exec_driver_sql(f"SET enable_{scan} = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            plan = "\n".join(str(row[0]) for row in rows)
    return plan, len(view.lots), view.lots_total


def test_the_overview_reads_its_first_lots_in_index_order(at_0024: Database) -> None:
    plan, listed, total = _overview_plan(at_0024, packs=LOTS_SHOWN + 5)
    assert (listed, total) == (1 + LOTS_SHOWN, 1 + LOTS_SHOWN + 5)  # the plan lot, 10 packs
    if at_0024.engine.dialect.name == "sqlite":
        searches = [line for line in plan.splitlines() if "SEARCH lots" in line]
        assert len(searches) == 3  # the plan lots, the first others, the count
        assert all("ix_lots_spending_order" in line for line in searches)
        assert "TEMP B-TREE" not in plan
    else:
        assert "ix_lots_spending_order" in plan
        assert "Sort" not in plan
