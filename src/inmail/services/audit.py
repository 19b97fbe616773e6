"""The audit: every invariant of SPEC §3, checked against what is stored.

- balance = sum of lots' remaining = sum of ledger amounts, for every account;
- no lot and no balance is negative, and no lot holds more than it was granted;
- the last ledger line of an account shows its balance;
- each spend is paid by ledger lines summing to its cost, and refunded at most once;
- each InMail has its spend (so exactly one: spend references are unique);
- each (subscription, cycle) is renewed exactly once, with no cycle skipped;
- refunds of a charge never add up to more than it cost (docs/rules.md "Pack refunds");
- every ledger entry and every charge has its event in the outbox (docs/events.md), counted
  per member from the first entry and charge that has one (history written before the
  outbox existed, migration 0017, has none);
- a team pool is an account like any other (its balance, lots and ledger are checked
  above); the ledger lines of a seat's spend name that seat, and, given ``now``, no seat has
  used more than its monthly cap this calendar month (SPEC §10).

Each check is one aggregate query over the whole database, so the audit costs
a few scans however many accounts there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    Subquery,
    Table,
    and_,
    cast,
    func,
    literal,
    select,
)

from inmail.domain.events import CHARGE_CREATED, LEDGER_ENTRY_CREATED
from inmail.domain.teams import month_start, next_month_start
from inmail.services.context import Deps
from inmail.store.outbox import payload_field
from inmail.store.tables import (
    accounts,
    charges,
    ledger_entries,
    lots,
    messages,
    outbox_events,
    renewals,
    spends,
    team_seats,
)

Check = Callable[[Connection], Iterator[str]]


def run_audit(deps: Deps, now: datetime | None = None) -> list[str]:
    """Every problem found, in words; an empty list means the books balance.

    With ``now``, also that no team seat has used more than its cap in the calendar month
    holding ``now`` (a cap applies to the month it is set in: earlier months used earlier caps).
    """
    with deps.db.read() as conn:
        found = [problem for check in CHECKS for problem in check(conn)]
        if now is not None:
            found += list(_seats_within_their_caps(conn, now))
        return found


def _seat_lines_name_their_seat(conn: Connection) -> Iterator[str]:
    query = (
        select(spends.c.reference, spends.c.seat_member_id, ledger_entries.c.seat_member_id)
        .join(
            ledger_entries,
            and_(
                ledger_entries.c.reference == spends.c.reference,
                ledger_entries.c.member_id == spends.c.member_id,
            ),
        )
        .where(
            ledger_entries.c.kind == "spend",
            func.coalesce(spends.c.seat_member_id, "")
            != func.coalesce(ledger_entries.c.seat_member_id, ""),
        )
    )
    for reference, seat, named in conn.execute(query):
        yield f"spend {reference}: paid for seat {seat} but its ledger line names {named}"


def _seats_within_their_caps(conn: Connection, now: datetime) -> Iterator[str]:
    used = func.coalesce(func.sum(spends.c.cost), 0)
    query = (
        select(team_seats.c.member_id, team_seats.c.team_id, team_seats.c.monthly_cap, used)
        .join(
            spends,
            and_(
                spends.c.seat_member_id == team_seats.c.member_id,
                spends.c.member_id == team_seats.c.team_id,
                spends.c.at >= month_start(now),
                spends.c.at < next_month_start(now),
                spends.c.refunded_at.is_(None),
            ),
        )
        .where(team_seats.c.monthly_cap.is_not(None))
        .group_by(team_seats.c.member_id, team_seats.c.team_id, team_seats.c.monthly_cap)
        .having(used > team_seats.c.monthly_cap)
    )
    for member, team, cap, total in conn.execute(query):
        yield f"team {team}: seat {member} used {total} credits this month, over its cap {cap}"


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


def _events_by_member(conn: Connection, event_type: str) -> dict[str, int]:
    query = (
        select(outbox_events.c.member_id, func.count())
        .where(outbox_events.c.type == event_type)
        .group_by(outbox_events.c.member_id)
    )
    return {member: int(n) for member, n in conn.execute(query)}


def _rows_by_member(conn: Connection, table: Table, since: ColumnElement[bool]) -> dict[str, int]:
    query = select(table.c.member_id, func.count()).where(since).group_by(table.c.member_id)
    return {member: int(n) for member, n in conn.execute(query)}


def _counts_differ(
    what: str, rows: dict[str, int], events: dict[str, int], event_type: str
) -> Iterator[str]:
    for member in sorted(rows.keys() | events.keys()):
        written, told = rows.get(member, 0), events.get(member, 0)
        if written != told:
            yield f"member {member}: {written} {what} but {told} {event_type} events"


def _every_change_has_its_event(conn: Connection) -> Iterator[str]:
    """A write path that forgot the outbox shows as a count that differs (docs/events.md)."""
    entry_id = cast(payload_field(conn, "entry_id"), BigInteger)
    first_entry = conn.execute(
        select(func.min(entry_id)).where(outbox_events.c.type == LEDGER_ENTRY_CREATED)
    ).scalar_one()
    if first_entry is not None:
        entries = _rows_by_member(conn, ledger_entries, ledger_entries.c.id >= first_entry)
        told = _events_by_member(conn, LEDGER_ENTRY_CREATED)
        yield from _counts_differ("ledger entries", entries, told, LEDGER_ENTRY_CREATED)
    told_charges = select(payload_field(conn, "charge_id")).where(
        outbox_events.c.type == CHARGE_CREATED
    )
    first_charge = conn.execute(
        select(func.min(charges.c.seq)).where(charges.c.id.in_(told_charges.scalar_subquery()))
    ).scalar_one()
    if first_charge is not None:
        billed = _rows_by_member(conn, charges, charges.c.seq >= first_charge)
        told = _events_by_member(conn, CHARGE_CREATED)
        yield from _counts_differ("charges", billed, told, CHARGE_CREATED)


def _refunds_within_their_charge(conn: Connection) -> Iterator[str]:
    """A refund names the pack or overage charge it refunds, and never passes its amount."""
    refunded = (
        select(
            charges.c.reference,
            func.sum(-charges.c.amount_minor).label("total"),
        )
        .where(charges.c.kind == "refund")
        .group_by(charges.c.reference)
        .subquery()
    )
    query = select(refunded.c.reference, refunded.c.total, charges.c.amount_minor, charges.c.kind)
    query = query.outerjoin(
        charges, refunded.c.reference == literal("refund:", String) + charges.c.id
    )
    for reference, total, price, kind in conn.execute(query):
        if kind not in ("pack", "overage"):
            yield f"{reference}: refunds a charge that is not a pack or overage ({kind})"
        elif total > price:
            yield f"{reference}: refunded {total} of a charge of {price} (minor units)"


CHECKS: tuple[Check, ...] = (
    _balances_match,
    _nothing_negative,
    _last_entry_shows_balance,
    _spends_paid_once,
    _cycles_renewed_once,
    _each_inmail_paid_once,
    _every_change_has_its_event,
    _seat_lines_name_their_seat,
    _refunds_within_their_charge,
)
