"""Subscriptions: renewal with rollover and cap, plan changes, proration and overage (SPEC §2, §6).

Every function here works on a :class:`Subscription` and a
:class:`~inmail.domain.credits.Book` in memory and takes ``now``; the
services load them under a lock, call these rules and persist the outcome.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from inmail.domain.credits import (
    Book,
    Charge,
    ChargeKind,
    EntryKind,
    Lot,
    LotSource,
    expire_due,
    forfeit_above_cap,
    lifetime_end,
    upcoming_forfeit,
)
from inmail.domain.cycles import Cycle, cycle_at, cycle_start
from inmail.domain.errors import CostChanged, OverageLimitReached, PacksNotOnPlan
from inmail.domain.money import Money
from inmail.domain.plans import BASIC, Pack, Plan

JUST_BEFORE = timedelta(microseconds=1)
PlanLookup = Callable[[str, datetime], Plan]
"""Returns the version of a plan (by code) in force at a moment (raises UnknownPlan)."""


@dataclass(slots=True)
class Subscription:
    """A member's plan, billing anchor and how far its cycles have been renewed.

    ``id`` changes whenever a member subscribes afresh from Basic, so that
    (subscription, cycle) names each renewal exactly once.
    """

    id: str
    plan: Plan
    anchor: datetime
    renewed_cycle: int
    pending_plan: str | None = None

    def current_cycle(self, now: datetime) -> Cycle | None:
        return cycle_at(self.anchor, now) if self.plan.is_paid else None

    def next_renewal_at(self) -> datetime | None:
        if not self.plan.is_paid:
            return None
        return cycle_start(self.anchor, self.renewed_cycle + 1)


@dataclass(frozen=True, slots=True)
class Renewal:
    subscription_id: str  # a later subscribe in the same step starts a new subscription
    cycle: int
    at: datetime
    plan: Plan
    granted: int
    forfeited: int
    plan_credits_after: int  # after the grant and the forfeit: at most the cap

    @property
    def outcome(self) -> RenewalOutcome:
        return RenewalOutcome(self.plan_credits_after, self.plan.rollover_cap, self.forfeited)


@dataclass(frozen=True, slots=True)
class RenewalOutcome:
    """What a renewal left: plan credits after it, its cap, what it forfeited.

    ``plan_credits_after`` is None for renewals recorded before it was kept.
    """

    plan_credits_after: int | None
    cap: int
    forfeited: int

    @property
    def at_cap(self) -> bool:
        """Whether one more plan credit before it would have been forfeited by it (SPEC §2).

        Plan credits after = min(cap, before + allotment): one more before changes
        nothing exactly when the result is the cap.
        """
        if self.plan_credits_after is None:
            return self.forfeited > 0 or self.cap == 0
        return self.plan_credits_after >= self.cap


def cycle_reference(sub: Subscription, cycle: int) -> str:
    return f"cycle:{sub.id}:{cycle}"


def catch_up(book: Book, sub: Subscription, plans: PlanLookup, now: datetime) -> list[Renewal]:
    """Apply, in order, every renewal and expiry due by ``now`` (SPEC §2).

    Renewal does not wait for a job: whoever touches the account first runs
    this, each missed cycle with its own timestamps.
    """
    renewals: list[Renewal] = []
    while (at := sub.next_renewal_at()) is not None and at <= now:
        renewals.append(renew(book, sub, plans, at))
    expire_due(book, now)
    return renewals


def renew(book: Book, sub: Subscription, plans: PlanLookup, at: datetime) -> Renewal:
    """One renewal: expire, switch to a scheduled plan, grant, forfeit above the cap, charge."""
    cycle = sub.renewed_cycle + 1
    reference = cycle_reference(sub, cycle)
    expire_due(book, at)
    if cycle > 0:  # cycle 0 starts with the plan just subscribed to
        sub.plan = cycle_terms(plans, sub.pending_plan or sub.plan.code, at)
    sub.pending_plan = None
    sub.renewed_cycle = cycle
    plan = sub.plan
    if plan.monthly_allotment:
        book.grant(
            kind=EntryKind.GRANT,
            source=LotSource.ALLOTMENT,
            credits=plan.monthly_allotment,
            at=at,
            expires_at=lifetime_end(at, plan.plan_credit_lifetime_days),
            reference=reference,
        )
    forfeited = forfeit_above_cap(book, plan.rollover_cap, at, reference)
    if plan.price.amount_minor:
        book.charge(Charge(ChargeKind.SUBSCRIPTION, plan.price, at, reference))
    return Renewal(sub.id, cycle, at, plan, plan.monthly_allotment, forfeited, book.plan_credits)


def cycle_terms(plans: PlanLookup, code: str, start: datetime) -> Plan:
    """The terms of a cycle that starts at ``start`` (SPEC §1: edits never rewrite history).

    Members keep a plan version for the whole cycle; a new cycle takes the
    version in force just before it starts, however late it is caught up. An
    edit written at the very instant of a renewal applies from the next cycle:
    a renewal that was on time happened at that instant, before the edit.
    """
    return plans(code, start - JUST_BEFORE)


@dataclass(frozen=True, slots=True)
class NextRenewal:
    """What the next renewal will do if nothing changes before it (SPEC §2, §6).

    ``plan`` is the plan it renews into: a scheduled downgrade or cancel's target,
    else the current plan's newest terms. ``grant`` and ``rollover_cap`` are
    credits, ``fee`` the charge it records (0 records none), ``forfeit`` the
    credits it forfeits if none are spent before it.
    """

    at: datetime
    plan: Plan
    grant: int
    rollover_cap: int
    fee: Money
    forfeit: int


def next_renewal(book: Book, sub: Subscription, plans: PlanLookup) -> NextRenewal | None:
    """The next renewal as :func:`renew` will run it; None when there is none (Basic)."""
    at = sub.next_renewal_at()
    if at is None:
        return None
    plan = cycle_terms(plans, sub.pending_plan or sub.plan.code, at)  # as `renew` will
    forfeit = upcoming_forfeit(book.lots, at, plan.monthly_allotment, plan.rollover_cap)
    return NextRenewal(at, plan, plan.monthly_allotment, plan.rollover_cap, plan.price, forfeit)


def forfeit_at_next_renewal(book: Book, sub: Subscription, plans: PlanLookup) -> int:
    """How many credits the next renewal forfeits if none are spent before it."""
    coming = next_renewal(book, sub, plans)
    return 0 if coming is None else coming.forfeit


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


@dataclass(frozen=True, slots=True)
class PackPurchase:
    charge: Charge
    lot: Lot


def buy_pack(
    book: Book, plan: Plan, pack: Pack, now: datetime, *, overage: bool = False
) -> PackPurchase:
    """Record the charge and grant the pack's credits at once (SPEC §6)."""
    if not plan.packs:
        raise PacksNotOnPlan(f"the {plan.name} plan cannot buy credit packs")
    kind = ChargeKind.OVERAGE if overage else ChargeKind.PACK
    charge = Charge(kind, pack.price, now, f"pack:{pack.code}", credits=pack.credits)
    book.charge(charge)
    lot = book.grant(
        kind=EntryKind.GRANT,
        source=LotSource.OVERAGE if overage else LotSource.PURCHASE,
        credits=pack.credits,
        at=now,
        expires_at=lifetime_end(now, plan.pack_credit_lifetime_days),
        reference=f"charge:{charge.id}",
    )
    return PackPurchase(charge, lot)


@dataclass(frozen=True, slots=True)
class PackPreview:
    """What :func:`buy_pack` would charge and grant now, and the balance after it."""

    pack: Pack
    charge: Money
    credits: int
    expires_at: datetime | None
    balance_after: int


def preview_pack(book: Book, plan: Plan, pack: Pack, now: datetime) -> PackPreview:
    """Run :func:`buy_pack` on a copy of the book: same rule, same refusal, nothing kept."""
    scratch = copy.deepcopy(book)
    bought = buy_pack(scratch, plan, pack, now)
    return PackPreview(
        pack, bought.charge.price, bought.lot.granted, bought.lot.expires_at, scratch.balance
    )


@dataclass(frozen=True, slots=True)
class OverageSettings:
    auto_overage: bool = True
    limit_minor: int | None = None


def overage_packs(shortfall: int, pack: Pack) -> int:
    """How many overage packs cover ``shortfall`` credits."""
    return -(-shortfall // pack.credits)


def check_overage(settings: OverageSettings, spent_this_cycle: Money, cost: Money) -> None:
    """Refuse an automatic overage purchase that would pass the member's per-cycle limit."""
    limit = settings.limit_minor
    if limit is not None and spent_this_cycle.amount_minor + cost.amount_minor > limit:
        raise OverageLimitReached(
            f"buying {cost} of overage credits would pass your overage limit of "
            f"{Money(limit, cost.currency)} this cycle ({spent_this_cycle} used)"
        )


def check_agreed_overage(price: Money, agreed_minor: int | None) -> None:
    """Never bill unseen: refuse an overage purchase dearer than the one shown (minor units).

    ``agreed_minor`` is the overage the member was shown before sending (0: none
    was shown); None means the caller agreed to what the rules bill (the API).
    Raises CostChanged.
    """
    if agreed_minor is not None and price.amount_minor > agreed_minor:
        raise CostChanged(
            f"sending now bills {price} of overage credits, which you were not shown "
            "(your balance changed since); nothing was charged: look again and send"
        )


def is_basic(plan: Plan) -> bool:
    return plan.code == BASIC
