"""Bulk sends: one template to a list of recipients, planned before anything is charged
(SPEC §8 "Bulk send"; issue 10 §6; docs/rules.md "Bulk sends").

A bulk send is planned in two steps, both pure:

1. :func:`plan_recipients` decides, recipient by recipient in the order listed, whether
   they can be written to at all and how: a duplicate, yourself, an unknown member, a
   connection (a free message, or skipped, as the member chose), a member you blocked,
   one who takes no InMail, one your InMail still awaits a response from, a template
   placeholder without a value; otherwise the channel and the cost of an InMail. The
   template's variants alternate A, B, A, B ... over the recipients that will be written
   to (a recipient refused for any reason takes no turn).
2. :func:`inmail.domain.bulk_budget.apply_budget` pays for those sends in order with the
   sender's credits, the confirmed total and overage, and says where a refusal for money
   would stop the bulk send.

A dry run is these two steps and nothing else. The real run stores step 1 and then
sends one recipient at a time, each its own atomic charge; step 2's rules are then
enforced by the sends themselves (the spend, and the bulk send's own running total).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from inmail.domain.errors import (
    DomainError,
    InmailAlreadyAwaitingResponse,
    InmailNotOnPlan,
    TemplatePlaceholderMissing,
    ValidationError,
)
from inmail.domain.messaging import Channel, Reach, new_inmail_route
from inmail.domain.money import Money
from inmail.domain.plans import Plan
from inmail.domain.templates import Letter, Variant

MAX_RECIPIENTS = 500  # the default of the setting INMAIL_BULK_SEND_MAX_RECIPIENTS


class Connections(StrEnum):
    """What a bulk send does with a recipient who is a 1st-degree connection."""

    MESSAGE = "message"  # the template's body as a free message (the default)
    SKIP = "skip"  # not written to at all


class Outcome(StrEnum):
    """Where one recipient of a bulk send stands."""

    SEND = "send"  # a dry run: would be sent
    PENDING = "pending"  # a real run: still to send
    SENT = "sent"
    NOT_SENT = "not_sent"


class Status(StrEnum):
    """Where a bulk send stands as a whole."""

    PENDING = "pending"  # stored, no recipient tried yet
    RUNNING = "running"
    DONE = "done"  # every recipient sent or not sent
    STOPPED = "stopped"  # a refusal for money stopped it; the rest were not sent

    @property
    def finished(self) -> bool:
        return self in (Status.DONE, Status.STOPPED)


# The reasons a recipient is not sent that are the bulk send's own (the others are the
# codes of the errors in inmail.domain.errors that a single send would meet).
DUPLICATE = "duplicate-recipient"
YOURSELF = "recipient-is-you"
BLOCKED = "recipient-blocked"
OVER_TOTAL = "over-confirmed-total"
STOPPED = "stopped"
# A seat's monthly cap is the team's limit on its spending: like an empty pool, it stops.
MONEY_CODES = frozenset(
    {"insufficient-credits", "overage-limit-reached", "cost-changed", "seat-cap-reached"}
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a recipient is not sent: a stable ``code`` and words for people (``detail``).

    ``missing`` names the template placeholders without a value (``first_name`` ...);
    ``thread_id`` and ``follow_up_at`` (UTC; None: never) go with an InMail awaiting a
    response.
    """

    code: str
    detail: str
    missing: tuple[str, ...] = ()
    thread_id: str | None = None
    follow_up_at: datetime | None = None

    @classmethod
    def of(cls, error: DomainError) -> Refusal:
        if isinstance(error, TemplatePlaceholderMissing):
            names = tuple(dict.fromkeys(m.placeholder for m in error.missing))
            return cls(error.code, error.message, missing=names)
        if isinstance(error, InmailAlreadyAwaitingResponse):
            return cls(
                error.code,
                error.message,
                thread_id=error.thread_id,
                follow_up_at=error.follow_up_at,
            )
        return cls(error.code, error.message)

    @property
    def is_money(self) -> bool:
        """A refusal for money stops the whole bulk send."""
        return self.code in MONEY_CODES


@dataclass(frozen=True, slots=True)
class Facts:
    """What is true between the sender and one listed member (gathered by the services).

    ``letters`` is the template rendered for them, per variant: the text, or the
    reason it cannot be (a placeholder without a value, text over the limits).
    """

    reach: Reach  # with the sender's InMail to them awaiting a response, if there is one
    you_blocked: bool  # the sender blocked them (they may also have blocked the sender)
    letters: Mapping[Variant, Letter | DomainError]


@dataclass(frozen=True, slots=True)
class Way:
    """How one recipient is written to: the channel and its cost in credits."""

    channel: Channel
    cost: int


def way_to(facts: Facts, connections: Connections, plan: Plan) -> Way | Refusal:
    """How the sender (on ``plan``) reaches this recipient in a bulk send, or why not.

    A connection gets a free message (or is skipped); a member you blocked is said to
    be so; one who blocked you reads as not taking InMail (never revealing a block);
    then the rules of a new InMail (:func:`inmail.domain.messaging.new_inmail_route`),
    the one InMail awaiting a response per recipient (SPEC §4) included.
    """
    reach = facts.reach
    if reach.connected and not reach.blocked:
        if connections == Connections.SKIP:
            return Refusal(
                "recipient-is-connection",
                "you are connected and chose to skip connections: message them for free",
            )
        return Way(Channel.MESSAGE, 0)
    if facts.you_blocked:
        return Refusal(BLOCKED, "you blocked this member: unblock them to write to them")
    try:
        route = new_inmail_route(reach)
    except InmailNotOnPlan:
        return Refusal(
            "inmail-not-on-plan",
            f"the {plan.name} plan does not include InMail: see the free ways to reach them "
            "in their cost preview",
        )
    except DomainError as refused:
        return Refusal.of(refused)
    return Way(route.channel, route.cost)


@dataclass(frozen=True, slots=True)
class Planned:
    """One listed recipient (``position`` counts from 1) and what the bulk does for them.

    A recipient to send has a ``channel``, a ``cost`` (credits), a ``variant`` and the
    rendered ``letter``; one not sent has a ``refusal``.
    """

    position: int
    member_id: str
    outcome: Outcome
    channel: Channel | None = None
    cost: int = 0
    variant: Variant | None = None
    letter: Letter | None = None
    refusal: Refusal | None = None
    overage: Money | None = None  # what this send's overage packs would bill (apply_budget)

    def refused(self, refusal: Refusal) -> Planned:
        return replace(self, outcome=Outcome.NOT_SENT, refusal=refusal, overage=None)


def _not_sent(position: int, member_id: str, refusal: Refusal) -> Planned:
    return Planned(position, member_id, Outcome.NOT_SENT, refusal=refusal)


def plan_recipients(
    sender_id: str,
    recipients: Sequence[str],
    facts: Mapping[str, Facts],
    *,
    connections: Connections,
    plan: Plan,
    has_b: bool,
) -> list[Planned]:
    """Step 1: each listed recipient, in order, with how they are written to or why not.

    ``facts`` has an entry for every listed member who exists (none for yourself or
    an unknown id). ``plan`` is the sender's. Variants alternate A, B, A, B ... over
    the recipients written to (A only when the template has no B); a recipient whose
    variant cannot be rendered for them is not sent and the next one takes that turn.
    """
    first_at: dict[str, int] = {}
    planned: list[Planned] = []
    turn = 0
    for position, member_id in enumerate(recipients, start=1):
        refusal, way = _screen(sender_id, member_id, first_at, facts, connections, plan)
        first_at.setdefault(member_id, position)
        if way is None:
            assert refusal is not None
            planned.append(_not_sent(position, member_id, refusal))
            continue
        variant = Variant.B if has_b and turn % 2 == 1 else Variant.A
        letter = facts[member_id].letters[variant]
        if isinstance(letter, DomainError):
            planned.append(_not_sent(position, member_id, Refusal.of(letter)))
            continue
        turn += 1
        planned.append(
            Planned(position, member_id, Outcome.SEND, way.channel, way.cost, variant, letter)
        )
    return planned


def _screen(
    sender_id: str,
    member_id: str,
    first_at: Mapping[str, int],
    facts: Mapping[str, Facts],
    connections: Connections,
    plan: Plan,
) -> tuple[Refusal | None, Way | None]:
    """(refusal, None) or (None, way) for one listed id, before its text is chosen."""
    if member_id in first_at:
        return Refusal(DUPLICATE, f"listed before, at #{first_at[member_id]}: sent once"), None
    if member_id == sender_id:
        return Refusal(YOURSELF, "that is you: a bulk send writes to others"), None
    found = facts.get(member_id)
    if found is None:
        return Refusal("not-found", f"there is no member {member_id!r}"), None
    way = way_to(found, connections, plan)
    return (way, None) if isinstance(way, Refusal) else (None, way)


def check_recipients(recipients: Sequence[str], limit: int) -> None:
    """1 to ``limit`` recipients a bulk send (duplicates count: they are listed)."""
    if not recipients:
        raise ValidationError("list at least one recipient", field="recipients")
    if len(recipients) > limit:
        raise ValidationError(
            f"a bulk send goes to at most {limit} recipients, not {len(recipients)}: "
            "split the list",
            field="recipients",
        )
