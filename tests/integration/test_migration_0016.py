"""Migration 0016 on a catalog loaded before packs had versions: each pack becomes version 1.

The packs on sale keep their terms, dated with the catalog's plans (both were loaded by
`inmail db upgrade`), and the next edit of a pack is its version 2. Run on SQLite and on
PostgreSQL; the migration also goes down and up again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select

from inmail.domain.money import Money
from inmail.domain.plans import DEFAULT_PACKS, DEFAULT_PLANS
from inmail.services import catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.store import catalog as catalog_store
from inmail.store import schema
from inmail.store.tables import pack_versions, packs
from tests.conftest import T0
from tests.helpers import days
from tests.migrations import ENGINES, database_at, downgrade


@pytest.fixture(params=ENGINES)
def at_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deps]:
    """A database migrated to 0013 with the default catalog as the app of then loaded it."""
    with database_at(request, tmp_path, "0013") as db:
        with db.write() as conn:
            for plan in DEFAULT_PLANS:
                catalog_store.insert_plan(conn, plan, T0)
            conn.execute(
                insert(packs),
                [
                    {
                        "code": p.code,
                        "credits": p.credits,
                        "price_minor": p.price.amount_minor,
                        "currency": p.price.currency,
                    }
                    for p in DEFAULT_PACKS
                ],
            )
        yield Deps(db, PlanVersionCache())


def test_every_pack_becomes_its_version_1_dated_with_the_catalog(at_0013: Deps) -> None:
    schema.upgrade(at_0013.db.engine, "head")
    with at_0013.db.read() as conn:
        rows = conn.execute(select(pack_versions).order_by(pack_versions.c.credits)).all()
    assert [(r.code, r.version, r.credits, r.price_minor, r.created_at) for r in rows] == [
        (p.code, 1, p.credits, p.price.amount_minor, T0) for p in DEFAULT_PACKS
    ]
    edit = catalog.update_pack(at_0013, code="pack_5", price=Money(4000, "USD"), now=T0 + days(1))
    assert (edit.version, edit.proposed.price.amount_minor) == (2, 4000)
    assert {p.code: p.price.amount_minor for p in catalog.list_packs(at_0013)}["pack_5"] == 4000


def test_the_migration_goes_down_and_up_again(at_0013: Deps) -> None:
    engine = at_0013.db.engine
    schema.upgrade(engine, "head")
    downgrade(engine, "0013")
    assert "pack_versions" not in inspect(engine).get_table_names()
    schema.upgrade(engine, "head")
    assert "pack_versions" in inspect(engine).get_table_names()
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("ledger_entries")}
    assert "ix_ledger_entries_at" in indexes
