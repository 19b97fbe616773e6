"""Operator grants, debits and pack refunds on both engines (docs/rules.md "Operator
adjustments" and "Pack refunds"): balances, ledger lines, charges, events, idempotency, and
two refunds of one charge at once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from sqlalchemy import select

from inmail.domain.errors import (
    ChargeAlreadyRefunded,
    ChargeNotRefundable,
    IdempotencyKeyReused,
    InsufficientCredits,
    NotFound,
    UnknownMember,
    ValidationError,
)
from inmail.domain.money import Money
from inmail.services.adjustments import (
    Refunded,
    debit_credits,
    grant_credits,
    preview_refund,
    refund_charge,
)
from inmail.services.audit import run_audit
from inmail.services.context import Deps
from inmail.services.credits import buy_pack, refund_spend, spend_credits
from inmail.services.statements import get_credits, list_charges
from inmail.store.tables import charges, outbox_events
from tests.conftest import T0
from tests.helpers import assert_audit_clean, balance, days, ledger, new_member


def _events(deps: Deps, member: str, *types: str) -> list[tuple[str, dict[str, Any]]]:
    query = select(outbox_events).where(
        outbox_events.c.member_id == member, outbox_events.c.type.in_(types)
    )
    with deps.db.read() as conn:
        rows = conn.execute(query.order_by(outbox_events.c.seq)).all()
    return [(r.type, json.loads(r.payload)) for r in rows]


def _pack_member(deps: Deps, spent_from_pack: int = 0) -> tuple[str, str]:
    """A premium member whose 25 plan credits are debited, with a pack of 5 (45.00 USD) of
    which ``spent_from_pack`` credits are spent: (member, pack charge id)."""
    member = new_member(deps, "premium_business", T0)
    debit_credits(deps, member_id=member, credits=25, reason="test: plan credits used", now=T0)
    bought = buy_pack(deps, member_id=member, pack="pack_5", now=T0)
    for i in range(spent_from_pack):
        spend_credits(deps, member_id=member, cost=1, reference=f"inmail:{i}", now=T0)
    return member, bought.charge_id


def test_a_grant_is_an_expiring_adjustment_lot_shown_with_its_reason(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    granted = grant_credits(
        deps, member_id=member, credits=10, reason="Spring promo", expires_at=T0 + days(20), now=T0
    )
    assert (granted.credits, granted.balance_after, granted.expires_at) == (10, 35, T0 + days(20))
    line = ledger(deps, member, T0)[-1]
    assert (line.id, line.kind, line.amount, line.lot_id, line.source, line.reference) == (
        granted.entry_id,
        "adjustment",
        10,
        granted.lot_id,
        "adjustment",
        "adjustment:Spring promo",
    )
    lots = {lot.id: lot for lot in get_credits(deps, member_id=member, now=T0).lots}
    assert lots[granted.lot_id].expires_at == T0 + days(20)
    # At its expiry the unused promotional credits expire, in the ledger.
    assert balance(deps, member, T0 + days(21)) == 25
    expired = ledger(deps, member, T0 + days(21))[-1]
    assert (expired.kind, expired.amount, expired.lot_id) == ("expire", -10, granted.lot_id)
    assert_audit_clean(deps)


def test_a_debit_takes_credits_in_spending_order_with_its_reason(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    grant_credits(deps, member_id=member, credits=5, reason="promo", expires_at=None, now=T0)
    debited = debit_credits(deps, member_id=member, credits=27, reason="chargeback", now=T0)
    assert debited.balance_after == 3
    # Plan credits first (25), then the adjustment lot (2 of 5).
    assert [line.amount for line in debited.entries] == [-25, -2]
    lines = ledger(deps, member, T0)[-2:]
    assert [(x.kind, x.amount, x.reference) for x in lines] == [
        ("adjustment", -25, "adjustment:chargeback"),
        ("adjustment", -2, "adjustment:chargeback"),
    ]
    assert [x.id for x in lines] == [line.entry_id for line in debited.entries]
    assert_audit_clean(deps)


def test_a_debit_beyond_the_balance_is_refused_and_writes_nothing(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    before = ledger(deps, member, T0)
    with pytest.raises(InsufficientCredits, match="26 credit"):
        debit_credits(deps, member_id=member, credits=26, reason="too much", now=T0)
    assert (balance(deps, member, T0), ledger(deps, member, T0)) == (25, before)


@pytest.mark.parametrize(
    ("credits", "reason", "field"),
    [(0, "x", "credits"), (100_001, "x", "credits"), (1, "", "reason"), (1, "a\nb", "reason")],
)
def test_bad_grants_and_debits_name_their_field_and_write_nothing(
    deps: Deps, credits: int, reason: str, field: str
) -> None:
    member = new_member(deps, "premium_business", T0)
    before = ledger(deps, member, T0)
    with pytest.raises(ValidationError) as refused:
        grant_credits(
            deps, member_id=member, credits=credits, reason=reason, expires_at=None, now=T0
        )
    assert refused.value.field == field
    with pytest.raises(ValidationError) as refused:
        debit_credits(deps, member_id=member, credits=credits, reason=reason, now=T0)
    assert refused.value.field == field
    assert ledger(deps, member, T0) == before


def test_a_grant_for_an_unknown_member_is_refused(deps: Deps) -> None:
    with pytest.raises(UnknownMember):
        grant_credits(deps, member_id="m_nobody", credits=1, reason="x", expires_at=None, now=T0)


def test_a_repeated_grant_or_debit_key_answers_the_first_result_and_writes_once(
    deps: Deps,
) -> None:
    member = new_member(deps, "premium_business", T0)
    args: dict[str, Any] = {"member_id": member, "credits": 4, "reason": "promo", "now": T0}
    first = grant_credits(deps, expires_at=T0 + days(9), idempotency_key="g-1", **args)
    again = grant_credits(deps, expires_at=T0 + days(9), idempotency_key="g-1", **args)
    assert again == first
    with pytest.raises(IdempotencyKeyReused):
        grant_credits(deps, expires_at=None, idempotency_key="g-1", **args)
    took = debit_credits(deps, idempotency_key="d-1", **args)
    assert debit_credits(deps, idempotency_key="d-1", **args) == took
    assert balance(deps, member, T0) == 25
    assert [x.amount for x in ledger(deps, member, T0)] == [25, 4, -4]


def test_a_full_refund_takes_back_the_unused_credits_and_records_a_negative_charge(
    deps: Deps,
) -> None:
    member, charge_id = _pack_member(deps, spent_from_pack=2)
    done = refund_charge(deps, charge_id=charge_id, amount_minor=None, now=T0 + days(1))
    assert (done.amount, done.refunded, done.left) == (
        Money(-4500, "USD"),
        Money(4500, "USD"),
        Money(0, "USD"),
    )
    # The 2 spent stay spent: no other lot is touched. 3 unused are taken back.
    assert (done.clawed_back, done.balance_after) == (3, 0)
    line = ledger(deps, member, T0 + days(1))[-1]
    assert (line.kind, line.amount, line.lot_id, line.reference, line.id) == (
        "adjustment",
        -3,
        done.lot_id,
        f"charge:{done.refund_id}",
        done.entry_id,
    )
    charges = list_charges(deps, member_id=member, now=T0 + days(1))
    refund = charges[-1]
    assert (refund.id, refund.kind, refund.credits, refund.price, refund.reference) == (
        done.refund_id,
        "refund",
        -3,
        Money(-4500, "USD"),
        f"refund:{charge_id}",
    )
    # The member's charges add up to what they owe: the pack's price is refunded.
    pack_and_refund = [c.price.amount_minor for c in charges if c.kind in ("pack", "refund")]
    assert sum(pack_and_refund) == 0
    told = _events(deps, member, "charge.created", "ledger.entry_created")[-2:]
    assert told == [
        (
            "ledger.entry_created",
            {
                "entry_id": done.entry_id,
                "kind": "adjustment",
                "lot_id": done.lot_id,
                "lot_source": "purchase",
                "amount": -3,
                "balance_after": 0,
                "reference": f"charge:{done.refund_id}",
            },
        ),
        (
            "charge.created",
            {
                "charge_id": done.refund_id,
                "kind": "refund",
                "amount_minor": -4500,
                "currency": "USD",
                "credits": -3,
                "reference": f"refund:{charge_id}",
            },
        ),
    ]
    assert_audit_clean(deps)
    with pytest.raises(ChargeAlreadyRefunded):
        refund_charge(deps, charge_id=charge_id, amount_minor=None, now=T0 + days(1))


def test_partial_refunds_round_down_and_together_take_back_all_unused(deps: Deps) -> None:
    member, charge_id = _pack_member(deps, spent_from_pack=2)  # 3 of 5 unused
    # 15.00 of 45.00: 3 x 1500 / 4500 = 1.0 -> 1 credit.
    first = refund_charge(deps, charge_id=charge_id, amount_minor=1500, now=T0)
    assert (first.clawed_back, first.balance_after, first.left) == (1, 2, Money(3000, "USD"))
    # One more spent from the pack in between: 1 unused is left.
    spend_credits(deps, member_id=member, cost=1, reference="inmail:later", now=T0)
    # 10.00 of the 30.00 left: 1 x 1000 / 3000 = 0.33 -> 0 credits.
    second = refund_charge(deps, charge_id=charge_id, amount_minor=1000, now=T0)
    assert (second.clawed_back, second.entry_id, second.balance_after) == (0, None, 1)
    # The last 20.00: 1 x 2000 / 2000 -> the 1 left.
    third = refund_charge(deps, charge_id=charge_id, amount_minor=None, now=T0)
    assert (third.amount, third.clawed_back, third.balance_after) == (Money(-2000, "USD"), 1, 0)
    assert third.refunded == Money(4500, "USD")
    assert_audit_clean(deps)


def test_a_refund_of_more_than_is_left_is_refused_and_writes_nothing(deps: Deps) -> None:
    member, charge_id = _pack_member(deps)
    refund_charge(deps, charge_id=charge_id, amount_minor=4000, now=T0)
    before = (ledger(deps, member, T0), list_charges(deps, member_id=member, now=T0))
    with pytest.raises(ValidationError, match="from 1 to 500") as refused:
        refund_charge(deps, charge_id=charge_id, amount_minor=501, now=T0)
    assert refused.value.field == "amount_minor"
    assert (ledger(deps, member, T0), list_charges(deps, member_id=member, now=T0)) == before


def test_fees_are_not_refundable_and_unknown_charges_are_not_found(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    fee = list_charges(deps, member_id=member, now=T0)[0]
    assert fee.kind == "subscription"
    with pytest.raises(ChargeNotRefundable):
        refund_charge(deps, charge_id=fee.id, amount_minor=None, now=T0)
    with pytest.raises(NotFound):
        refund_charge(deps, charge_id="ch_nothing", amount_minor=None, now=T0)


def test_a_refund_after_the_pack_expired_takes_back_nothing(deps: Deps) -> None:
    _, charge_id = _pack_member(deps)
    later = T0 + days(366)  # pack credits last 365 days
    done = refund_charge(deps, charge_id=charge_id, amount_minor=None, now=later)
    assert (done.clawed_back, done.entry_id) == (0, None)
    assert_audit_clean(deps)


def test_an_overage_charge_is_refundable(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    debit_credits(deps, member_id=member, credits=25, reason="test", now=T0)
    spend_credits(deps, member_id=member, cost=1, reference="inmail:1", now=T0)
    overage = list_charges(deps, member_id=member, now=T0)[-1]
    assert overage.kind == "overage"
    done = refund_charge(deps, charge_id=overage.id, amount_minor=None, now=T0)
    assert (done.amount, done.clawed_back) == (Money(-1000, "USD"), 0)  # its credit was spent


def test_the_preview_says_what_the_refund_will_do_and_writes_nothing(deps: Deps) -> None:
    member, charge_id = _pack_member(deps, spent_from_pack=1)
    shown = preview_refund(deps, charge_id=charge_id, amount_minor=2250, now=T0)
    assert (shown.amount, shown.unused, shown.clawback, shown.balance_after) == (
        Money(2250, "USD"),
        4,
        2,
        2,
    )
    assert balance(deps, member, T0) == 4
    done = refund_charge(deps, charge_id=charge_id, amount_minor=2250, now=T0)
    assert (done.clawed_back, done.balance_after) == (shown.clawback, shown.balance_after)


def test_a_repeated_refund_key_answers_the_first_refund(deps: Deps) -> None:
    member, charge_id = _pack_member(deps)
    first = refund_charge(deps, charge_id=charge_id, amount_minor=900, now=T0, idempotency_key="r")
    again = refund_charge(deps, charge_id=charge_id, amount_minor=900, now=T0, idempotency_key="r")
    assert again == first
    with pytest.raises(IdempotencyKeyReused):
        refund_charge(deps, charge_id=charge_id, amount_minor=901, now=T0, idempotency_key="r")
    assert [c.kind for c in list_charges(deps, member_id=member, now=T0)].count("refund") == 1


def test_two_refunds_of_one_charge_at_once_refund_it_once(deps: Deps) -> None:
    member, charge_id = _pack_member(deps)
    barrier = Barrier(2, timeout=30)

    def attempt(_: int) -> Refunded | BaseException:
        barrier.wait()
        try:
            return refund_charge(deps, charge_id=charge_id, amount_minor=None, now=T0)
        except ChargeAlreadyRefunded as refused:
            return refused

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, range(2)))
    done = [o for o in outcomes if isinstance(o, Refunded)]
    refused = [o for o in outcomes if isinstance(o, ChargeAlreadyRefunded)]
    assert (len(done), len(refused)) == (1, 1)
    assert done[0].clawed_back == 5
    kinds = [c.kind for c in list_charges(deps, member_id=member, now=T0)]
    assert kinds.count("refund") == 1
    assert balance(deps, member, T0) == 0
    assert_audit_clean(deps)


def test_the_audit_names_refunds_that_pass_their_charge(deps: Deps) -> None:
    member, charge_id = _pack_member(deps)
    refund_charge(deps, charge_id=charge_id, amount_minor=4000, now=T0)
    with deps.db.write() as conn:  # a second refund written around the rules (a bug)
        conn.execute(
            charges.insert().values(
                id="ch_bad_refund",
                member_id=member,
                kind="refund",
                credits=0,
                amount_minor=-1000,
                currency="USD",
                at=T0,
                reference=f"refund:{charge_id}",
            )
        )
    problems = run_audit(deps)
    assert f"refund:{charge_id}: refunded 5000 of a charge of 4500 (minor units)" in problems


def _pack_spend_refunded(deps: Deps, amount_minor: int | None) -> tuple[str, str]:
    """The reviewer's case: 2 credits of a pack of 5 (45.00) spent by one InMail, then the
    pack refunded (``amount_minor`` of it; None: in full). (member, the spend's reference)"""
    member, charge_id = _pack_member(deps)
    spend_credits(deps, member_id=member, cost=2, reference="inmail:two", now=T0)
    refund_charge(deps, charge_id=charge_id, amount_minor=amount_minor, now=T0 + days(1))
    return member, "inmail:two"


def test_a_credit_back_to_a_pack_refunded_in_full_is_taken_back_at_once(deps: Deps) -> None:
    member, spent = _pack_spend_refunded(deps, None)
    assert balance(deps, member, T0 + days(1)) == 0  # the 3 unused credits went with the refund
    assert refund_spend(deps, member_id=member, reference=spent, now=T0 + days(2)) == 0
    back, taken = ledger(deps, member, T0 + days(2))[-2:]
    assert (back.kind, back.amount, back.balance_after) == ("refund", 2, 2)
    assert (taken.kind, taken.amount, taken.balance_after) == ("adjustment", -2, 0)
    assert taken.lot_id == back.lot_id
    refund_line = [
        c for c in list_charges(deps, member_id=member, now=T0 + days(2)) if c.kind == "refund"
    ]
    assert taken.reference == f"charge:{refund_line[0].id}"
    assert_audit_clean(deps)


def test_a_credit_back_to_a_half_refunded_pack_keeps_the_unrefunded_share(deps: Deps) -> None:
    # 22.50 of 45.00 refunded: floor(3 x 1/2) = 1 of the 3 unused credits went with it; of the
    # 2 credits returned later, floor(2 x 1/2) = 1 is taken back and 1 stays.
    member, spent = _pack_spend_refunded(deps, 2250)
    assert balance(deps, member, T0 + days(1)) == 2
    assert refund_spend(deps, member_id=member, reference=spent, now=T0 + days(2)) == 3
    taken = ledger(deps, member, T0 + days(2))[-1]
    assert (taken.kind, taken.amount, taken.balance_after) == ("adjustment", -1, 3)
    assert_audit_clean(deps)


def test_a_credit_back_to_a_pack_never_refunded_returns_every_credit(deps: Deps) -> None:
    member, _ = _pack_member(deps)
    spend_credits(deps, member_id=member, cost=2, reference="inmail:two", now=T0)
    assert refund_spend(deps, member_id=member, reference="inmail:two", now=T0 + days(2)) == 5
    assert ledger(deps, member, T0 + days(2))[-1].kind == "refund"
    assert_audit_clean(deps)
