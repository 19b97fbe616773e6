"""What a member reads about their credits: balance and lots, ledger, charges.

Every read first applies what is due (renewals, expiries), so a member never
sees a balance that the next write would change by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from inmail.domain.billing import NextRenewal, PlanLookup, next_renewal
from inmail.domain.credits import Book, Lot, LotSource, spending_order
from inmail.domain.cycles import add_months, cycle_index_at, cycle_start, require_utc
from inmail.domain.errors import UnknownMember
from inmail.domain.money import Money
from inmail.domain.plans import BASIC, Plan
from inmail.domain.purchases import OverageSettings
from inmail.services.context import (
    Deps,
    holder_current_terms,
    holder_terms,
    is_due,
    lock_and_catch_up,
    refresh,
)
from inmail.services.renewals import renew_all
from inmail.services.subscriptions import get_subscription
from inmail.store import accounts as account_store
from inmail.store.accounts import HELD_BY_MEMBER
from inmail.store.tables import accounts, charges, ledger_entries, lots

LOTS_SHOWN = 10
"""Purchased (non-plan) lots the credits overview lists, in spending order; every plan lot
is listed too. The full list is :func:`list_lots` (``GET /v1/me/credits/lots``)."""


@dataclass(frozen=True, slots=True)
class LotView:
    id: int
    source: LotSource
    remaining: int
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreditsView:
    balance: int
    plan_credits: int
    purchased_credits: int
    plan: str
    monthly_allotment: int
    rollover_cap: int
    cycle_start: datetime | None
    cycle_end: datetime | None
    next_renewal_at: datetime | None
    forfeit_at_next_renewal: int
    lots: tuple[LotView, ...]  # every live plan lot, then LOTS_SHOWN others, in spending order
    overage: OverageSettings
    next_renewal: NextRenewal | None  # under the scheduled plan, if a change is scheduled
    terms: Plan  # the plan version of the current cycle: what it allows now
    lots_total: int = 0  # live lots in all (``lots`` may list fewer)


def get_credits(deps: Deps, *, member_id: str, now: datetime) -> CreditsView:
    """Balance, lots and cycle, after applying whatever is due (one read when nothing is).

    The view lists every live plan lot and the first LOTS_SHOWN other live lots in
    spending order (SPEC §3), with ``lots_total``: the read costs the same with 1 lot
    or 400. Raises UnknownMember.
    """
    require_utc(now)
    with deps.db.read() as conn:
        versions, _ = holder_terms(deps, conn, member_id)  # a team pool's terms are scaled
        account = account_store.read_account(conn, member_id, versions)
        if account is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        if not is_due(account.next_due_at, now):
            book, total = account_store.load_overview_book(conn, account, LOTS_SHOWN)
            current = holder_current_terms(deps, conn, member_id)
            return _credits_view(account, book, total, current, now)
    with deps.db.write() as conn:
        opened = lock_and_catch_up(deps, conn, member_id, now)
        opened.save()  # gives the lots granted by the catch-up their ids
        live = sum(1 for lot in opened.book.lots if lot.remaining > 0)
        current = holder_current_terms(deps, conn, member_id)
        return _credits_view(opened.account, opened.book, live, current, now)


def list_lots(
    deps: Deps, *, member_id: str, now: datetime, after: int | None = None, limit: int = 50
) -> list[LotView]:
    """Every live lot of the member (credits left), by id, after applying what is due: the
    full list behind the overview's first lots. Raises UnknownMember."""
    require_utc(now)
    with deps.db.read() as conn:
        account = account_store.read_account(conn, member_id, deps.plans.lookup(conn))
        if account is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        if not is_due(account.next_due_at, now):
            found = account_store.live_lots_page(conn, member_id, after=after, limit=limit)
            return [_lot_view(lot) for lot in found]
    with deps.db.write() as conn:
        lock_and_catch_up(deps, conn, member_id, now).save()
        found = account_store.live_lots_page(conn, member_id, after=after, limit=limit)
        return [_lot_view(lot) for lot in found]


def _credits_view(
    account: account_store.Account, book: Book, total: int, current: PlanLookup, now: datetime
) -> CreditsView:
    sub = account.subscription
    cycle = sub.current_cycle(now)
    coming = next_renewal(book, sub, current)
    # A catch-up may have emptied some lots; the overview lists the first ones a spend takes.
    ordered = spending_order(book.lots, now)
    plan = [lot for lot in ordered if lot.is_plan_credit]
    shown = plan + [lot for lot in ordered if not lot.is_plan_credit][:LOTS_SHOWN]
    return CreditsView(
        balance=book.balance,
        plan_credits=book.plan_credits,
        purchased_credits=book.purchased_credits,
        plan=sub.plan.code,
        monthly_allotment=sub.plan.monthly_allotment,
        rollover_cap=sub.plan.rollover_cap,
        cycle_start=None if cycle is None else cycle.start,
        cycle_end=None if cycle is None else cycle.end,
        next_renewal_at=sub.next_renewal_at(),
        forfeit_at_next_renewal=0 if coming is None else coming.forfeit,
        lots=tuple(_lot_view(lot) for lot in shown),
        overage=account.overage,
        next_renewal=coming,
        terms=sub.plan,
        lots_total=total,
    )


def _lot_view(lot: Lot) -> LotView:
    assert lot.id is not None
    return LotView(lot.id, lot.source, lot.remaining, lot.expires_at)


@dataclass(frozen=True, slots=True)
class LedgerLine:
    id: int
    at: datetime
    kind: str
    amount: int
    balance_after: int
    lot_id: int
    source: str
    reference: str


def list_ledger(
    deps: Deps, *, member_id: str, now: datetime, after: int | None = None, limit: int = 50
) -> list[LedgerLine]:
    """The member's ledger, oldest first, ``limit`` lines after line ``after``."""
    refresh(deps, member_id, now)
    query = ledger_of(member_id).order_by(ledger_entries.c.id).limit(limit)
    if after is not None:
        query = query.where(ledger_entries.c.id > after)
    return ledger_lines(deps, query)


def ledger_of(member_id: str) -> Select[Any]:
    return (
        select(ledger_entries, lots.c.source)
        .join(lots, lots.c.id == ledger_entries.c.lot_id)
        .where(ledger_entries.c.member_id == member_id)
    )


def ledger_lines(deps: Deps, query: Select[Any]) -> list[LedgerLine]:
    """Ledger lines for display (statements): from the replica, which may lag the primary."""
    with deps.db.read_stale() as conn:
        rows = conn.execute(query).all()
    return [
        LedgerLine(r.id, r.at, r.kind, r.amount, r.balance_after, r.lot_id, r.source, r.reference)
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ChargeLine:
    seq: int
    id: str
    at: datetime
    kind: str
    credits: int | None
    price: Money
    reference: str


def list_charges(
    deps: Deps,
    *,
    member_id: str | None,
    now: datetime,
    after: int | None = None,
    limit: int = 50,
    newest_first: bool = False,
    before: int | None = None,
) -> list[ChargeLine]:
    """Charges oldest first (``newest_first``: newest first); ``member_id=None`` lists every
    member's (the operator's export). ``after``/``before``: only charges whose ``seq`` is
    above/below that cursor.

    Every renewal due by ``now`` is applied first, so the fees of cycles that
    started while nobody looked are in the list, at their cycle's start.
    """
    if member_id is not None:
        refresh(deps, member_id, now)
    else:
        renew_all(deps, now=now)
    order = charges.c.seq.desc() if newest_first else charges.c.seq
    query = select(charges).order_by(order).limit(limit)
    if member_id is not None:
        query = query.where(charges.c.member_id == member_id)
    if after is not None:
        query = query.where(charges.c.seq > after)
    if before is not None:
        query = query.where(charges.c.seq < before)
    with deps.db.read() as conn:
        rows = conn.execute(query).all()
    return [
        ChargeLine(
            r.seq, r.id, r.at, r.kind, r.credits, Money(r.amount_minor, r.currency), r.reference
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class CycleSummary:
    start: datetime  # UTC: the cycle's (or, on Basic, the calendar month's) first moment
    granted: int
    spent: int
    lost: int  # forfeited above the cap or expired


def cycle_summaries(
    deps: Deps, *, member_id: str, now: datetime, cycles: int = 6
) -> list[CycleSummary]:
    """Credits granted, spent and lost in each of the last ``cycles`` billing cycles (or months)."""
    sub = get_subscription(deps, member_id=member_id, now=now)  # applies what is due
    if sub.cycle_start is not None:
        current = cycle_index_at(sub.anchor, now)
        first = max(0, current - cycles + 1)
        dated = [cycle_start(sub.anchor, k) for k in range(first, current + 1)]
    else:  # Basic has no cycles: calendar months (none before year 1)
        dated = [add_months(month_floor(now), -k) for k in range(cycles)][::-1]
    starts = [start for start in dated if start is not None]
    totals = {start: [0, 0, 0] for start in starts}
    # Only the lines of the cycles shown: an old account's whole ledger is never loaded.
    recent = ledger_of(member_id).where(ledger_entries.c.at >= starts[0])
    for line in ledger_lines(deps, recent.order_by(ledger_entries.c.id)):
        bucket = max((s for s in starts if s <= line.at), default=None)
        if bucket is None:
            continue
        if line.kind == "spend":
            totals[bucket][1] -= line.amount
        elif line.kind in ("forfeit", "expire"):
            totals[bucket][2] -= line.amount
        elif line.amount > 0:
            totals[bucket][0] += line.amount
    return [CycleSummary(s, *totals[s]) for s in starts]


def month_floor(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class ChargeExportRow:
    """One charge with its member, for the operator's payment processor."""

    seq: int
    id: str
    member_id: str
    at: datetime
    kind: str
    credits: int | None
    amount_minor: int
    currency: str
    reference: str = ""  # a refund's names the charge it refunds: ``refund:CHARGE``


def export_charges(
    deps: Deps, *, now: datetime, after: int | None = None, limit: int = 1000
) -> list[ChargeExportRow]:
    """Every member's charges, oldest first, ``limit`` rows after charge ``seq`` ``after``.

    Renewals due by ``now`` are applied first (see :func:`list_charges`).
    """
    renew_all(deps, now=now)
    query = select(charges).order_by(charges.c.seq).limit(limit)
    if after is not None:
        query = query.where(charges.c.seq > after)
    with deps.db.read() as conn:
        rows = conn.execute(query).all()
    return [
        ChargeExportRow(
            r.seq,
            r.id,
            r.member_id,
            r.at,
            r.kind,
            r.credits,
            r.amount_minor,
            r.currency,
            r.reference,
        )
        for r in rows
    ]


def recent_ledger(
    deps: Deps, *, member_id: str, now: datetime, limit: int = 100
) -> list[LedgerLine]:
    """The member's latest ``limit`` ledger lines, newest first."""
    refresh(deps, member_id, now)
    return ledger_lines(
        deps, ledger_of(member_id).order_by(ledger_entries.c.id.desc()).limit(limit)
    )


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account as stored: its balance and whether a renewal or expiry is due."""

    member_id: str
    plan: str
    plan_version: int
    balance: int
    due: bool


def account_summaries(
    deps: Deps, *, member_ids: Sequence[str], now: datetime
) -> dict[str, AccountSummary]:
    """The stored accounts of ``member_ids`` in one read (nothing is applied: a list view)."""
    require_utc(now)
    if not member_ids:
        return {}
    query = select(
        accounts.c.member_id,
        accounts.c.plan_code,
        accounts.c.plan_version,
        accounts.c.balance,
        accounts.c.next_due_at,
    ).where(accounts.c.member_id.in_(list(member_ids)))
    with deps.db.read() as conn:
        rows = conn.execute(query).all()
    return {
        r.member_id: AccountSummary(
            r.member_id,
            r.plan_code,
            r.plan_version,
            r.balance,
            r.next_due_at is not None and r.next_due_at <= now,
        )
        for r in rows
    }


@dataclass(frozen=True, slots=True)
class OperatorTotals:
    members: int
    paid_members: int
    renewals_due: int
    charges: int


def operator_totals(deps: Deps, *, now: datetime) -> OperatorTotals:
    """Counts for the operator's overview, in one read transaction."""
    require_utc(now)
    every_account = select(func.count()).select_from(accounts).where(HELD_BY_MEMBER)
    with deps.db.read_stale() as conn:  # stats may lag the primary (docs/rules.md)

        def count(query: Select[int]) -> int:
            return int(conn.execute(query).scalar_one())

        return OperatorTotals(
            members=count(every_account),
            paid_members=count(every_account.where(accounts.c.plan_code != BASIC)),
            renewals_due=count(every_account.where(accounts.c.next_due_at <= now)),
            charges=count(select(func.count()).select_from(charges)),
        )
