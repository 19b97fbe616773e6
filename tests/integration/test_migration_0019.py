"""Migration 0019 (teams; the credit tables' holder keys dropped) keeps every credit written
before it, on both engines: SQLite rebuilds the tables, PostgreSQL drops the keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, update
from sqlalchemy.exc import IntegrityError

from inmail.services.audit import run_audit
from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import spend_credits
from inmail.services.members import create_member
from inmail.services.teams import create_team
from inmail.store import schema
from inmail.store.tables import accounts, ledger_entries, lots
from tests.conftest import T0
from tests.helpers import balance, days, ledger
from tests.migrations import ENGINES, database_at


@pytest.fixture(params=ENGINES)
def at_0018(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Deps, str]]:
    """A database at 0018 with a member holding 5 credits in one lot (and its ledger line)."""
    with database_at(request, tmp_path, "0018") as db:
        deps = Deps(db, PlanVersionCache())
        seed_catalog(deps, now=T0)
        member = create_member(deps, handle="old", name="Old", plan="basic", now=T0).id
        with db.write() as conn:  # the columns 0018 has: no seat yet
            lot = conn.execute(
                lots.insert()
                .values(
                    member_id=member,
                    source="adjustment",
                    granted=5,
                    remaining=5,
                    created_at=T0,
                    expires_at=None,
                )
                .returning(lots.c.id)
            ).scalar_one()
            conn.execute(
                ledger_entries.insert().values(
                    member_id=member,
                    lot_id=lot,
                    kind="adjustment",
                    amount=5,
                    balance_after=5,
                    at=T0,
                    reference="adjustment:before 0019",
                )
            )
            conn.execute(update(accounts).where(accounts.c.member_id == member).values(balance=5))
        yield deps, member


def test_credits_written_before_the_upgrade_are_all_there_after_it(
    at_0018: tuple[Deps, str],
) -> None:
    deps, member = at_0018
    schema.upgrade(deps.db.engine, "head")
    assert balance(deps, member, T0) == 5
    assert [line.amount for line in ledger(deps, member, T0)] == [5]
    keys = {k["name"] for k in inspect(deps.db.engine).get_foreign_keys("lots")}
    assert "fk_lots_member_id_members" not in keys
    entry_keys = {k["name"] for k in inspect(deps.db.engine).get_foreign_keys("ledger_entries")}
    assert "fk_ledger_entries_lot_id_lots" in entry_keys


def test_a_ledger_line_still_needs_its_lot_and_a_team_can_hold_an_account(
    at_0018: tuple[Deps, str],
) -> None:
    deps, member = at_0018
    schema.upgrade(deps.db.engine, "head")
    with pytest.raises(IntegrityError), deps.db.write() as conn:
        conn.execute(
            ledger_entries.insert().values(
                member_id=member,
                lot_id=999_999,
                kind="adjustment",
                amount=1,
                balance_after=6,
                at=T0,
                reference="adjustment:no lot",
            )
        )
    team = create_team(deps, name="After", plan="recruiter", seats=2, now=T0 + days(1))
    assert balance(deps, team.id, T0 + days(1)) == 100
    with pytest.raises(Exception, match="does not include InMail"):
        spend_credits(deps, member_id=member, cost=1, reference="inmail:x", now=T0 + days(1))
    assert run_audit(deps) == []
