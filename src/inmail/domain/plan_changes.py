"""Plan changes: subscribe, upgrade with proration, downgrade or cancel, preview (SPEC §6).

Each rule works on a :class:`~inmail.domain.billing.Subscription` and a
:class:`~inmail.domain.credits.Book` caught up to ``now``, in memory; the
services load them under a lock, call the rule and persist the outcome. A
preview runs the same rule on a copy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from inmail.domain.billing import (
    NextRenewal,
    PlanLookup,
    Renewal,
    Subscription,
    catch_up,
    next_renewal,
)
from inmail.domain.credits import (
    Book,
    Charge,
    ChargeKind,
    EntryKind,
    LotSource,
    lifetime_end,
)
from inmail.domain.cycles import cycle_at
from inmail.domain.money import Money
from inmail.domain.plans import Plan


class ChangeKind(StrEnum):
    NONE = "none"
    SUBSCRIBE = "subscribe"
    UPGRADE = "upgrade"
    SCHEDULED = "scheduled"
    UNSCHEDULED = "unscheduled"


def classify_change(sub: Subscription, new: Plan) -> ChangeKind:
    """SPEC §6: what a request to move to ``new`` means for this subscription.

    Subscribing from Basic and upgrading (a higher allotment) happen now;
    downgrades, lateral moves and cancelling (to Basic) wait for the next
    cycle start. Asking for the current plan withdraws a scheduled change.
    """
    current = sub.plan
    if new.code == current.code:
        return ChangeKind.UNSCHEDULED if sub.pending_plan else ChangeKind.NONE
    if not current.is_paid:
        return ChangeKind.SUBSCRIBE
    if new.is_paid and new.monthly_allotment > current.monthly_allotment:
        return ChangeKind.UPGRADE
    return ChangeKind.SCHEDULED


def upgrade(book: Book, sub: Subscription, new: Plan, now: datetime) -> None:
    """Move to a bigger plan now, keeping the anchor and every credit (SPEC §6).

    Grants floor((new - old allotment) x the fraction of the cycle left) and
    charges the fee difference for that fraction, rounded down to the minor
    unit. The new cap applies from the next renewal, which is when caps apply.
    """
    cycle = cycle_at(sub.anchor, now)
    left, whole = cycle.remaining_fraction(now)
    old = sub.plan
    reference = f"proration:{sub.id}:{cycle.index}:{new.code}"
    extra = (new.monthly_allotment - old.monthly_allotment) * left // whole
    if extra > 0:
        book.grant(
            kind=EntryKind.GRANT,
            source=LotSource.ALLOTMENT,
            credits=extra,
            at=now,
            expires_at=lifetime_end(now, new.plan_credit_lifetime_days),
            reference=reference,
        )
    fee = prorated_fee(old.price, new.price, left, whole)
    if fee.amount_minor > 0:
        book.charge(Charge(ChargeKind.PRORATION, fee, now, reference, credits=extra))
    sub.plan = new
    sub.pending_plan = None


def prorated_fee(old: Money, new: Money, left: int, whole: int) -> Money:
    # Different currencies cannot be netted: charge the new plan's share in full.
    base = new.amount_minor - (old.amount_minor if old.currency == new.currency else 0)
    return Money(max(0, base) * left // whole, new.currency)


def subscribe(sub: Subscription, new: Plan, new_id: str, now: datetime) -> None:
    """From Basic to a paid plan: a new subscription anchored now (cycle 0 renews at once)."""
    sub.id = new_id
    sub.plan = new
    sub.anchor = now
    sub.renewed_cycle = -1
    sub.pending_plan = None


@dataclass(frozen=True, slots=True)
class PlanChange:
    """What a plan change did at once: credits granted, money charged, renewals run.

    ``effective_at`` is when the new plan applies: ``now``, or the next cycle
    start for a scheduled downgrade or cancel. ``charged`` is None when nothing
    was charged.
    """

    kind: ChangeKind
    effective_at: datetime
    granted: int
    charged: Money | None
    renewals: list[Renewal]


def change_plan(
    book: Book, sub: Subscription, new: Plan, plans: PlanLookup, now: datetime, new_sub_id: str
) -> PlanChange:
    """Apply SPEC §6's plan change to ``new`` (its current version) on a caught-up account.

    Subscribing from Basic starts a subscription ``new_sub_id`` whose cycle 0
    renews now; an upgrade prorates now; a downgrade, lateral move or cancel is
    scheduled for the next cycle start; asking for the current plan withdraws
    a scheduled change.
    """
    entries, charges = len(book.entries), len(book.charges)
    kind = classify_change(sub, new)
    renewals: list[Renewal] = []
    if kind is ChangeKind.SUBSCRIBE:
        subscribe(sub, new, new_sub_id, now)
        renewals = catch_up(book, sub, plans, now)
    elif kind is ChangeKind.UPGRADE:
        upgrade(book, sub, new, now)
    elif kind is ChangeKind.SCHEDULED:
        sub.pending_plan = new.code
    elif kind is ChangeKind.UNSCHEDULED:
        sub.pending_plan = None
    scheduled_at = sub.next_renewal_at() if kind is ChangeKind.SCHEDULED else None
    granted = sum(e.amount for e in book.entries[entries:] if e.kind is EntryKind.GRANT)
    return PlanChange(kind, scheduled_at or now, granted, _total(book.charges[charges:]), renewals)


def _total(charges: list[Charge]) -> Money | None:
    if not charges:
        return None
    total = charges[0].price
    for charge in charges[1:]:
        total = total + charge.price
    return total


@dataclass(frozen=True, slots=True)
class ChangePreview:
    """What :func:`change_plan` would do now, and what the renewal after it would do.

    ``plan`` is the plan asked for; ``rollover_cap`` the cap it applies at its
    renewals; ``next_renewal`` is None when no renewal follows (staying on Basic).
    """

    plan: Plan
    change: PlanChange
    rollover_cap: int
    next_renewal: NextRenewal | None


def preview_change(
    book: Book, sub: Subscription, new: Plan, plans: PlanLookup, now: datetime
) -> ChangePreview:
    """Run :func:`change_plan` on copies of the account: the very same arithmetic, nothing kept.

    The copies are thrown away, so the caller's ``book`` and ``sub`` are unchanged.
    """
    scratch_book, scratch_sub = copy.deepcopy(book), copy.deepcopy(sub)
    done = change_plan(scratch_book, scratch_sub, new, plans, now, new_sub_id=f"{sub.id}:preview")
    coming = next_renewal(scratch_book, scratch_sub, plans)
    return ChangePreview(new, done, new.rollover_cap, coming)
