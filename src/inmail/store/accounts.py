"""Credit accounts: the subscription row, its lots, and writing a Book's changes back.

Rule for callers: every write to an account's lots, ledger or balance happens
in a write transaction that first called :func:`lock_account`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    CompoundSelect,
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    cast,
    false,
    func,
    insert,
    null,
    select,
    true,
    union_all,
    update,
)

from inmail.domain.billing import Renewal, Subscription
from inmail.domain.credits import Book, Lot, LotSource
from inmail.domain.events import charge_created, credits_renewed, ledger_entry_created
from inmail.domain.money import Money
from inmail.domain.plans import Plan
from inmail.domain.purchases import OverageSettings
from inmail.domain.teams import TEAM_PREFIX
from inmail.store import outbox
from inmail.store.tables import LOT_IS_PLAN, accounts, charges, ledger_entries, lots, renewals


class StaleAccount(RuntimeError):
    """The account changed under a writer that should have held its lock (a bug)."""


@dataclass(slots=True)
class Account:
    member_id: str
    subscription: Subscription
    balance: int
    overage: OverageSettings
    next_due_at: datetime | None


PlanVersions = Callable[[str, int], Plan]

# Accounts held by members: not a team's pool (holder ``tm_…``, domain/teams.py). Counts of
# members, and anything that notifies the holder, take only these.
HELD_BY_MEMBER = ~accounts.c.member_id.startswith(TEAM_PREFIX + "_", autoescape=True)


def lock_account(conn: Connection, member_id: str, plans: PlanVersions) -> Account | None:
    """Read the account and hold its row lock until the transaction ends."""
    row = conn.execute(
        select(accounts).where(accounts.c.member_id == member_id).with_for_update()
    ).first()
    return None if row is None else _account(row, plans)


def lock_account_row(conn: Connection, member_id: str) -> None:
    """Take the account's row lock on PostgreSQL (SQLite's write lock covers it already)."""
    conn.execute(
        select(accounts.c.member_id).where(accounts.c.member_id == member_id).with_for_update()
    )


# Built once: a statement made per call costs its cache key each time (the credits read
# and every catch-up read an account).
_READ_ACCOUNT = select(accounts).where(accounts.c.member_id == bindparam("member_id"))


def read_account(conn: Connection, member_id: str, plans: PlanVersions) -> Account | None:
    row = conn.execute(_READ_ACCOUNT, {"member_id": member_id}).first()
    return None if row is None else _account(row, plans)


def _account(row: Row[Any], plans: PlanVersions) -> Account:
    sub = Subscription(
        id=row.subscription_id,
        plan=plans(row.plan_code, row.plan_version),
        anchor=row.anchor,
        renewed_cycle=row.renewed_cycle,
        pending_plan=row.pending_plan,
    )
    overage = OverageSettings(row.auto_overage, row.overage_limit_minor)
    return Account(row.member_id, sub, row.balance, overage, row.next_due_at)


@cache
def _account_with_lots() -> Select[Any]:
    lot = lots.alias("lot")
    live = and_(lot.c.member_id == accounts.c.member_id, lot.c.remaining > 0)
    return (
        select(accounts, *(c.label(f"lot_{c.name}") for c in lot.c))
        .select_from(accounts.outerjoin(lot, live))
        .where(accounts.c.member_id == bindparam("member_id"))
    )


def read_account_with_book(
    conn: Connection, member_id: str, plans: PlanVersions
) -> tuple[Account, Book] | None:
    """:func:`read_account` and :func:`load_book` in one statement (one round trip fewer for
    a read that needs both: a page of search results prices every row)."""
    rows = conn.execute(_account_with_lots(), {"member_id": member_id}).all()
    if not rows:
        return None
    account = _account(rows[0], plans)
    live = [_lot(r, "lot_") for r in rows if r.lot_id is not None]
    return account, Book(account.balance, live)


def load_book(conn: Connection, account: Account) -> Book:
    """The account's lots that still hold credits."""
    rows = conn.execute(
        select(lots).where(lots.c.member_id == account.member_id, lots.c.remaining > 0)
    )
    return Book(account.balance, [_lot(r) for r in rows])


def _overview_statement() -> CompoundSelect[Any]:
    """Every live plan lot, then the first ``:shown`` other live lots in spending order, then
    one row whose ``id`` is NULL and whose ``live`` counts all live lots. Each part a range of
    ``ix_lots_spending_order`` (migration 0025): the first ``shown`` others are read in index
    order, not sorted from all of them. The count comes once, in its own row (as a column
    beside every row it was evaluated once per part). Built once."""
    member: BindParameter[str] = bindparam("member_id")
    live = and_(lots.c.member_id == member, lots.c.remaining > 0)
    columns = (lots.c.id, lots.c.source, lots.c.granted, lots.c.remaining)
    dates = (lots.c.created_at, lots.c.expires_at)
    no_count = cast(null(), BigInteger).label("live")  # typed: PostgreSQL unions it with a count
    # The predicates and the ORDER BY are the index's own expressions (store/tables.py). IS,
    # not =: PostgreSQL turns ``(source = 'allotment') = false`` into ``source <> 'allotment'``,
    # which no longer names the indexed expression.
    plan = select(*columns, *dates, no_count).where(live, LOT_IS_PLAN.is_(true()))
    first_others = (
        select(*columns, *dates, no_count)
        .where(live, LOT_IS_PLAN.is_(false()))
        .order_by(
            lots.c.expires_at.is_(None),
            func.coalesce(lots.c.expires_at, lots.c.created_at),
            lots.c.created_at,
            lots.c.id,
        )
        .limit(bindparam("shown"))
        .subquery()
    )
    count = select(*(null() for _ in columns + dates), func.count()).where(live)
    # The count's row last: a UNION takes its columns' types (the dates') from its first part.
    return union_all(plan, select(first_others), count)


_OVERVIEW = _overview_statement()


def load_overview_book(conn: Connection, account: Account, shown: int) -> tuple[Book, int]:
    """A book for the credits overview, and how many live lots the account has in all.

    The book holds every live plan lot (the rollover cap and the next renewal's forfeit
    count them all; there are few) and the first ``shown`` other live lots in spending
    order (soonest expiry first, those that never expire last): a read that costs about
    the same with 1 lot or 400. Its balance is the account's, so plan and purchased
    totals stay exact though the list is cut.
    """
    rows = conn.execute(_OVERVIEW, {"member_id": account.member_id, "shown": shown}).all()
    live = next(r.live for r in rows if r.id is None)
    return Book(account.balance, [_lot(r) for r in rows if r.id is not None]), live


def live_lots_page(conn: Connection, member_id: str, *, after: int | None, limit: int) -> list[Lot]:
    """The member's live lots (credits left) by id, after the lot ``after``."""
    query = (
        select(lots)
        .where(lots.c.member_id == member_id, lots.c.remaining > 0)
        .order_by(lots.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(lots.c.id > after)
    return [_lot(r) for r in conn.execute(query)]


def load_lots(conn: Connection, ids: list[int]) -> list[Lot]:
    if not ids:
        return []
    rows = conn.execute(select(lots).where(lots.c.id.in_(ids)))
    return [_lot(r) for r in rows]


def _lot(r: Row[Any], prefix: str = "") -> Lot:
    """A lot from a row of ``lots``' columns, named ``prefix`` + column when joined."""
    m = r._mapping
    return Lot(
        m[prefix + "id"],
        LotSource(m[prefix + "source"]),
        m[prefix + "granted"],
        m[prefix + "remaining"],
        m[prefix + "created_at"],
        m[prefix + "expires_at"],
    )


def next_due_at(sub: Subscription, book: Book) -> datetime | None:
    """The earliest moment something happens to the account without anyone acting."""
    moments = [lot.expires_at for lot in book.lots if lot.remaining > 0 and lot.expires_at]
    renewal = sub.next_renewal_at()
    if renewal is not None:
        moments.append(renewal)
    return min(moments, default=None)


def insert_account(conn: Connection, member_id: str, sub: Subscription) -> None:
    conn.execute(
        accounts.insert().values(
            member_id=member_id,
            subscription_id=sub.id,
            plan_code=sub.plan.code,
            plan_version=sub.plan.version,
            pending_plan=sub.pending_plan,
            anchor=sub.anchor,
            renewed_cycle=sub.renewed_cycle,
            balance=0,
            next_due_at=sub.next_renewal_at(),
            auto_overage=True,
            overage_limit_minor=None,
        )
    )


def save(conn: Connection, account: Account, book: Book, done: list[Renewal]) -> list[int]:
    """Persist what the rules did to ``book`` and the subscription, then clear the book's log.

    Returns the new ledger entries' ids, in the book's order.

    Writes each ledger entry's, charge's and renewal's event to the outbox with them
    (docs/events.md: ``ledger.entry_created``, ``charge.created``, ``credits.renewed``).
    """
    member = account.member_id
    for lot in book.new_lots:
        lot.id = conn.execute(
            insert(lots)
            .values(
                member_id=member,
                source=lot.source.value,
                granted=lot.granted,
                remaining=lot.remaining,
                created_at=lot.created_at,
                expires_at=lot.expires_at,
            )
            .returning(lots.c.id)
        ).scalar_one()
    for lot in book.touched.values():
        conn.execute(update(lots).where(lots.c.id == lot.id).values(remaining=lot.remaining))
    entry_ids = _insert_entries(conn, member, book)
    _insert_charges(conn, member, book)
    _insert_renewals(conn, member, done)
    _update_account(conn, account, book)
    # Every ledger line, charge and renewal tells of itself in this same transaction.
    outbox.append(
        conn,
        [
            *(
                ledger_entry_created(member, e, i)
                for e, i in zip(book.entries, entry_ids, strict=True)
            ),
            *(charge_created(member, c) for c in book.charges),
            *(credits_renewed(member, r) for r in done),
        ],
    )
    book.new_lots.clear()
    book.touched.clear()
    book.entries.clear()
    book.charges.clear()
    return entry_ids


def _insert_entries(conn: Connection, member: str, book: Book) -> list[int]:
    """Write the book's ledger lines; their ids, in the book's order."""
    if not book.entries:
        return []
    written = conn.execute(
        ledger_entries.insert().returning(ledger_entries.c.id, sort_by_parameter_order=True),
        [
            {
                "member_id": member,
                "lot_id": e.lot.id,
                "kind": e.kind.value,
                "amount": e.amount,
                "balance_after": e.balance_after,
                "at": e.at,
                "reference": e.reference,
                "seat_member_id": e.seat,
            }
            for e in book.entries
        ],
    )
    return list(written.scalars())


def _insert_charges(conn: Connection, member: str, book: Book) -> None:
    if not book.charges:
        return
    conn.execute(
        charges.insert(),
        [
            {
                "id": c.id,
                "member_id": member,
                "kind": c.kind.value,
                "credits": c.credits,
                "amount_minor": c.price.amount_minor,
                "currency": c.price.currency,
                "at": c.at,
                "reference": c.reference,
            }
            for c in book.charges
        ],
    )


def _insert_renewals(conn: Connection, member: str, done: list[Renewal]) -> None:
    if not done:
        return
    conn.execute(
        renewals.insert(),
        [
            {
                "subscription_id": r.subscription_id,
                "cycle": r.cycle,
                "member_id": member,
                "at": r.at,
                "plan_code": r.plan.code,
                "plan_version": r.plan.version,
                "granted": r.granted,
                "forfeited": r.forfeited,
                "plan_credits_after": r.plan_credits_after,
                "rollover_cap": r.plan.rollover_cap,
            }
            for r in done
        ],
    )


def _update_account(conn: Connection, account: Account, book: Book) -> None:
    sub = account.subscription
    due = next_due_at(sub, book)
    # The balance we read is part of the WHERE: if it moved, someone wrote without the lock.
    result = conn.execute(
        update(accounts)
        .where(accounts.c.member_id == account.member_id, accounts.c.balance == account.balance)
        .values(
            balance=book.balance,
            subscription_id=sub.id,
            plan_code=sub.plan.code,
            plan_version=sub.plan.version,
            pending_plan=sub.pending_plan,
            anchor=sub.anchor,
            renewed_cycle=sub.renewed_cycle,
            next_due_at=due,
        )
    )
    if result.rowcount != 1:
        raise StaleAccount(f"account {account.member_id} changed while it was locked")
    account.balance = book.balance
    account.next_due_at = due


def update_overage_settings(conn: Connection, member_id: str, settings: OverageSettings) -> None:
    conn.execute(
        update(accounts)
        .where(accounts.c.member_id == member_id)
        .values(auto_overage=settings.auto_overage, overage_limit_minor=settings.limit_minor)
    )


def overage_spent_since(conn: Connection, member_id: str, since: datetime, currency: str) -> Money:
    total = conn.execute(
        select(func.coalesce(func.sum(charges.c.amount_minor), 0)).where(
            and_(
                charges.c.member_id == member_id,
                charges.c.kind == "overage",
                charges.c.at >= since,
                charges.c.currency == currency,
            )
        )
    ).scalar_one()
    return Money(int(total), currency)


def due_member_ids(conn: Connection, now: datetime, limit: int) -> list[str]:
    rows = conn.execute(
        select(accounts.c.member_id)
        .where(accounts.c.next_due_at <= now)
        .order_by(accounts.c.next_due_at)
        .limit(limit)
    )
    return list(rows.scalars())


def count_due(conn: Connection, now: datetime) -> int:
    query = select(func.count()).select_from(accounts).where(accounts.c.next_due_at <= now)
    return int(conn.execute(query).scalar_one())
