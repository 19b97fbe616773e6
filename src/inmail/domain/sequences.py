"""Scheduled follow-ups: one follow-up InMail that sends itself if no response came.

Issue 10 §7. When sending an InMail a member may schedule one follow-up, ``after_days``
days later (from their plan's follow-up wait, SPEC §5's 7 days by default, up to the
deployment's longest schedule, 28 by default). When it is due it goes out only if the
thread still awaits a response, through the normal follow-up path (SPEC §5: charged
then, within ``max_followups``, under the sender's terms of that moment).

A schedule's life::

    pending ──▶ sent       the follow-up went out (its message is kept)
        │ ────▶ failed     a rule refused it (no credits, InMail turned off, ...):
        │                  nothing was charged and the sender is told why
        └─────▶ cancelled  a reply or a decline, the sender, or a follow-up sent by hand

The rules here decide whether a schedule may be made, when it is due, and what
becomes of a due one; ``services/sequences.py`` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from inmail.domain.errors import ValidationError
from inmail.domain.messaging import BODY, ThreadStatus
from inmail.domain.plans import Plan
from inmail.domain.timeline import LATEST, later

FOLLOW_UP_MAX_DAYS = 28
"""The default longest wait a member may schedule a follow-up for (a setting)."""

MIN_AFTER_DAYS = 1
"""The shortest wait, whatever the plan's (a plan may allow follow-ups at once): a
follow-up "if no reply after 0 days" would go out with the InMail."""

MAX_ATTEMPTS = 5
"""Runs of one schedule that may end without a decision (a crash, a busy database)
before it is given up as failed."""

DEFAULT_LEASE = timedelta(minutes=5)
"""How long a run holds a claimed schedule; after a crash another run takes it then."""


class ScheduleStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"


class CancelReason(StrEnum):
    """Why a schedule was cancelled (its ``reason_code``)."""

    ANSWERED = "answered"
    DECLINED = "declined"
    BY_SENDER = "cancelled-by-sender"
    FOLLOWED_UP_BY_HAND = "followed-up-by-hand"


CANCEL_TEXT = {
    CancelReason.ANSWERED: "they replied: no follow-up is needed",
    CancelReason.DECLINED: "they declined the InMail",
    CancelReason.BY_SENDER: "you cancelled it",
    CancelReason.FOLLOWED_UP_BY_HAND: "you sent a follow-up yourself",
}


@dataclass(frozen=True, slots=True)
class FollowUpRequest:
    """What a sender asks for: a follow-up ``after_days`` days after the InMail.

    Its text is ``body``, or the template ``template_id``'s body rendered for the recipient
    when the InMail is sent (services.inmail.plan_follow_up).
    """

    after_days: int
    body: str | None = None
    template_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleTerms:
    """The ``after_days`` a sender may choose now: ``first`` to ``last`` days (inclusive).

    ``allowed`` is False when no follow-up can be scheduled; ``reason`` says why.
    """

    first: int
    last: int
    allowed: bool
    reason: str


def schedule_terms(plan: Plan, max_days: int) -> ScheduleTerms:
    """From the plan's follow-up wait (SPEC §5, ``followup_after_days``; at least
    :data:`MIN_AFTER_DAYS`) to ``max_days``."""
    first, last = max(plan.followup_after_days, MIN_AFTER_DAYS), max_days
    if plan.max_followups == 0:
        return ScheduleTerms(first, last, False, f"the {plan.name} plan allows no follow-ups")
    if first > last:
        return ScheduleTerms(
            first,
            last,
            False,
            f"the {plan.name} plan's follow-up wait ({first} days) is longer than the "
            f"longest schedule ({last} days)",
        )
    return ScheduleTerms(first, last, True, f"a follow-up may be scheduled {first}-{last} days on")


def check_schedule(request: FollowUpRequest, plan: Plan, max_days: int) -> None:
    """A follow-up a sender on ``plan`` may schedule, with one text that passes the body rule.

    Raises ValidationError naming ``follow_up`` (the plan allows none),
    ``follow_up.after_days`` (outside :func:`schedule_terms`, the range stated) or
    ``follow_up.body``.
    """
    terms = schedule_terms(plan, max_days)
    if not terms.allowed:
        field = "follow_up" if plan.max_followups == 0 else "follow_up.after_days"
        raise ValidationError(f"no follow-up can be scheduled: {terms.reason}", field=field)
    if not terms.first <= request.after_days <= terms.last:
        raise ValidationError(
            f"follow_up.after_days must be from {terms.first} to {terms.last} days (your "
            f"plan's follow-up wait to the longest schedule), not {request.after_days}",
            field="follow_up.after_days",
        )
    if (request.body is None) == (request.template_id is None):
        raise ValidationError(
            "a scheduled follow-up takes its text from body or from template_id (one of them)",
            field="follow_up.body",
        )
    if request.body is not None:
        BODY.check(request.body, field="follow_up.body")


def due_at(sent_at: datetime, after_days: int) -> datetime:
    """When the follow-up is due: ``after_days`` days after the InMail was sent (UTC).

    Raises ValidationError (``follow_up.after_days``) when that is past 9999-12-31.
    """
    due = later(sent_at, timedelta(days=after_days))
    if due is None:
        raise ValidationError(
            "that follow-up would be due after the end of the calendar (9999-12-31)",
            field="follow_up.after_days",
        )
    return due


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a due schedule: send it, or cancel it for ``reason``."""

    send: bool
    reason: CancelReason | None = None


SEND = Verdict(send=True)


def verdict(thread_status: ThreadStatus, followups_sent: int) -> Verdict:
    """A due schedule is sent only into a thread still awaiting a response, as its first
    follow-up: a reply or decline, or a follow-up the sender wrote by hand, cancels it."""
    if thread_status == ThreadStatus.ANSWERED:
        return Verdict(send=False, reason=CancelReason.ANSWERED)
    if thread_status == ThreadStatus.DECLINED:
        return Verdict(send=False, reason=CancelReason.DECLINED)
    if followups_sent > 0:
        return Verdict(send=False, reason=CancelReason.FOLLOWED_UP_BY_HAND)
    return SEND


def gave_up(attempts: int) -> bool:
    """Whether a schedule claimed for the ``attempts``-th time has had all its tries
    (:data:`MAX_ATTEMPTS` runs that ended without a decision) and is failed for good."""
    return attempts > MAX_ATTEMPTS


def lease_until(now: datetime, lease: timedelta) -> datetime:
    """Until when a run that claims a schedule at ``now`` holds it."""
    return later(now, lease) or LATEST


def failure_text(reason: str) -> str:
    """The sender's notification when a due follow-up was refused (nothing was charged)."""
    return f"Your scheduled follow-up was not sent: {reason}. Nothing was charged."


def sent_text(cost: int) -> str:
    """The sender's notification when their scheduled follow-up went out."""
    credits = "free" if cost == 0 else f"{cost} credit{'' if cost == 1 else 's'} spent"
    return f"Your scheduled follow-up was sent ({credits})"
