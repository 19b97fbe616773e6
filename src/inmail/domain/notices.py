"""The notifications nobody's action writes: follow-up due and the credit warnings (SPEC §5, §9).

Pure: no I/O, ``now`` passed in. Whoever computes them (a member opening their
notifications or follow-ups, or ``inmail worker``'s sweep) gets the same
:class:`DueNotice` list from the same facts, and each carries a ``once_key``: the
store writes a notice only if no notice with that key exists (a unique column), so
each is written at most once however many readers and workers compute it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from inmail.domain import dates
from inmail.domain.messaging import followup_due_at
from inmail.domain.plans import Plan

WARN_BEFORE = timedelta(days=3)
"""Forfeit and expiry are warned of once they are this close (SPEC §9: before the renewal)."""

LOW_BALANCE = 2
"""A balance of at most this many credits on a plan with an allotment is low (once a cycle)."""

FOLLOW_UP_TEXT = "No response for a while: you can send a follow-up"


@dataclass(frozen=True, slots=True)
class DueNotice:
    """A notification to write once: ``at`` (UTC) is when it fell due (a follow-up's due time)
    or when it was computed (a warning); ``once_key`` is unique across all notifications."""

    at: datetime
    kind: str
    text: str
    reference: str
    once_key: str


class AwaitingThread(Protocol):
    """An InMail thread the member started that awaits a response (store.messaging.ThreadRecord)."""

    @property
    def id(self) -> str: ...
    @property
    def last_inmail_at(self) -> datetime | None: ...
    @property
    def followups_sent(self) -> int: ...


class LiveLot(Protocol):
    """A lot holding credits (services.statements.LotView)."""

    @property
    def id(self) -> int: ...
    @property
    def remaining(self) -> int: ...
    @property
    def expires_at(self) -> datetime | None: ...


T = TypeVar("T", bound=AwaitingThread)


@dataclass(frozen=True, slots=True)
class FollowUpDue(Generic[T]):
    thread: T
    due_at: datetime


def followups_due(waiting: Iterable[T], plan: Plan, now: datetime) -> list[FollowUpDue[T]]:
    """SPEC §5: the threads whose wait (``plan.followup_after_days`` since the last InMail) is
    over at ``now`` and that may still get a follow-up (fewer than ``plan.max_followups``
    sent), longest-due first, then by thread id."""
    due = [
        FollowUpDue(t, due_at)
        for t in waiting
        if t.last_inmail_at is not None and t.followups_sent < plan.max_followups
        # None: the wait would end after 9999-12-31, so it is never over
        if (due_at := followup_due_at(t.last_inmail_at, plan)) is not None and due_at <= now
    ]
    due.sort(key=lambda d: (d.due_at, d.thread.id))
    return due


def followup_notice(thread: AwaitingThread, due_at: datetime) -> DueNotice:
    """The "follow-up due" notice of a thread: once per follow-up it may get (the key names
    how many were sent, so after a follow-up the next wait brings a new notice)."""
    return DueNotice(
        at=due_at,
        kind="follow_up_due",
        text=FOLLOW_UP_TEXT,
        reference=f"thread:{thread.id}",
        once_key=followup_once_key(thread.id, thread.followups_sent),
    )


def followup_once_key(thread_id: str, followups_sent: int) -> str:
    return f"follow-up-due:{thread_id}:{followups_sent}"


@dataclass(frozen=True, slots=True)
class CreditFacts:
    """What the warnings are decided from (services.statements.CreditsView, at ``now``).

    ``forfeit_at_next_renewal``: credits the next renewal will forfeit (0: none);
    ``cycle_start``: None without a cycle; ``lots``: the lots holding credits (those expiring
    within :data:`WARN_BEFORE` at least)."""

    balance: int
    monthly_allotment: int
    cycle_start: datetime | None
    next_renewal_at: datetime | None
    forfeit_at_next_renewal: int
    lots: Sequence[LiveLot]


def credit_warnings(member_id: str, facts: CreditFacts, now: datetime) -> list[DueNotice]:
    """SPEC §9: credits the next renewal forfeits (within :data:`WARN_BEFORE` of it, once per
    renewal), each lot expiring within :data:`WARN_BEFORE` (once per lot), and a balance of at
    most :data:`LOW_BALANCE` on a plan with an allotment (once per cycle); each at ``now``."""
    found: list[tuple[str, str, str]] = []
    renewal = facts.next_renewal_at
    if renewal and facts.forfeit_at_next_renewal and renewal - now <= WARN_BEFORE:
        found.append(
            (
                "forfeit_soon",
                f"Use them or lose them: {facts.forfeit_at_next_renewal} credits will be "
                f"forfeited at the renewal on {dates.day(renewal)}",
                f"renewal:{renewal.isoformat()}",
            )
        )
    for lot in facts.lots:
        if lot.expires_at and lot.expires_at - now <= WARN_BEFORE:
            found.append(
                (
                    "expiring_soon",
                    f"{lot.remaining} credits expire on {dates.day(lot.expires_at)}",
                    f"lot:{lot.id}",
                )
            )
    if facts.monthly_allotment and facts.balance <= LOW_BALANCE:
        cycle = facts.cycle_start.isoformat() if facts.cycle_start else "none"
        found.append(
            ("low_balance", f"Low balance: {facts.balance} credits left", f"cycle:{cycle}")
        )
    return [
        DueNotice(now, kind, text, reference, f"{kind}:{member_id}:{reference}")
        for kind, text, reference in found
    ]
