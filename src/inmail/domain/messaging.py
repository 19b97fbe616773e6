"""Reaching someone: which channel, what it costs, and the rules after an InMail (SPEC §4, §5).

Everything here is decided from a :class:`Reach` (what is true between a
sender and a recipient right now) or a :class:`ThreadState`; the services
gather those facts and persist the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from inmail.domain.dates import day_and_time
from inmail.domain.errors import (
    CostChanged,
    FollowUpLimitReached,
    FollowUpTooEarly,
    InmailAlreadyAwaitingResponse,
    InmailNotOnPlanWithRoutes,
    RecipientBlockedByYou,
    RecipientIsConnection,
    RecipientNotAcceptingInmail,
)
from inmail.domain.plans import Plan
from inmail.domain.text import TextRule
from inmail.domain.timeline import later

SUBJECT_MAX = 200
BODY_MAX = 2000
SUBJECT = TextRule(SUBJECT_MAX)  # an InMail's subject: one line
BODY = TextRule(BODY_MAX, multiline=True)  # any message's body
SNIPPET_LENGTH = 140  # characters of a message shown in lists of threads
RESPONSE_WINDOW = timedelta(days=30)


class Channel(StrEnum):
    MESSAGE = "message"
    INMAIL = "inmail"
    OPEN_PROFILE = "open_profile"
    GROUP_MESSAGE = "group_message"
    CONVERSATION = "conversation"
    INTRODUCTION = "introduction"


class ThreadStatus(StrEnum):
    AWAITING_RESPONSE = "awaiting_response"
    ANSWERED = "answered"
    DECLINED = "declined"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class Reach:
    """What is true between a sender and a recipient when the sender wants to reach them."""

    sender_plan: Plan
    connected: bool
    blocked: bool  # either one blocked the other
    recipient_accepts_inmail: bool
    recipient_open_profile: bool  # opened, and on a paid plan (the only ones who may open it)
    open_conversation: bool  # an answered InMail thread between them exists
    group_peer: bool = False  # a shared group, and the recipient takes group messages
    free_routes: tuple[tuple[str, str], ...] = ()  # (channel, detail) of each free route
    awaiting: AwaitingInmail | None = None  # the sender's InMail to them still unanswered
    you_blocked: bool = False  # the sender blocked them (told as such: it is the sender's act)


@dataclass(frozen=True, slots=True)
class AwaitingInmail:
    """An InMail thread from the sender to the recipient that has had no response yet."""

    thread_id: str
    last_inmail_at: datetime  # UTC: the first InMail, or the latest follow-up
    followups_sent: int


@dataclass(frozen=True, slots=True)
class Route:
    channel: Channel
    cost: int
    reason: str


@dataclass(frozen=True, slots=True)
class Agreed:
    """What a member was shown and agreed to before a send (a web page's preview).

    ``credits``: the InMail's cost; ``overage_minor``: the overage it would bill,
    in minor units (0: none was shown). None: whatever the rules charge (the
    API's callers, who can ask for a quote first).
    """

    credits: int | None = None
    overage_minor: int | None = None


ANYTHING = Agreed()


def check_agreed_cost(route: Route, agreed: Agreed) -> None:
    """Never charge unseen: refuse a send that now costs more credits than shown.

    Raises CostChanged.
    """
    if agreed.credits is not None and route.cost > agreed.credits:
        raise CostChanged(
            f"sending now costs {route.cost} credit(s), not the {agreed.credits} you were "
            f"shown ({route.reason}); nothing was charged: look at the new cost and send again"
        )


def check_text(subject: str | None, body: str) -> None:
    """Subject (for InMail) and body by the text rules :data:`SUBJECT` and :data:`BODY`."""
    if subject is not None:
        SUBJECT.check(subject, field="subject")
    BODY.check(body, field="body")


def snippet(body: str) -> str:
    """The first :data:`SNIPPET_LENGTH` characters of a message body, for lists."""
    return body[:SNIPPET_LENGTH]


def inmail_route(reach: Reach) -> Route:
    """How an InMail to this recipient goes and costs, or the refusal (SPEC §4).

    The order of the checks is the order a member would want to hear them:
    free ways first, then whether the recipient takes InMail, then the plan.
    """
    if reach.connected:
        raise RecipientIsConnection(
            "you are connected: send a free message (POST /v1/messages) instead"
        )
    _check_not_blocked_by_you(reach)
    if reach.blocked or not reach.recipient_accepts_inmail:
        raise RecipientNotAcceptingInmail("this member does not accept InMail from you")
    if reach.recipient_open_profile:
        return Route(Channel.OPEN_PROFILE, 0, "their profile is open: InMail to them is free")
    plan = reach.sender_plan
    if not plan.inmail:
        routes = [detail for _, detail in reach.free_routes]
        listed = "; ".join(routes) if routes else "none found yet"
        raise InmailNotOnPlanWithRoutes(
            f"the {plan.name} plan does not include InMail. Free routes: {listed}", routes
        )
    return Route(Channel.INMAIL, plan.inmail_cost, f"InMail costs {plan.inmail_cost} credit(s)")


def new_inmail_route(reach: Reach) -> Route:
    """:func:`inmail_route` for a new InMail thread, which also waits for the last one (SPEC §4).

    Raises what :func:`inmail_route` raises, then InmailAlreadyAwaitingResponse
    (see :func:`check_nothing_awaiting`). A follow-up in the awaiting thread
    takes :func:`inmail_route` and :func:`check_followup` instead.
    """
    route = inmail_route(reach)
    check_nothing_awaiting(reach.awaiting, reach.sender_plan)
    return route


def _check_not_blocked_by_you(reach: Reach) -> None:
    if reach.you_blocked:
        raise RecipientBlockedByYou("you blocked this member: unblock them to write to them")


def cheapest_route(reach: Reach) -> Route:
    """The cheapest way to reach the recipient, for the cost preview.

    Raises the refusal of a new InMail (:func:`new_inmail_route`) when no free way exists.
    A block either way closes every way, the free ones too (the sends refuse them): a
    block by the recipient is told in the words of InMail turned off, so nobody learns
    who blocked them; the sender's own block is told as such (RecipientBlockedByYou).
    """
    _check_not_blocked_by_you(reach)
    if reach.blocked:
        raise RecipientNotAcceptingInmail("this member does not accept InMail from you")
    if reach.connected:
        return Route(Channel.MESSAGE, 0, "free: 1st-degree connection")
    if reach.open_conversation:
        return Route(Channel.CONVERSATION, 0, "free: you have an open conversation")
    if reach.group_peer:
        return Route(Channel.GROUP_MESSAGE, 0, "free: you share a group")
    return new_inmail_route(reach)


@dataclass(frozen=True, slots=True)
class ThreadState:
    status: ThreadStatus
    last_inmail_at: datetime
    followups_sent: int


def check_followup(thread: ThreadState, plan: Plan, now: datetime) -> None:
    """A follow-up InMail: only in an unanswered thread, after the wait, within the limit."""
    if thread.followups_sent >= plan.max_followups:
        raise FollowUpLimitReached(
            f"this thread has had its {plan.max_followups} follow-up(s); wait for a response"
        )
    due = followup_due_at(thread.last_inmail_at, plan)
    if due is None:
        raise FollowUpTooEarly(
            f"a follow-up would be possible only after 9999-12-31 "
            f"({plan.followup_after_days} days without a response)"
        )
    if now < due:
        raise FollowUpTooEarly(
            f"a follow-up is possible from {day_and_time(due)} "
            f"({plan.followup_after_days} days without a response)"
        )


def check_nothing_awaiting(awaiting: AwaitingInmail | None, plan: Plan) -> None:
    """SPEC §4: no new InMail while the sender's last one to this recipient awaits a response.

    ``plan`` is the sender's (its ``followup_after_days`` and ``max_followups``).
    Raises InmailAlreadyAwaitingResponse naming the thread and when a follow-up
    becomes possible there (:func:`next_followup_at`; None: never), so the
    member writes again by the follow-up of SPEC §5 instead of a second thread.
    """
    if awaiting is None:
        return
    at = next_followup_at(awaiting.last_inmail_at, awaiting.followups_sent, plan)
    thread = awaiting.thread_id
    waiting = f"your InMail to this member (thread {thread}) is still awaiting a response"
    if at is not None:
        how = (
            f"write again by a follow-up in that thread (POST /v1/threads/{thread}/messages), "
            f"possible from {utc_text(at)} ({plan.followup_after_days} days after its last InMail)"
        )
    elif awaiting.followups_sent >= plan.max_followups:
        how = (
            f"it has had its {plan.max_followups} follow-up(s), so no further follow-up is "
            "possible: wait for their response"
        )
    else:
        how = "no follow-up is possible before the end of the calendar: wait for their response"
    raise InmailAlreadyAwaitingResponse(
        f"{waiting}; nothing was charged: {how}", thread_id=thread, follow_up_at=at
    )


def next_followup_at(last_inmail_at: datetime, followups_sent: int, plan: Plan) -> datetime | None:
    """When :func:`check_followup` first lets a follow-up through; None if it never will."""
    if followups_sent >= plan.max_followups:
        return None
    return followup_due_at(last_inmail_at, plan)


def utc_text(moment: datetime) -> str:
    """A UTC time as the API writes it: ISO 8601 with ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")


def followup_due_at(last_inmail_at: datetime, plan: Plan) -> datetime | None:
    """When the wait for a follow-up is over; None if that is after 9999-12-31 (never)."""
    return later(last_inmail_at, timedelta(days=plan.followup_after_days))


def credit_back_applies(credit_back_days: int, sent_at: datetime, responded_at: datetime) -> bool:
    """SPEC §5: with credit_back_days = N > 0, a response within N days returns the credit."""
    return credit_back_days > 0 and responded_at - sent_at <= timedelta(days=credit_back_days)


@dataclass(frozen=True, slots=True)
class SentInmail:
    sent_at: datetime
    responded_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResponseStats:
    inmails_sent: int
    responses: int
    counted: int
    response_rate: float | None


def response_stats(inmails: list[SentInmail], now: datetime) -> ResponseStats:
    """SPEC §5: responses within 30 days / InMails that are older than 30 days or answered."""
    responded = [
        m for m in inmails if m.responded_at and m.responded_at - m.sent_at <= RESPONSE_WINDOW
    ]
    counted = [m for m in inmails if m.responded_at or now - m.sent_at > RESPONSE_WINDOW]
    rate = len(responded) / len(counted) if counted else None
    return ResponseStats(len(inmails), len(responded), len(counted), rate)
