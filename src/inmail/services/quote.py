"""The cost preview: what reaching someone costs, why, and the free routes (SPEC §7).

:func:`quote` answers for one recipient; :func:`cheapest_ways` for a page of
them (a search), with the same rules on the same facts, gathered in batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import spending_order
from inmail.domain.errors import DomainError, InmailAlreadyAwaitingResponse, SeatCapReached
from inmail.domain.messaging import Channel, Reach, cheapest_route
from inmail.domain.money import Money
from inmail.domain.purchases import check_overage, overage_packs
from inmail.domain.teams import SeatAllowance
from inmail.services.context import Deps
from inmail.services.reach import gather_reach, recipient_as_of
from inmail.services.reach_many import reaches
from inmail.services.seats import Payer, payer_as_of, seat_allowance
from inmail.store import accounts as account_store
from inmail.store import catalog as catalog_store
from inmail.store.reach import Recipient


@dataclass(frozen=True, slots=True)
class CheapestWay:
    """The cheapest way to reach someone, what it costs (credits) and why."""

    channel: Channel
    cost_credits: int
    allowed: bool
    reason: str
    overage_charge: Money | None
    # While the sender's InMail to them awaits a response (and no free way exists): that
    # thread, and when a follow-up there becomes possible (UTC; None: never).
    thread_id: str | None = field(default=None, kw_only=True)
    follow_up_at: datetime | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Quote(CheapestWay):
    alternatives: tuple[tuple[str, str], ...]


def quote(deps: Deps, *, member_id: str, to: str, now: datetime) -> Quote:
    """What reaching ``to`` costs ``member_id`` at ``now`` (credits), or why it is not allowed.

    While an InMail of theirs to ``to`` awaits a response and no free way
    exists, it is not allowed: ``thread_id`` names that thread and
    ``follow_up_at`` (UTC) says when a follow-up there becomes possible.
    """
    payer = payer_as_of(deps, member_id, now)  # a team seat: the team's plan and pool
    recipient = recipient_as_of(deps, payer.sender, to, now)
    with deps.db.read() as conn:
        reach = gather_reach(deps, conn, payer.sender, recipient)
        way = Purse(conn, payer, now).way(reach)
    return Quote(
        way.channel,
        way.cost_credits,
        way.allowed,
        way.reason,
        way.overage_charge,
        reach.free_routes,
        thread_id=way.thread_id,
        follow_up_at=way.follow_up_at,
    )


@dataclass(frozen=True, slots=True)
class Reachable:
    """A member as a sender sees them: their degree, and the cheapest way to reach them."""

    degree: int
    way: CheapestWay


def cheapest_ways(
    deps: Deps, conn: Connection, payer: Payer, found: Mapping[str, Recipient], now: datetime
) -> dict[str, Reachable]:
    """What :func:`quote` would answer for each of ``found`` (``reach_many.recipients``; not
    the sender), in one read.

    ``payer`` (``seats.read_payer``) is as of ``now`` (not :meth:`Payer.due`), and so must
    the recipients be: catch up those with a renewal due first (``current_account``, a
    write), as :func:`quote` does.
    """
    if not found:
        return {}
    purse = Purse(conn, payer, now)
    reached = reaches(deps, conn, payer.sender, found)
    return {i: Reachable(r.degree, purse.way(r.reach)) for i, r in reached.items()}


class Purse:
    """What the payer's next send may spend as of ``now``, to price one route after another
    (SPEC §7, §10): the credits of the account that pays (a seat holder's: the pool's), its
    overage permission, and the seat's monthly cap.

    Read once, in ``conn``: the lots (unless ``payer.book`` holds them), the seat's usage
    this month when a paid route first meets it; an overage is looked into once per cost.
    """

    def __init__(self, conn: Connection, payer: Payer, now: datetime) -> None:
        self._conn, self._account, self._now = conn, payer.pays, now
        book = account_store.load_book(conn, payer.pays) if payer.book is None else payer.book
        self.available = sum(lot.remaining for lot in spending_order(book.lots, now))
        self._overages: dict[int, tuple[Money | None, str]] = {}
        self._seat = payer.seat
        self._allowance: SeatAllowance | None = None

    def way(self, reach: Reach) -> CheapestWay:
        try:
            route = cheapest_route(reach)
        except DomainError as refusal:
            return _refused(reach.sender_plan.inmail_cost, refusal)
        if route.cost <= 0:
            return CheapestWay(route.channel, route.cost, True, route.reason, None)
        over_cap = self._over_seat_cap(route.cost)
        if over_cap is not None:
            return CheapestWay(route.channel, route.cost, False, over_cap, None)
        if route.cost <= self.available:
            return CheapestWay(route.channel, route.cost, True, route.reason, None)
        price, why_not = self._overage(route.cost)
        if price is None:
            return CheapestWay(route.channel, route.cost, False, why_not, None)
        why = f"{route.reason}; you have {self.available}, so overage will bill {price}"
        return CheapestWay(route.channel, route.cost, True, why, price)

    def _over_seat_cap(self, cost: int) -> str | None:
        """The refusal the send would give (402 ``seat-cap-reached``, naming the cap and the
        admins) when ``cost`` credits would take the seat past its monthly cap; else None.
        Checked before the credits, as the send checks it (``seats.open_payer``)."""
        if self._seat is None:
            return None
        if self._allowance is None:
            self._allowance = seat_allowance(self._conn, self._seat, self._now)
        try:
            self._allowance.allow(cost)
        except SeatCapReached as refused:
            return refused.message
        return None

    def _overage(self, cost: int) -> tuple[Money | None, str]:
        """(what an overage for ``cost`` would bill, "") or (None, why there can be none)."""
        if cost not in self._overages:
            self._overages[cost] = self._look_into_overage(cost)
        return self._overages[cost]

    def _look_into_overage(self, cost: int) -> tuple[Money | None, str]:
        account, conn, now = self._account, self._conn, self._now
        plan = account.subscription.plan
        if not (plan.overage and account.overage.auto_overage):
            return None, f"not enough credits ({self.available}) and automatic overage is off"
        pack = next(p for p in catalog_store.all_packs(conn) if p.code == plan.overage_pack)
        price = pack.price.times(overage_packs(cost - self.available, pack))
        cycle = account.subscription.current_cycle(now)
        since = cycle.start if cycle else now
        spent = account_store.overage_spent_since(conn, account.member_id, since, price.currency)
        try:
            check_overage(account.overage, spent, price)
        except DomainError as refusal:
            return None, refusal.message
        return price, ""


def _refused(cost: int, refusal: DomainError) -> CheapestWay:
    """No InMail, and no free way: why (and the awaiting thread, when that is why)."""
    refused = CheapestWay(Channel.INMAIL, cost, False, refusal.message, None)
    if isinstance(refusal, InmailAlreadyAwaitingResponse):
        return replace(refused, thread_id=refusal.thread_id, follow_up_at=refusal.follow_up_at)
    return refused
