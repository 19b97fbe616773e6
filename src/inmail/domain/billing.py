"""Subscriptions and their renewals: rollover, cap, forfeit, fee, catch-up (SPEC §1, §2).

Every function here works on a :class:`Subscription` and a
:class:`~inmail.domain.credits.Book` in memory and takes ``now``; the
services load them under a lock, call these rules and persist the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from inmail.domain.credits import (
    Book,
    Charge,
    ChargeKind,
    EntryKind,
    LotSource,
    expire_due,
    forfeit_above_cap,
    lifetime_end,
    upcoming_forfeit,
)
from inmail.domain.cycles import Cycle, cycle_at, cycle_start
from inmail.domain.money import Money
from inmail.domain.plans import BASIC, Plan

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


def is_basic(plan: Plan) -> bool:
    return plan.code == BASIC
