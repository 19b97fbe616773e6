"""Operator grants, debits and pack refunds as pure rules (docs/rules.md "Pack refunds")."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from inmail.domain import adjustments
from inmail.domain.adjustments import MAX_ADJUSTMENT_CREDITS, clawback, plan_refund
from inmail.domain.credits import Book, ChargeKind, EntryKind, LotSource, RefundedShare
from inmail.domain.errors import (
    ChargeAlreadyRefunded,
    ChargeNotRefundable,
    InsufficientCredits,
    ValidationError,
)
from inmail.domain.money import Money

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PACK_5 = Money(4500, "USD")


@pytest.mark.parametrize(
    ("unused", "amount", "left", "taken"),
    [
        (5, 4500, 4500, 5),  # a full refund takes every unused credit
        (5, 1500, 4500, 1),  # a third of 5 is 1.67: rounded down to 1
        (4, 3000, 3000, 4),  # ... and the rest of the price takes the 4 still unused
        (5, 2250, 4500, 2),  # half of 5 is 2.5: 2
        (3, 2250, 2250, 3),  # the other half takes the 3 left
        (0, 4500, 4500, 0),  # all spent: nothing to take back
        (3, 1, 4500, 0),  # a cent of the price takes nothing
        (1, 4499, 4500, 0),  # never more than the share: 0.9998 of a credit is 0
    ],
)
def test_a_refund_takes_back_the_refunded_share_of_unused_credits_rounded_down(
    unused: int, amount: int, left: int, taken: int
) -> None:
    assert clawback(unused, amount, left) == taken


def test_two_partial_refunds_adding_up_to_the_price_take_back_everything_unused() -> None:
    first = plan_refund(kind=ChargeKind.PACK, price=PACK_5, refunded=0, amount_minor=1000, unused=5)
    assert (first.clawback, first.left_after) == (1, Money(3500, "USD"))  # 5 x 10/45 = 1.1
    second = plan_refund(
        kind=ChargeKind.PACK, price=PACK_5, refunded=1000, amount_minor=3500, unused=4
    )
    assert (second.clawback, second.left_after) == (4, Money(0, "USD"))


def test_a_refund_without_an_amount_refunds_what_is_left() -> None:
    plan = plan_refund(
        kind=ChargeKind.OVERAGE, price=Money(1000, "USD"), refunded=400, amount_minor=None, unused=1
    )
    assert (plan.amount, plan.clawback) == (Money(600, "USD"), 1)


@pytest.mark.parametrize("kind", [ChargeKind.SUBSCRIPTION, ChargeKind.PRORATION, ChargeKind.REFUND])
def test_only_pack_and_overage_charges_are_refundable(kind: ChargeKind) -> None:
    with pytest.raises(ChargeNotRefundable):
        plan_refund(kind=kind, price=PACK_5, refunded=0, amount_minor=None, unused=0)


def test_a_fully_refunded_charge_is_refused() -> None:
    with pytest.raises(ChargeAlreadyRefunded):
        plan_refund(kind=ChargeKind.PACK, price=PACK_5, refunded=4500, amount_minor=None, unused=0)


@pytest.mark.parametrize("amount", [0, -1, 4501, True])
def test_a_refund_amount_is_one_to_what_is_left(amount: int) -> None:
    with pytest.raises(ValidationError) as refused:
        plan_refund(kind=ChargeKind.PACK, price=PACK_5, refunded=0, amount_minor=amount, unused=5)
    assert refused.value.field == "amount_minor"


def test_a_refund_is_a_negative_charge_and_one_adjustment_line_on_the_lot() -> None:
    book = Book(0, [])
    lot = book.grant(
        kind=EntryKind.GRANT,
        source=LotSource.PURCHASE,
        credits=5,
        at=NOW,
        expires_at=None,
        reference="charge:ch_1",
    )
    book.entries.clear()
    plan = plan_refund(kind=ChargeKind.PACK, price=PACK_5, refunded=0, amount_minor=None, unused=5)
    made = adjustments.refund(book, lot, plan, of="ch_1", now=NOW)
    assert (made.kind, made.price, made.credits, made.reference) == (
        ChargeKind.REFUND,
        Money(-4500, "USD"),
        -5,
        "refund:ch_1",
    )
    assert [(e.kind.value, e.amount, e.reference) for e in book.entries] == [
        ("adjustment", -5, f"charge:{made.id}")
    ]
    assert (lot.remaining, book.balance) == (0, 0)


def test_a_grant_is_an_adjustment_lot_with_its_expiry() -> None:
    book = Book(0, [])
    until = NOW + timedelta(days=30)
    lot = adjustments.grant(book, credits=7, reason="promo", expires_at=until, now=NOW)
    assert (lot.source, lot.granted, lot.expires_at, book.balance) == (
        LotSource.ADJUSTMENT,
        7,
        until,
        7,
    )
    assert book.entries[0].reference == "adjustment:promo"


def test_a_grant_may_expire_up_to_the_last_accepted_moment() -> None:
    book = Book(0, [])
    last = datetime(9997, 12, 31, 23, 59, 59, tzinfo=UTC)
    lot = adjustments.grant(book, credits=1, reason="promo", expires_at=last, now=NOW)
    assert lot.expires_at == last


def test_a_grant_expiry_is_stored_in_utc() -> None:
    book = Book(0, [])
    paris = datetime(2026, 4, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    lot = adjustments.grant(book, credits=1, reason="promo", expires_at=paris, now=NOW)
    assert lot.expires_at == datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    assert lot.expires_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("credits", "reason", "expires_at", "field"),
    [
        (0, "x", None, "credits"),
        (MAX_ADJUSTMENT_CREDITS + 1, "x", None, "credits"),
        (True, "x", None, "credits"),
        (1, " ", None, "reason"),
        (1, "x" * 181, None, "reason"),
        (1, "x", NOW, "expires_at"),
        (1, "x", NOW - timedelta(seconds=1), "expires_at"),
        (1, "x", datetime(9998, 1, 1, tzinfo=UTC), "expires_at"),  # past the accepted times
        (1, "x", datetime(2026, 4, 1), "expires_at"),  # noqa: DTZ001 (naive on purpose)
    ],
)
def test_a_bad_grant_names_its_field_and_grants_nothing(
    credits: int, reason: str, expires_at: datetime | None, field: str
) -> None:
    book = Book(0, [])
    with pytest.raises(ValidationError) as refused:
        adjustments.grant(book, credits=credits, reason=reason, expires_at=expires_at, now=NOW)
    assert refused.value.field == field
    assert (book.balance, book.entries) == (0, [])


def test_a_debit_beyond_the_balance_takes_nothing() -> None:
    book = Book(0, [])
    adjustments.grant(book, credits=3, reason="promo", expires_at=None, now=NOW)
    book.entries.clear()
    with pytest.raises(InsufficientCredits):
        adjustments.debit(book, credits=4, reason="oops", now=NOW)
    assert (book.balance, book.entries) == (3, [])


@pytest.mark.parametrize(
    ("refunded", "price", "returned", "taken"),
    [
        (4500, 4500, 2, 2),  # refunded in full: every returned credit goes back with it
        (2250, 4500, 2, 1),  # half: half of them
        (2250, 4500, 1, 0),  # half of one, rounded down as the clawback rounds
        (1, 4500, 3, 0),
        (4499, 4500, 3, 2),
    ],
)
def test_the_refunded_share_of_credits_returned_to_a_pack(
    refunded: int, price: int, returned: int, taken: int
) -> None:
    assert RefundedShare(refunded, price, "charge:ch_r").of(returned) == taken
