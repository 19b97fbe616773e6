"""Migration 0018 (webhook endpoints and deliveries) goes down to 0017 and up again on both
engines, and an outbox written before it is not replayed to an endpoint made after it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from inmail.domain.events import Event
from inmail.services import webhooks
from inmail.services.context import Deps, PlanVersionCache
from inmail.store import outbox, schema
from tests.conftest import T0
from tests.migrations import ENGINES, database_at, downgrade

TABLES = {"webhook_endpoints", "webhook_deliveries"}


@pytest.fixture(params=ENGINES)
def at_0017(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deps]:
    """A database migrated to 0017 with one event in its outbox."""
    with database_at(request, tmp_path, "0017") as db:
        with db.write() as conn:
            outbox.append(conn, [Event("charge.created", "m_1", T0, {"n": 1})])
        yield Deps(db, PlanVersionCache())


def test_the_migration_goes_down_and_up_again(at_0017: Deps) -> None:
    engine = at_0017.db.engine
    assert not TABLES & set(inspect(engine).get_table_names())
    schema.upgrade(engine, "head")
    assert set(inspect(engine).get_table_names()) >= TABLES
    downgrade(engine, "0017")
    assert not TABLES & set(inspect(engine).get_table_names())
    schema.upgrade(engine, "head")
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("webhook_deliveries")}
    assert {"ix_webhook_deliveries_due", "ix_webhook_deliveries_group"} <= indexes


def test_an_endpoint_made_after_the_upgrade_starts_after_the_events_already_there(
    at_0017: Deps,
) -> None:
    schema.upgrade(at_0017.db.engine, "head")
    # On PostgreSQL an event shows once every older transaction on the server has ended
    # (store/outbox.py); until then a new endpoint may still get it (docs/rules.md).
    for _ in range(600):
        with at_0017.db.read() as conn:
            if outbox.read_after(conn, None, 10):
                break
        time.sleep(0.05)
    made = webhooks.create_endpoint(
        at_0017, url="http://127.0.0.1:9/h", events=["*"], secret=None, now=T0
    )
    assert webhooks.dispatch(at_0017, now=T0) == 0
    assert webhooks.list_deliveries(at_0017, made.id) == []
