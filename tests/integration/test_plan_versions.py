"""Accounts as of now, in the terms of each cycle (issue 9 §1), on both engines.

A late catch-up must write exactly the ledger an on-time one would have: each
renewal takes the plan version in force at its cycle's start, and every rule
that looks at another member's plan sees that member caught up to now.
"""

from datetime import UTC, datetime

import pytest

from inmail.domain.errors import InmailNotOnPlan
from inmail.domain.money import Money
from inmail.services.catalog import update_plan
from inmail.services.context import Deps
from inmail.services.inmail import block_member, send_inmail
from inmail.services.members import get_member, list_members, members_by_id
from inmail.services.quote import quote
from inmail.services.settings import update_settings
from inmail.services.statements import get_credits, list_charges
from inmail.services.subscriptions import change_plan
from tests.conftest import T0
from tests.helpers import assert_audit_clean, ledger, new_member

FEB_28 = datetime(2026, 2, 28, 9, 0, tzinfo=UTC)  # the first renewal of a Jan 31 anchor
MAR_05 = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
MAR_31 = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)


def _edit_premium_business(deps: Deps, at: datetime) -> None:
    update_plan(
        deps,
        code="premium_business",
        changes={"monthly_allotment": 40, "price": Money(7999, "USD")},
        now=at,
    )


def _renewal_lines(deps: Deps, member: str, now: datetime) -> list[tuple[str, int, datetime]]:
    return [(line.kind, line.amount, line.at) for line in ledger(deps, member, now)]


def _fees(deps: Deps, member: str, now: datetime) -> list[tuple[datetime, int]]:
    charges = list_charges(deps, member_id=member, now=now, limit=100)
    return [(c.at, c.price.amount_minor) for c in charges if c.kind == "subscription"]


def test_a_late_renewal_uses_the_terms_in_force_when_its_cycle_started(deps: Deps) -> None:
    a = new_member(deps, "premium_business", T0)
    b = new_member(deps, "premium_business", T0)
    assert get_credits(deps, member_id=a, now=FEB_28).balance == 50  # A renewed on time
    _edit_premium_business(deps, MAR_05)

    late = get_credits(deps, member_id=b, now=MAR_05)  # B's first look since January

    assert late.balance == 50
    assert late.monthly_allotment == 25
    assert _renewal_lines(deps, b, MAR_05) == [("grant", 25, T0), ("grant", 25, FEB_28)]
    assert _fees(deps, b, MAR_05) == [(T0, 5999), (FEB_28, 5999)]
    assert _renewal_lines(deps, a, MAR_05) == _renewal_lines(deps, b, MAR_05)
    assert _fees(deps, a, MAR_05) == _fees(deps, b, MAR_05)
    assert_audit_clean(deps)


def test_the_cycle_after_the_edit_takes_the_new_terms_for_everyone(deps: Deps) -> None:
    a = new_member(deps, "premium_business", T0)
    b = new_member(deps, "premium_business", T0)
    get_credits(deps, member_id=a, now=FEB_28)
    _edit_premium_business(deps, MAR_05)

    for member in (a, b):
        view = get_credits(deps, member_id=member, now=MAR_31)
        assert view.balance == 75  # 25 + 25 + 40, capped at the unchanged 75
        assert view.monthly_allotment == 40
        assert _renewal_lines(deps, member, MAR_31)[-2:] == [
            ("grant", 40, MAR_31),
            ("forfeit", -15, MAR_31),
        ]
        assert _fees(deps, member, MAR_31) == [(T0, 5999), (FEB_28, 5999), (MAR_31, 7999)]
    assert_audit_clean(deps)


def test_a_scheduled_downgrade_takes_the_target_terms_of_its_boundary(deps: Deps) -> None:
    member = new_member(deps, "recruiter", T0)  # 50 a cycle, cap 150
    change_plan(
        deps, member_id=member, plan="premium_business", now=datetime(2026, 2, 10, tzinfo=UTC)
    )
    _edit_premium_business(deps, MAR_05)  # after the boundary, before anyone looked

    view = get_credits(deps, member_id=member, now=MAR_05)

    assert view.plan == "premium_business"
    assert view.monthly_allotment == 25  # version 1, in force on Feb 28
    assert _renewal_lines(deps, member, MAR_05) == [("grant", 50, T0), ("grant", 25, FEB_28)]
    assert _fees(deps, member, MAR_05) == [(T0, 83500), (FEB_28, 5999)]
    assert_audit_clean(deps)


def test_a_profile_shows_the_plan_a_scheduled_downgrade_has_since_made_it(deps: Deps) -> None:
    member = new_member(deps, "recruiter", T0)
    change_plan(deps, member_id=member, plan="premium_business", now=T0)

    assert get_member(deps, member, now=T0).plan == "recruiter"
    assert get_member(deps, member, now=MAR_05).plan == "premium_business"
    assert members_by_id(deps, [member], now=MAR_05)[member].plan == "premium_business"


def test_member_lists_show_the_plan_after_a_cancel_took_effect(deps: Deps) -> None:
    member = new_member(deps, "recruiter", T0)
    change_plan(deps, member_id=member, plan="basic", now=T0)

    listed = {m.id: m.plan for m in list_members(deps, now=MAR_05, limit=200)}

    assert listed[member] == "basic"


@pytest.fixture
def open_profile_on_its_way_to_basic(deps: Deps) -> str:
    """A paid member with an Open Profile who cancelled at T0: Basic from Feb 28 on."""
    member = new_member(deps, "premium_business", T0)
    update_settings(deps, member_id=member, changes={"open_profile": True}, now=T0)
    change_plan(deps, member_id=member, plan="basic", now=T0)
    return member


def test_an_open_profile_ends_with_the_paid_plan_even_if_its_owner_never_looked(
    deps: Deps, open_profile_on_its_way_to_basic: str
) -> None:
    recipient = open_profile_on_its_way_to_basic
    sender = new_member(deps, "basic", T0)
    assert quote(deps, member_id=sender, to=recipient, now=FEB_28 - (FEB_28 - T0) / 2).channel == (
        "open_profile"
    )

    with pytest.raises(InmailNotOnPlan):
        send_inmail(deps, sender_id=sender, to=recipient, subject="Hi", body="Hello", now=MAR_05)

    assert quote(deps, member_id=sender, to=recipient, now=MAR_05).allowed is False
    assert get_member(deps, recipient, now=MAR_05).plan == "basic"


def test_a_quote_for_a_paid_sender_costs_a_credit_once_the_open_profile_ended(
    deps: Deps, open_profile_on_its_way_to_basic: str
) -> None:
    sender = new_member(deps, "premium_business", T0)

    preview = quote(deps, member_id=sender, to=open_profile_on_its_way_to_basic, now=MAR_05)

    assert (preview.channel, preview.cost_credits) == ("inmail", 1)


def test_an_edit_at_the_instant_of_a_renewal_applies_from_the_next_cycle(deps: Deps) -> None:
    """Found by the reference model: on time, the renewal at that instant came first."""
    a = new_member(deps, "recruiter_lite", T0)
    b = new_member(deps, "recruiter_lite", T0)
    year_later = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)  # a renewal instant of both
    assert get_credits(deps, member_id=a, now=year_later).balance == 75
    update_plan(
        deps,
        code="recruiter_lite",
        changes={"monthly_allotment": 27, "rollover_cap": 54, "price": Money(5999, "USD")},
        now=year_later,
    )

    assert get_credits(deps, member_id=b, now=year_later).balance == 75  # caught up only now
    assert _fees(deps, b, year_later) == _fees(deps, a, year_later)
    assert _fees(deps, b, year_later)[-1] == (year_later, 17000)
    assert get_credits(deps, member_id=a, now=datetime(2027, 2, 28, 9, tzinfo=UTC)).balance == 54


def test_a_member_who_subscribes_right_after_an_edit_gets_the_new_terms(deps: Deps) -> None:
    _edit_premium_business(deps, T0)  # the same instant as the seeded version
    member = new_member(deps, "premium_business", T0)
    assert get_credits(deps, member_id=member, now=T0).balance == 40
    assert _fees(deps, member, FEB_28) == [(T0, 7999), (FEB_28, 7999)]


def test_blocking_a_member_whose_renewal_is_due_answers_at_once(deps: Deps) -> None:
    """Found in review: the catch-up waited for SQLite's write lock held by the block itself."""
    member = new_member(deps, "basic", T0)
    other = new_member(deps, "premium_business", T0)

    assert block_member(deps, member_id=member, other=other, now=MAR_05, on=True) is True

    assert get_credits(deps, member_id=other, now=MAR_05).balance == 50  # Jan 31 and Feb 28
