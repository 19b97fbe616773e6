"""The cost preview: what reaching someone costs, why, and the free routes (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from inmail.domain.credits import spending_order
from inmail.domain.errors import DomainError, InmailAlreadyAwaitingResponse
from inmail.domain.messaging import Channel, cheapest_route
from inmail.domain.money import Money
from inmail.domain.purchases import check_overage, overage_packs
from inmail.services.context import Deps, current_account
from inmail.services.reach import gather_reach, recipient_as_of
from inmail.store import accounts as account_store
from inmail.store import catalog as catalog_store


@dataclass(frozen=True, slots=True)
class Quote:
    channel: Channel
    cost_credits: int
    allowed: bool
    reason: str
    overage_charge: Money | None
    alternatives: tuple[tuple[str, str], ...]
    thread_id: str | None = None  # the sender's InMail thread to them that awaits a response
    follow_up_at: datetime | None = None  # when a follow-up is possible there (None: never)


def quote(deps: Deps, *, member_id: str, to: str, now: datetime) -> Quote:
    """What reaching ``to`` costs ``member_id`` at ``now`` (credits), or why it is not allowed.

    While an InMail of theirs to ``to`` awaits a response and no free way
    exists, it is not allowed: ``thread_id`` names that thread and
    ``follow_up_at`` (UTC) says when a follow-up there becomes possible.
    """
    account = current_account(deps, member_id, now)
    recipient = recipient_as_of(deps, account, to, now)
    with deps.db.read() as conn:
        reach = gather_reach(deps, conn, account, recipient)
        book = account_store.load_book(conn, account)
        alternatives = reach.free_routes
        try:
            route = cheapest_route(reach)
        except DomainError as refusal:
            return _refused(reach.sender_plan.inmail_cost, refusal, alternatives)
        available = sum(lot.remaining for lot in spending_order(book.lots, now))
        if route.cost <= available:
            return Quote(route.channel, route.cost, True, route.reason, None, alternatives)
        plan = account.subscription.plan
        if not (plan.overage and account.overage.auto_overage):
            why = f"not enough credits ({available}) and automatic overage is off"
            return Quote(route.channel, route.cost, False, why, None, alternatives)
        pack = next(p for p in catalog_store.all_packs(conn) if p.code == plan.overage_pack)
        price = pack.price.times(overage_packs(route.cost - available, pack))
        cycle = account.subscription.current_cycle(now)
        since = cycle.start if cycle else now
        spent = account_store.overage_spent_since(conn, member_id, since, price.currency)
    try:
        check_overage(account.overage, spent, price)
    except DomainError as refusal:
        return Quote(route.channel, route.cost, False, refusal.message, None, alternatives)
    why = f"{route.reason}; you have {available}, so overage will bill {price}"
    return Quote(route.channel, route.cost, True, why, price, alternatives)


def _refused(cost: int, refusal: DomainError, alternatives: tuple[tuple[str, str], ...]) -> Quote:
    """No InMail, and no free way: why (and the awaiting thread, when that is why)."""
    refused = Quote(Channel.INMAIL, cost, False, refusal.message, None, alternatives)
    if isinstance(refusal, InmailAlreadyAwaitingResponse):
        return replace(refused, thread_id=refusal.thread_id, follow_up_at=refusal.follow_up_at)
    return refused
