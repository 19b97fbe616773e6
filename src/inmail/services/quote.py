"""The cost preview: what reaching someone costs, why, and the free routes (SPEC §7).

:func:`quote` answers for one recipient; :func:`cheapest_ways` for a page of
them (a search), with the same rules on the same facts, gathered in batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import Book, spending_order
from inmail.domain.errors import DomainError, InmailAlreadyAwaitingResponse, SeatCapReached
from inmail.domain.messaging import Channel, Reach, cheapest_route
from inmail.domain.money import Money
from inmail.domain.purchases import check_overage, overage_packs
from inmail.services.context import Deps
from inmail.services.reach import gather_reach, recipient_as_of
from inmail.services.reach_many import reaches
from inmail.services.seats import paying_account, seat_allowance, sending_account
from inmail.store import accounts as account_store
from inmail.store import catalog as catalog_store
from inmail.store import teams as team_store
from inmail.store.accounts import Account
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
    account = sending_account(deps, member_id, now)  # a team seat: the team's plan
    payer = paying_account(deps, member_id, now)  # and its pool
    recipient = recipient_as_of(deps, account, to, now)
    with deps.db.read() as conn:
        reach = gather_reach(deps, conn, account, recipient)
        way = _within_seat_cap(conn, member_id, Purse(conn, payer, now).way(reach), now)
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


def _within_seat_cap(
    conn: Connection, member_id: str, way: CheapestWay, now: datetime
) -> CheapestWay:
    """``way``, not allowed when it costs credits that would take the member's team seat
    past its monthly cap: the reason is the refusal the send would give (402
    ``seat-cap-reached``), so the member sees it before writing, not after."""
    seat = team_store.seat_of(conn, member_id)
    if seat is None or not way.allowed or way.cost_credits <= 0:
        return way
    try:
        seat_allowance(conn, seat, now).allow(way.cost_credits)
    except SeatCapReached as refused:
        return replace(way, allowed=False, reason=str(refused))
    return way


@dataclass(frozen=True, slots=True)
class Reachable:
    """A member as a sender sees them: their degree, and the cheapest way to reach them."""

    degree: int
    way: CheapestWay


def cheapest_ways(
    deps: Deps,
    conn: Connection,
    sender: Account,
    found: Mapping[str, Recipient],
    now: datetime,
    *,
    book: Book | None = None,
) -> dict[str, Reachable]:
    """What :func:`quote` would answer for each of ``found`` (``reach_many.recipients``; not
    the sender), in one read.

    ``sender`` is as of ``now`` (``current_account``), and so must the recipients be:
    catch up those with a renewal due first (``current_account``, a write), as
    :func:`quote` does. ``book``: the sender's lots, if read with the account
    (``read_account_with_book``); read here otherwise.
    """
    if not found:
        return {}
    purse = Purse(conn, sender, now, book=book)
    reached = reaches(deps, conn, sender, found)
    return {i: Reachable(r.degree, purse.way(r.reach)) for i, r in reached.items()}


class Purse:
    """The sender's credits as of ``now``, to price one route after another (SPEC §7).

    Read once; an overage, if one is needed, is looked into once per cost.
    """

    def __init__(
        self, conn: Connection, account: Account, now: datetime, *, book: Book | None = None
    ) -> None:
        self._conn, self._account, self._now = conn, account, now
        book = account_store.load_book(conn, account) if book is None else book
        self.available = sum(lot.remaining for lot in spending_order(book.lots, now))
        self._overages: dict[int, tuple[Money | None, str]] = {}

    def way(self, reach: Reach) -> CheapestWay:
        try:
            route = cheapest_route(reach)
        except DomainError as refusal:
            return _refused(reach.sender_plan.inmail_cost, refusal)
        if route.cost <= self.available:
            return CheapestWay(route.channel, route.cost, True, route.reason, None)
        price, why_not = self._overage(route.cost)
        if price is None:
            return CheapestWay(route.channel, route.cost, False, why_not, None)
        why = f"{route.reason}; you have {self.available}, so overage will bill {price}"
        return CheapestWay(route.channel, route.cost, True, why, price)

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
