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
2. :func:`apply_budget` walks those sends in order with the sender's credits: each one
   is paid from the credits available, then by automatic overage packs (the rules of
   :mod:`inmail.domain.purchases`). A send that would take the bulk past the credits the
   member confirmed (``max_credits``) is not sent ("over your confirmed total"), the
   sends after it that cost nothing still are. The first send refused for money (no
   credits and no overage, the overage limit, or more overage money than confirmed)
   stops the bulk: it and every recipient after it are not sent.

A dry run is these two steps and nothing else. The real run stores step 1 and then
sends one recipient at a time, each its own atomic charge; step 2's rules are then
enforced by the sends themselves (the spend, and the bulk's own counters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from inmail.domain.errors import (
    DomainError,
    InmailAlreadyAwaitingResponse,
    InmailNotOnPlan,
    OverageLimitReached,
    TemplatePlaceholderMissing,
    ValidationError,
)
from inmail.domain.messaging import Channel, Reach, new_inmail_route
from inmail.domain.money import Money
from inmail.domain.plans import Pack, Plan
from inmail.domain.purchases import OverageSettings, check_overage, overage_packs
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
MONEY_CODES = frozenset({"insufficient-credits", "overage-limit-reached", "cost-changed"})


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


# ---- step 2: paying for the sends ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overage:
    """Automatic overage as the sender's plan and settings allow it: the pack it buys,
    the per-cycle limit, and what overage billed since the cycle started."""

    pack: Pack
    settings: OverageSettings
    spent_this_cycle: Money


@dataclass(frozen=True, slots=True)
class Wallet:
    """The sender's credits for a bulk send: those usable now, and the overage that may
    buy more (None, with ``no_overage`` saying why: the plan has none, or it is off)."""

    available: int
    overage: Overage | None
    no_overage: str = "automatic overage is turned off"


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What the member confirmed: at most ``credits`` credits and ``overage_minor`` of
    overage money in minor units (None: no such cap, e.g. a dry run without one)."""

    credits: int | None = None
    overage_minor: int | None = None


NOTHING_CONFIRMED = Confirmed()


@dataclass(frozen=True, slots=True)
class Totals:
    """What a bulk send takes, in all.

    ``credits_needed``: the credits every recipient that can be written to costs,
    whatever the cap and the money; ``credits_to_spend``: those the bulk would really
    spend (within ``max_credits``, before any stop): the total to confirm;
    ``overage_packs`` and ``overage_charge`` what automatic overage would buy and bill.
    """

    recipients: int
    to_send: int
    inmails: int
    messages: int
    not_sent: int
    credits_needed: int
    credits_to_spend: int
    credits_available: int
    overage_packs: int
    overage_charge: Money | None


@dataclass(frozen=True, slots=True)
class Stop:
    """Where a refusal for money would stop the bulk: the recipient and the refusal."""

    position: int
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class Budgeted:
    """The plan after paying: every recipient's outcome, the totals, the stop if any."""

    recipients: list[Planned]
    totals: Totals
    stop: Stop | None = None


@dataclass(slots=True)
class _Purse:
    """The credits and money while walking the sends (apply_budget's running state)."""

    wallet: Wallet
    confirmed: Confirmed
    available: int
    spent: int = 0
    packs: int = 0
    billed: Money | None = None
    stop: Stop | None = None
    seen: list[Planned] = field(default_factory=list)

    def pay(self, send: Planned) -> Planned:
        """``send`` as paid, over the confirmed total, or the stop."""
        cap = self.confirmed.credits
        if cap is not None and self.spent + send.cost > cap:
            return send.refused(over_total(self.spent, send.cost, cap))
        if self.available >= send.cost:
            self.available -= send.cost
            self.spent += send.cost
            return send
        return self._overage(send)

    def _overage(self, send: Planned) -> Planned:
        overage = self.wallet.overage
        shortfall = send.cost - self.available
        if overage is None:
            return self._halt(send, _insufficient(self.available, send.cost, self.wallet))
        count = overage_packs(shortfall, overage.pack)
        price = overage.pack.price.times(count)
        before = self.billed or Money(0, price.currency)
        billed = before + price
        try:
            check_overage(overage.settings, overage.spent_this_cycle + before, price)
        except OverageLimitReached as refused:
            return self._halt(send, Refusal.of(refused))
        agreed = self.confirmed.overage_minor
        if agreed is not None and billed.amount_minor > agreed:
            return self._halt(send, _overage_not_confirmed(billed, agreed))
        self.available += count * overage.pack.credits - send.cost
        self.spent += send.cost
        self.packs += count
        self.billed = billed
        return replace(send, overage=price)

    def _halt(self, send: Planned, refusal: Refusal) -> Planned:
        self.stop = Stop(send.position, refusal)
        return send.refused(refusal)


def over_total(spent: int, cost: int, cap: int) -> Refusal:
    """Not sent: it would take the bulk past the credits the member confirmed."""
    return Refusal(
        OVER_TOTAL,
        f"not sent: over your confirmed total of {cap} credit(s) ({spent} spent, this one "
        f"costs {cost})",
    )


def stopped_by(stop: Stop) -> Refusal:
    """Not sent: a refusal for money at an earlier recipient stopped the bulk."""
    return Refusal(
        STOPPED,
        f"not sent: stopped at #{stop.position} ({stop.refusal.code}); nothing more was charged",
    )


def _insufficient(available: int, cost: int, wallet: Wallet) -> Refusal:
    return Refusal(
        "insufficient-credits",
        f"you have {available} credit(s) left for this bulk send; this one needs {cost} and "
        f"{wallet.no_overage}",
    )


def _overage_not_confirmed(billed: Money, agreed_minor: int) -> Refusal:
    shown = "no overage" if agreed_minor == 0 else str(Money(agreed_minor, billed.currency))
    return Refusal(
        "cost-changed",
        f"this would bill {billed} of overage in all, but you confirmed {shown}; nothing more "
        "was charged",
    )


def apply_budget(planned: Sequence[Planned], wallet: Wallet, confirmed: Confirmed) -> Budgeted:
    """Step 2: pay for the sends of :func:`plan_recipients` in order (see the module)."""
    purse = _Purse(wallet, confirmed, wallet.available)
    out: list[Planned] = []
    for send in planned:
        if send.outcome != Outcome.SEND:
            out.append(send)
        elif purse.stop is not None:
            out.append(send.refused(stopped_by(purse.stop)))
        else:
            out.append(purse.pay(send))
    return Budgeted(out, _totals(planned, out, purse), purse.stop)


def _totals(planned: Sequence[Planned], out: Sequence[Planned], purse: _Purse) -> Totals:
    sends = [p for p in out if p.outcome == Outcome.SEND]
    messages = sum(1 for p in sends if p.channel == Channel.MESSAGE)
    return Totals(
        recipients=len(out),
        to_send=len(sends),
        inmails=len(sends) - messages,
        messages=messages,
        not_sent=len(out) - len(sends),
        credits_needed=sum(p.cost for p in planned if p.outcome == Outcome.SEND),
        credits_to_spend=purse.spent,
        credits_available=purse.wallet.available,
        overage_packs=purse.packs,
        overage_charge=purse.billed,
    )


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
