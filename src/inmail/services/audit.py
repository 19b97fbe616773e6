"""The audit: every invariant of SPEC §3, checked against what is stored.

- balance = sum of lots' remaining = sum of ledger amounts, for every account;
- no lot and no balance is negative, and no lot holds more than it was granted;
- the last ledger line of an account shows its balance;
- each spend is paid by ledger lines summing to its cost, and refunded at most once;
- each InMail has its spend (so exactly one: spend references are unique);
- each (subscription, cycle) is renewed exactly once, with no cycle skipped.

Each check is one aggregate query over the whole database, so the audit costs
a few scans however many accounts there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import ColumnElement, Connection, Subquery, Table, and_, func, select

from inmail.services.context import Deps
from inmail.store.tables import accounts, ledger_entries, lots, messages, renewals, spends

Check = Callable[[Connection], Iterator[str]]


def run_audit(deps: Deps) -> list[str]:
    """Every problem found, in words; an empty list means the books balance."""
    with deps.db.read() as conn:
        return [problem for check in CHECKS for problem in check(conn)]


def _sums_by_member(conn: Connection, table: Table, column: str) -> dict[str, int]:
    total = func.coalesce(func.sum(table.c[column]), 0)
    rows = conn.execute(select(table.c.member_id, total).group_by(table.c.member_id))
    return {member: int(amount) for member, amount in rows}


def _balances_match(conn: Connection) -> Iterator[str]:
    in_lots = _sums_by_member(conn, lots, "remaining")
    in_ledger = _sums_by_member(conn, ledger_entries, "amount")
    for member, balance in conn.execute(select(accounts.c.member_id, accounts.c.balance)):
        lot_total, ledger_total = in_lots.get(member, 0), in_ledger.get(member, 0)
        if not balance == lot_total == ledger_total:
            yield (
                f"member {member}: balance {balance}, lots hold {lot_total}, "
                f"ledger sums to {ledger_total}"
            )


def _nothing_negative(conn: Connection) -> Iterator[str]:
    for member, balance in conn.execute(
        select(accounts.c.member_id, accounts.c.balance).where(accounts.c.balance < 0)
    ):
        yield f"member {member}: negative balance {balance}"
    bad_lots = select(lots.c.id, lots.c.remaining, lots.c.granted).where(
        (lots.c.remaining < 0) | (lots.c.remaining > lots.c.granted)
    )
    for lot_id, remaining, granted in conn.execute(bad_lots):
        yield f"lot {lot_id}: remaining {remaining} outside 0..{granted}"


def _last_entry_shows_balance(conn: Connection) -> Iterator[str]:
    last = (
        select(ledger_entries.c.member_id, func.max(ledger_entries.c.id).label("id"))
        .group_by(ledger_entries.c.member_id)
        .subquery()
    )
    query = (
        select(accounts.c.member_id, accounts.c.balance, ledger_entries.c.balance_after)
        .join(last, last.c.member_id == accounts.c.member_id)
        .join(ledger_entries, ledger_entries.c.id == last.c.id)
        .where(ledger_entries.c.balance_after != accounts.c.balance)
    )
    for member, balance, after in conn.execute(query):
        yield f"member {member}: balance {balance} but the last ledger line says {after}"


def _ledger_totals(kind: str) -> Subquery:
    return (
        select(
            ledger_entries.c.reference,
            ledger_entries.c.member_id,
            func.sum(ledger_entries.c.amount).label("total"),
        )
        .where(ledger_entries.c.kind == kind)
        .group_by(ledger_entries.c.reference, ledger_entries.c.member_id)
        .subquery()
    )


def _same_spend(totals: Subquery) -> ColumnElement[bool]:
    return and_(totals.c.reference == spends.c.reference, totals.c.member_id == spends.c.member_id)


def _spends_paid_once(conn: Connection) -> Iterator[str]:
    paid, returned = _ledger_totals("spend"), _ledger_totals("refund")
    query = (
        select(
            spends.c.reference,
            spends.c.cost,
            spends.c.refunded_at,
            func.coalesce(paid.c.total, 0),
            func.coalesce(returned.c.total, 0),
        )
        .outerjoin(paid, _same_spend(paid))
        .outerjoin(returned, _same_spend(returned))
    )
    for reference, cost, refunded_at, spent, back in conn.execute(query):
        if -spent != cost:
            yield f"spend {reference}: cost {cost} but the ledger spent {-spent}"
        expected_back = cost if refunded_at is not None else 0
        if back != expected_back:
            yield f"spend {reference}: refunded {back} credits, expected {expected_back}"


def _cycles_renewed_once(conn: Connection) -> Iterator[str]:
    query = select(
        renewals.c.subscription_id,
        func.count(),
        func.min(renewals.c.cycle),
        func.max(renewals.c.cycle),
    ).group_by(renewals.c.subscription_id)
    for sub, count, first, last in conn.execute(query):
        if first != 0 or count != last + 1:
            yield (
                f"subscription {sub}: {count} renewals for cycles {first}..{last} "
                "(each cycle exactly once, from 0)"
            )


def _each_inmail_paid_once(conn: Connection) -> Iterator[str]:
    """Every InMail (and follow-up) has its spend: the message and the credit go together."""
    query = (
        select(messages.c.id, messages.c.spend_reference)
        .outerjoin(spends, spends.c.reference == messages.c.spend_reference)
        .where(messages.c.spend_reference.is_not(None), spends.c.reference.is_(None))
    )
    for message_id, reference in conn.execute(query):
        yield f"InMail {message_id}: no spend recorded for {reference}"


CHECKS: tuple[Check, ...] = (
    _balances_match,
    _nothing_negative,
    _last_entry_shows_balance,
    _spends_paid_once,
    _cycles_renewed_once,
    _each_inmail_paid_once,
)
