"""Spending, packs, overage, plan changes, credit-backs and adjustments on both engines."""

from datetime import datetime

import pytest

from inmail.domain.errors import (
    AlreadySpent,
    Conflict,
    InmailNotOnPlan,
    InsufficientCredits,
    OverageLimitReached,
    PacksNotOnPlan,
)
from inmail.domain.money import Money
from inmail.services.catalog import update_plan
from inmail.services.context import Deps
from inmail.services.credits import (
    adjust_credits,
    buy_pack,
    refund_spend,
    spend_credits,
    update_overage_settings,
)
from inmail.services.renewals import renew_all
from inmail.services.statements import get_credits, list_charges
from inmail.services.subscriptions import change_plan
from tests.conftest import T0
from tests.helpers import (
    assert_audit_clean,
    balance,
    charge_kinds,
    days,
    ledger,
    months_after,
    new_member,
)


def _spend(deps: Deps, member: str, ref: str, at: datetime = T0) -> int:
    return spend_credits(deps, member_id=member, cost=1, reference=ref, now=at).balance_after


def test_a_spend_takes_one_credit_and_writes_one_ledger_line(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    result = spend_credits(deps, member_id=member, cost=1, reference="inmail:1", now=T0)
    assert (result.cost, result.balance_after, result.overage_charge) == (1, 24, None)
    spends = [e for e in ledger(deps, member, T0) if e.kind == "spend"]
    assert [(e.amount, e.balance_after, e.reference) for e in spends] == [(-1, 24, "inmail:1")]
    assert_audit_clean(deps)


def test_the_same_reference_cannot_be_paid_twice(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    _spend(deps, member, "inmail:1")
    with pytest.raises(AlreadySpent):
        _spend(deps, member, "inmail:1")
    assert balance(deps, member, T0) == 24


def test_basic_members_cannot_spend_or_buy_packs_and_nothing_is_written(deps: Deps) -> None:
    member = new_member(deps, "basic", T0)
    with pytest.raises(InmailNotOnPlan, match="does not include InMail"):
        _spend(deps, member, "inmail:1")
    with pytest.raises(PacksNotOnPlan):
        buy_pack(deps, member_id=member, pack="pack_5", now=T0)
    assert ledger(deps, member, T0) == []
    assert charge_kinds(deps, member, T0) == []


def test_an_open_profile_send_costs_zero_credits_even_on_basic(deps: Deps) -> None:
    member = new_member(deps, "basic", T0)
    result = spend_credits(deps, member_id=member, cost=0, reference="inmail:open", now=T0)
    assert result.balance_after == 0
    assert_audit_clean(deps)


def test_buying_a_pack_charges_and_grants_a_lot_that_expires_in_a_year(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    bought = buy_pack(deps, member_id=member, pack="pack_10", now=T0)
    assert (bought.credits, bought.price, bought.balance_after) == (10, Money(8500, "USD"), 35)
    credits = get_credits(deps, member_id=member, now=T0)
    (lot,) = [x for x in credits.lots if x.id == bought.lot_id]
    assert lot.expires_at == T0 + days(365)
    assert (credits.plan_credits, credits.purchased_credits) == (25, 10)
    assert charge_kinds(deps, member, T0) == ["subscription", "pack"]


def test_purchased_credits_do_not_count_toward_the_cap_and_expire_after_a_year(
    deps: Deps,
) -> None:
    member = new_member(deps, "premium_business", T0)
    buy_pack(deps, member_id=member, pack="pack_25", now=T0)
    at_cap = months_after(T0, 3)
    assert get_credits(deps, member_id=member, now=at_cap).balance == 75 + 25
    after_a_year = T0 + days(366)
    credits = get_credits(deps, member_id=member, now=after_a_year)
    assert (credits.plan_credits, credits.purchased_credits) == (75, 0)
    expiries = [e for e in ledger(deps, member, after_a_year) if e.kind == "expire"]
    assert [(e.amount, e.at) for e in expiries] == [(-25, T0 + days(365))]
    assert_audit_clean(deps)


def test_running_out_buys_the_overage_pack_in_the_same_step(deps: Deps) -> None:
    member = new_member(deps, "sales_navigator_professional", T0)  # 15 credits
    for n in range(15):
        _spend(deps, member, f"inmail:{n}")
    result = spend_credits(deps, member_id=member, cost=1, reference="inmail:16", now=T0)
    assert result.overage_charge == Money(1000, "USD")
    assert result.balance_after == 0
    overage = [c for c in list_charges(deps, member_id=member, now=T0) if c.kind == "overage"]
    assert [(c.credits, c.price) for c in overage] == [(1, Money(1000, "USD"))]
    assert_audit_clean(deps)


def test_overage_stops_at_the_members_limit_with_an_error_naming_it(deps: Deps) -> None:
    member = new_member(deps, "sales_navigator_professional", T0)
    update_overage_settings(deps, member_id=member, auto_overage=True, limit_minor=2000, now=T0)
    for n in range(17):
        _spend(deps, member, f"inmail:{n}")
    with pytest.raises(OverageLimitReached, match=r"overage limit of 20\.00 USD"):
        _spend(deps, member, "inmail:18")
    assert charge_kinds(deps, member, T0).count("overage") == 2
    assert balance(deps, member, T0) == 0
    next_cycle = months_after(T0, 1)
    assert _spend(deps, member, "inmail:next", next_cycle) == 14


def test_with_auto_overage_off_an_empty_account_refuses_and_charges_nothing(deps: Deps) -> None:
    member = new_member(deps, "sales_navigator_professional", T0)
    update_overage_settings(deps, member_id=member, auto_overage=False, limit_minor=None, now=T0)
    for n in range(15):
        _spend(deps, member, f"inmail:{n}")
    with pytest.raises(InsufficientCredits, match="automatic overage is turned off"):
        _spend(deps, member, "inmail:16")
    assert charge_kinds(deps, member, T0) == ["subscription"]


def test_subscribing_from_basic_starts_a_cycle_now(deps: Deps) -> None:
    member = new_member(deps, "basic", T0)
    later = T0 + days(10)
    view = change_plan(deps, member_id=member, plan="recruiter", now=later)
    assert (view.plan, view.anchor, view.cycle_start, view.change) == (
        "recruiter",
        later,
        later,
        "subscribe",
    )
    assert balance(deps, member, later) == 50
    assert charge_kinds(deps, member, later) == ["subscription"]


def test_an_upgrade_keeps_the_anchor_and_credits_and_grants_the_prorated_difference(
    deps: Deps,
) -> None:
    member = new_member(deps, "premium_business", T0)
    _spend(deps, member, "inmail:1")
    halfway = T0 + (months_after(T0, 1) - T0) / 2
    view = change_plan(deps, member_id=member, plan="recruiter", now=halfway)
    assert (view.plan, view.anchor, view.change) == ("recruiter", T0, "upgrade")
    assert balance(deps, member, halfway) == 24 + 12
    proration = list_charges(deps, member_id=member, now=halfway)[-1]
    assert (proration.kind, proration.price) == ("proration", Money((83500 - 5999) // 2, "USD"))
    assert_audit_clean(deps)


def test_a_downgrade_waits_for_the_next_cycle(deps: Deps) -> None:
    member = new_member(deps, "recruiter", T0)
    view = change_plan(deps, member_id=member, plan="premium_business", now=T0 + days(3))
    assert (view.plan, view.pending_plan, view.change) == (
        "recruiter",
        "premium_business",
        "scheduled",
    )
    renewal = months_after(T0, 1)
    credits = get_credits(deps, member_id=member, now=renewal)
    assert (credits.plan, credits.monthly_allotment, credits.balance) == (
        "premium_business",
        25,
        75,
    )


def test_cancelling_forfeits_plan_credits_at_cycle_end_and_keeps_purchased_ones(
    deps: Deps,
) -> None:
    member = new_member(deps, "premium_business", T0)
    buy_pack(deps, member_id=member, pack="pack_5", now=T0)
    change_plan(deps, member_id=member, plan="basic", now=T0 + days(1))
    end = months_after(T0, 1)
    credits = get_credits(deps, member_id=member, now=end)
    assert (credits.plan, credits.plan_credits, credits.purchased_credits) == ("basic", 0, 5)
    forfeits = [e for e in ledger(deps, member, end) if e.kind == "forfeit"]
    assert [(e.amount, e.at) for e in forfeits] == [(-25, end)]
    with pytest.raises(InmailNotOnPlan, match="purchased credits stay"):
        _spend(deps, member, "inmail:after-cancel", end)
    assert charge_kinds(deps, member, months_after(T0, 5)) == ["subscription", "pack"]
    assert_audit_clean(deps)


def test_choosing_the_current_plan_withdraws_a_scheduled_cancel(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    change_plan(deps, member_id=member, plan="basic", now=T0 + days(1))
    view = change_plan(deps, member_id=member, plan="premium_business", now=T0 + days(2))
    assert (view.pending_plan, view.change) == (None, "unscheduled")
    assert get_credits(deps, member_id=member, now=months_after(T0, 1)).balance == 50


def test_a_credit_back_returns_credits_to_the_original_lot_exactly_once(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    bought = buy_pack(deps, member_id=member, pack="pack_5", now=T0)
    for n in range(26):
        _spend(deps, member, f"inmail:{n}")  # the 26th comes from the pack
    assert refund_spend(deps, member_id=member, reference="inmail:25", now=T0 + days(1)) == 5
    refund = [e for e in ledger(deps, member, T0 + days(1)) if e.kind == "refund"]
    assert [(e.lot_id, e.amount) for e in refund] == [(bought.lot_id, 1)]
    with pytest.raises(Conflict, match="refunded already"):
        refund_spend(deps, member_id=member, reference="inmail:25", now=T0 + days(2))
    assert_audit_clean(deps)


def test_a_credit_back_to_an_expired_lot_expires_again_at_once(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    update_overage_settings(deps, member_id=member, auto_overage=False, limit_minor=None, now=T0)
    buy_pack(deps, member_id=member, pack="pack_1", now=T0)
    spend_credits(deps, member_id=member, cost=26, reference="inmail:big", now=T0)
    later = T0 + days(400)
    refund_spend(deps, member_id=member, reference="inmail:big", now=later)
    kinds = [(e.kind, e.amount) for e in ledger(deps, member, later) if e.at == later]
    assert ("refund", 1) in kinds
    assert ("expire", -1) in kinds
    assert_audit_clean(deps)


def test_operator_adjustments_grant_and_debit_with_ledger_lines(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    assert adjust_credits(deps, member_id=member, amount=7, reason="goodwill", now=T0) == 32
    assert adjust_credits(deps, member_id=member, amount=-2, reason="correction", now=T0) == 30
    kinds = [(e.kind, e.amount) for e in ledger(deps, member, T0) if e.kind == "adjustment"]
    assert kinds == [("adjustment", 7), ("adjustment", -2)]
    assert_audit_clean(deps)


def test_bulk_renewal_renews_every_due_account_once(deps: Deps) -> None:
    members = [new_member(deps, "premium_business", T0) for _ in range(3)]
    basic = new_member(deps, "basic", T0)
    later = months_after(T0, 2)
    assert renew_all(deps, now=later) == 6
    assert renew_all(deps, now=later) == 0
    assert [balance(deps, m, later) for m in members] == [75, 75, 75]
    assert balance(deps, basic, later) == 0
    assert_audit_clean(deps)


def _credit_back_plan(deps: Deps, allotment: int, cap: int) -> str:
    update_plan(
        deps,
        code="credit_back_plan",
        changes={
            "name": "With credit-back",
            "monthly_allotment": allotment,
            "rollover_cap": cap,
            "price": Money(1000, "USD"),
            "inmail": True,
            "packs": True,
            "overage": False,
            "credit_back_days": 90,
        },
        now=T0,
    )
    return "credit_back_plan"


def test_a_credit_back_after_a_cancel_took_effect_is_forfeited_again(deps: Deps) -> None:
    """Issue 9 §3's example: Basic keeps plan_credits 0, and resubscribing gives 25, not 26."""
    member = new_member(deps, _credit_back_plan(deps, 25, 75), T0)
    _spend(deps, member, "inmail:1")
    change_plan(deps, member_id=member, plan="basic", now=T0 + days(1))
    answered = months_after(T0, 1) + days(1)  # the cancel took effect on Feb 28

    assert refund_spend(deps, member_id=member, reference="inmail:1", now=answered) == 0

    view = get_credits(deps, member_id=member, now=answered)
    assert (view.plan, view.balance, view.plan_credits) == ("basic", 0, 0)
    assert [(e.kind, e.amount) for e in ledger(deps, member, answered) if e.at == answered] == [
        ("refund", 1),
        ("forfeit", -1),
    ]
    change_plan(deps, member_id=member, plan="premium_business", now=answered)
    assert get_credits(deps, member_id=member, now=answered).balance == 25
    assert_audit_clean(deps)


def test_a_credit_back_into_a_lot_the_cap_forfeited_is_forfeited_again(deps: Deps) -> None:
    member = new_member(deps, _credit_back_plan(deps, 10, 10), T0)  # a pure reset each cycle
    _spend(deps, member, "inmail:1")  # 9 left in the first lot, forfeited on Feb 28
    answered = months_after(T0, 1) + days(2)

    assert refund_spend(deps, member_id=member, reference="inmail:1", now=answered) == 10

    assert get_credits(deps, member_id=member, now=answered).plan_credits == 10
    assert_audit_clean(deps)


def test_a_credit_back_in_the_same_cycle_returns_the_credit(deps: Deps) -> None:
    member = new_member(deps, _credit_back_plan(deps, 10, 10), T0)
    _spend(deps, member, "inmail:1")
    assert refund_spend(deps, member_id=member, reference="inmail:1", now=T0 + days(3)) == 10
    assert_audit_clean(deps)


def test_a_credit_back_after_a_cancel_when_everything_was_spent_is_forfeited(deps: Deps) -> None:
    """Found in review: a lot the spend emptied gets no forfeit line at the cancel."""
    member = new_member(deps, _credit_back_plan(deps, 2, 6), T0)
    _spend(deps, member, "inmail:1")
    _spend(deps, member, "inmail:2")
    change_plan(deps, member_id=member, plan="basic", now=T0 + days(1))
    answered = months_after(T0, 1) + days(1)

    assert refund_spend(deps, member_id=member, reference="inmail:1", now=answered) == 0

    assert get_credits(deps, member_id=member, now=answered).plan_credits == 0
    assert_audit_clean(deps)


def test_a_credit_back_never_lifts_plan_credits_above_the_cap(deps: Deps) -> None:
    member = new_member(deps, _credit_back_plan(deps, 2, 3), T0)
    _spend(deps, member, "inmail:1")  # 1 left; Feb 28: 1 + 2 = 3, at the cap
    answered = months_after(T0, 2) + days(1)  # Mar 31: 3 + 2, capped at 3

    refund_spend(deps, member_id=member, reference="inmail:1", now=answered)

    assert get_credits(deps, member_id=member, now=answered).plan_credits == 3
    assert_audit_clean(deps)


def test_a_credit_back_after_a_renewal_below_the_cap_keeps_the_credit(deps: Deps) -> None:
    member = new_member(deps, _credit_back_plan(deps, 10, 30), T0)
    _spend(deps, member, "inmail:1")  # Feb 28: 9 + 10 = 19, under the cap of 30
    answered = months_after(T0, 1) + days(1)
    assert refund_spend(deps, member_id=member, reference="inmail:1", now=answered) == 20
    assert_audit_clean(deps)
