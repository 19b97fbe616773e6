"""Operator grants, debits and pack refunds (SPEC §10, docs/rules.md "Operator adjustments").

Pure rules over a :class:`~inmail.domain.credits.Book`: a grant is a new ``adjustment`` lot
(optionally expiring), a debit takes credits in spending order, and a refund of a pack or
overage charge records a negative ``refund`` charge and takes back that purchase lot's unused
credits in proportion to the share of the price refunded, rounded down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inmail.domain.credits import (
    ADJUSTMENT_REASON,
    Book,
    Charge,
    ChargeKind,
    EntryKind,
    Lot,
    LotSource,
    draw,
)
from inmail.domain.errors import ChargeAlreadyRefunded, ChargeNotRefundable, ValidationError
from inmail.domain.money import Money
from inmail.domain.timeline import check_accepted

MAX_ADJUSTMENT_CREDITS = 100_000
"""The most credits one grant or debit moves: a typo guard (a hundred thousand InMails)."""

REFUNDABLE = frozenset({ChargeKind.PACK, ChargeKind.OVERAGE})
"""Charges that bought a lot of credits, the only ones a refund can claw back from."""


def adjustment_reference(reason: str) -> str:
    """The ledger reference of a grant or debit: ``adjustment:REASON`` (shown to the member)."""
    return f"adjustment:{reason.strip()}"


def check_credits(credits: object) -> int:
    """``credits`` as a whole number 1..MAX_ADJUSTMENT_CREDITS, else ValidationError(credits)."""
    if isinstance(credits, bool) or not isinstance(credits, int):
        raise ValidationError("credits must be a whole number", field="credits")
    if not 1 <= credits <= MAX_ADJUSTMENT_CREDITS:
        raise ValidationError(
            f"credits must be from 1 to {MAX_ADJUSTMENT_CREDITS}, not {credits}", field="credits"
        )
    return credits


def check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """A grant's expiry in UTC: None (never) or an accepted time (domain.timeline: aware,
    before 9998-01-01, as every time a client gives) after ``now``; else
    ValidationError(expires_at)."""
    if expires_at is None:
        return None
    moment = check_accepted(expires_at, "expires_at")
    if moment <= now:
        raise ValidationError("expires_at must be in the future", field="expires_at")
    return moment


def grant(
    book: Book, *, credits: int, reason: str, expires_at: datetime | None, now: datetime
) -> Lot:
    """Grant ``credits`` as a new ``adjustment`` lot expiring at ``expires_at`` (None: never).

    Adjustment lots are not plan credits: the rollover cap never forfeits them, and a spend
    takes them after plan credits, soonest expiry first (SPEC §3). Raises ValidationError.
    """
    check_credits(credits)
    ADJUSTMENT_REASON.check(reason, field="reason")
    expiry = check_expiry(expires_at, now)
    return book.grant(
        kind=EntryKind.ADJUSTMENT,
        source=LotSource.ADJUSTMENT,
        credits=credits,
        at=now,
        expires_at=expiry,
        reference=adjustment_reference(reason),
    )


def debit(book: Book, *, credits: int, reason: str, now: datetime) -> None:
    """Take ``credits`` in spending order (one ``adjustment`` line per lot touched).

    Raises ValidationError, or InsufficientCredits when the live balance is smaller (a
    balance never goes negative); then nothing is taken.
    """
    check_credits(credits)
    ADJUSTMENT_REASON.check(reason, field="reason")
    draw(book, EntryKind.ADJUSTMENT, credits, now, adjustment_reference(reason))


@dataclass(frozen=True, slots=True)
class RefundPlan:
    """What refunding ``amount`` of a charge does: the credits taken back from its lot."""

    amount: Money
    clawback: int
    unused: int
    left_after: Money


def plan_refund(
    *, kind: ChargeKind, price: Money, refunded: int, amount_minor: int | None, unused: int
) -> RefundPlan:
    """Decide a refund of a charge of ``kind`` and ``price`` of which ``refunded`` minor units
    were refunded already, its lot holding ``unused`` credits now.

    ``amount_minor`` None refunds what is left. Raises ChargeNotRefundable (not a pack or
    overage charge), ChargeAlreadyRefunded (nothing left), ValidationError(amount_minor)
    (not 1..what is left).
    """
    if kind not in REFUNDABLE:
        raise ChargeNotRefundable(
            f"a {kind.value} charge bought no credit pack; only pack and overage charges "
            "can be refunded here"
        )
    left = price.amount_minor - refunded
    if left <= 0:
        raise ChargeAlreadyRefunded("this charge has been refunded in full already")
    amount = left if amount_minor is None else amount_minor
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= left:
        raise ValidationError(
            f"amount_minor must be a whole number from 1 to {left} (what is left to refund)",
            field="amount_minor",
        )
    taken = clawback(unused, amount, left)
    return RefundPlan(
        Money(amount, price.currency), taken, unused, Money(left - amount, price.currency)
    )


def clawback(unused: int, amount_minor: int, left_minor: int) -> int:
    """Credits a refund of ``amount_minor`` out of the ``left_minor`` not yet refunded takes
    back from a lot holding ``unused``: floor(unused * amount / left).

    Rounded down, so never more than is unused; the refund of all that is left takes every
    unused credit, so partial refunds that add up to the price take back all that is unused.
    """
    return unused * amount_minor // left_minor


def refund(book: Book, lot: Lot | None, plan: RefundPlan, *, of: str, now: datetime) -> Charge:
    """Record the refund of charge ``of`` as a negative ``refund`` charge, and take back
    ``plan.clawback`` credits from its ``lot`` (one ``adjustment`` ledger line referencing the
    refund charge; none when nothing is taken back)."""
    taken = plan.clawback if lot is not None else 0
    charge = Charge(
        ChargeKind.REFUND,
        Money(-plan.amount.amount_minor, plan.amount.currency),
        now,
        f"refund:{of}",
        credits=-taken,
    )
    book.charge(charge)
    if lot is not None and taken > 0:
        book.take(EntryKind.ADJUSTMENT, lot, taken, now, f"charge:{charge.id}")
    return charge
