"""Paying for a bulk send's sends: the credits on hand, automatic overage, the total the
member confirmed, and the stop at the first refusal for money (issue 10 §6; docs/rules.md
"Bulk sends").

:func:`apply_budget` walks the sends of :func:`inmail.domain.bulk.plan_recipients` in
list order with the sender's credits: each one is paid from the credits available, then
by automatic overage packs (the rules of :mod:`inmail.domain.purchases`). A send that
would take the bulk past the credits the member confirmed (``max_credits``) is not sent
("over your confirmed total"); the sends after it that cost nothing still are. The first
send refused for money (no credits and no overage, the overage limit, more overage
money than confirmed, or a team seat's monthly cap) stops the bulk send: it and every
recipient after it are not sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from inmail.domain.bulk import OVER_TOTAL, STOPPED, Outcome, Planned, Refusal
from inmail.domain.errors import OverageLimitReached, SeatCapReached
from inmail.domain.messaging import Channel
from inmail.domain.money import Money
from inmail.domain.plans import Pack
from inmail.domain.purchases import OverageSettings, check_overage, overage_packs
from inmail.domain.teams import SeatAllowance


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
    buy more (None, with ``no_overage`` saying why: the plan has none, or it is off).
    ``seat``: the sender's seat cap when a team pool pays (None: their own account)."""

    available: int
    overage: Overage | None
    no_overage: str = "automatic overage is turned off"
    seat: SeatAllowance | None = None


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
        seat = self.wallet.seat
        if seat is not None:  # a seat's cap stops the bulk as an empty pool would
            try:
                seat.allow(send.cost, already=self.spent)
            except SeatCapReached as refused:
                return self._halt(send, Refusal.of(refused))
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
