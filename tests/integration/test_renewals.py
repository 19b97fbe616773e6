"""Renewal on both engines: rollover, cap, forfeits, fees, month-end anchors, catch-up."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inmail.domain.money import Money
from inmail.services.catalog import update_plan
from inmail.services.context import Deps
from inmail.services.credits import spend_credits
from inmail.services.statements import get_credits
from inmail.services.subscriptions import change_plan
from tests.conftest import T0, WITH_PGBOUNCER, database_url
from tests.helpers import assert_audit_clean, charge_kinds, days, ledger, months_after, new_member


@pytest.fixture(params=WITH_PGBOUNCER)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Also through pgbouncer in transaction pooling mode (docs/rules.md)."""
    return database_url(request, tmp_path)


def _plan(deps: Deps, allotment: int, cap: int) -> str:
    update_plan(
        deps,
        code="test_plan",
        changes={
            "name": "Test plan",
            "monthly_allotment": allotment,
            "rollover_cap": cap,
            "price": Money(1000, "USD"),
            "inmail": True,
            "packs": True,
            "overage": False,
        },
        now=T0,
    )
    return "test_plan"


def _spend(deps: Deps, member: str, count: int, at: datetime) -> None:
    for n in range(count):
        spend_credits(deps, member_id=member, cost=1, reference=f"inmail:{member}:{n}", now=at)


@pytest.mark.parametrize(
    ("case", "allotment", "cap", "spent", "balance_after", "forfeited"),
    [
        ("nothing left over", 25, 75, 25, 25, 0),
        ("below the cap", 25, 75, 10, 40, 0),
        ("exactly at the cap", 25, 50, 0, 50, 0),
        ("above the cap", 25, 30, 0, 30, 20),
        ("cap equals allotment: a pure reset", 25, 25, 5, 25, 20),
        ("pure reset with everything spent", 25, 25, 25, 25, 0),
    ],
)
def test_renewal_rolls_over_up_to_the_cap_and_forfeits_the_rest(
    deps: Deps,
    case: str,
    allotment: int,
    cap: int,
    spent: int,
    balance_after: int,
    forfeited: int,
) -> None:
    member = new_member(deps, _plan(deps, allotment, cap), T0)
    _spend(deps, member, spent, T0 + days(1))
    renewal_at = datetime(2026, 2, 28, 9, tzinfo=UTC)

    assert get_credits(deps, member_id=member, now=renewal_at).balance == balance_after
    forfeits = [e for e in ledger(deps, member, renewal_at) if e.kind == "forfeit"]
    assert sum(-e.amount for e in forfeits) == forfeited
    assert all(e.at == renewal_at for e in forfeits)
    assert charge_kinds(deps, member, renewal_at) == ["subscription", "subscription"]
    assert_audit_clean(deps)


def test_renewal_forfeits_credits_above_the_cap_after_a_downgrade(deps: Deps) -> None:
    member = new_member(deps, "recruiter", T0)  # 50 a month, cap 150
    fourth = months_after(T0, 3)
    assert get_credits(deps, member_id=member, now=fourth).balance == 150  # 200, capped
    change_plan(deps, member_id=member, plan="premium_business", now=fourth + days(1))
    credits = get_credits(deps, member_id=member, now=fourth + days(2))
    assert credits.forfeit_at_next_renewal == 150 + 25 - 75
    fifth = months_after(T0, 4)
    after = get_credits(deps, member_id=member, now=fifth)
    assert (after.balance, after.plan) == (75, "premium_business")
    assert_audit_clean(deps)


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), ["02-28", "03-31", "04-30", "05-31"]),
        (datetime(2024, 1, 31, 9, tzinfo=UTC), ["02-29", "03-31", "04-30", "05-31"]),
        (datetime(2026, 1, 30, 9, tzinfo=UTC), ["02-28", "03-30", "04-30", "05-30"]),
        (datetime(2026, 1, 29, 9, tzinfo=UTC), ["02-28", "03-29", "04-29", "05-29"]),
        (datetime(2024, 1, 29, 9, tzinfo=UTC), ["02-29", "03-29", "04-29", "05-29"]),
    ],
)
def test_renewals_land_on_the_anchor_day_clamped_to_month_end(
    deps: Deps, anchor: datetime, expected: list[str]
) -> None:
    member = new_member(deps, "premium_business", anchor)
    lines = ledger(deps, member, months_after(anchor, 4) + days(1))
    grants = [e.at.strftime("%m-%d") for e in lines if e.kind == "grant"]
    assert grants[1:] == expected


def test_three_missed_cycles_are_caught_up_at_once_in_order(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    _spend(deps, member, 20, T0 + days(2))
    later = months_after(T0, 3) + days(1)

    credits = get_credits(deps, member_id=member, now=later)

    lines = ledger(deps, member, later)
    grants = [(e.at, e.amount) for e in lines if e.kind == "grant"]
    assert [at.date().isoformat() for at, _ in grants] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]
    assert credits.balance == 75  # 5 + 3 x 25 = 80, over the cap of 75 by 5
    assert [e.amount for e in lines if e.kind == "forfeit"] == [-5]
    assert charge_kinds(deps, member, later) == ["subscription"] * 4
    assert_audit_clean(deps)
