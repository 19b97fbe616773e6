"""Spends: one row per charged action (an InMail), the ledger lines that paid for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from inmail.store.tables import ledger_entries, spends


@dataclass(frozen=True, slots=True)
class SpendRecord:
    id: str
    member_id: str
    reference: str
    cost: int
    at: datetime
    refunded_at: datetime | None


def find_spend(conn: Connection, reference: str) -> SpendRecord | None:
    row = conn.execute(select(spends).where(spends.c.reference == reference)).first()
    if row is None:
        return None
    return SpendRecord(row.id, row.member_id, row.reference, row.cost, row.at, row.refunded_at)


def insert_spend(conn: Connection, record: SpendRecord) -> None:
    conn.execute(
        spends.insert().values(
            id=record.id,
            member_id=record.member_id,
            reference=record.reference,
            cost=record.cost,
            at=record.at,
            refunded_at=None,
        )
    )


def mark_refunded(conn: Connection, spend_id: str, at: datetime) -> bool:
    """Flag a spend as refunded; False if it already was (the once-only guard)."""
    result = conn.execute(
        update(spends)
        .where(spends.c.id == spend_id, spends.c.refunded_at.is_(None))
        .values(refunded_at=at)
    )
    return result.rowcount == 1


def forfeited_since(conn: Connection, lot_ids: list[int], reference: str) -> set[int]:
    """The lots among ``lot_ids`` that a forfeit took credits from after spend ``reference``.

    "After" is in ledger order, not by time: a renewal and a spend can share a moment.
    """
    if not lot_ids:
        return set()
    spent_at_line = (
        select(func.min(ledger_entries.c.id))
        .where(ledger_entries.c.reference == reference, ledger_entries.c.kind == "spend")
        .scalar_subquery()
    )
    rows = conn.execute(
        select(ledger_entries.c.lot_id)
        .where(
            ledger_entries.c.lot_id.in_(lot_ids),
            ledger_entries.c.kind == "forfeit",
            ledger_entries.c.id > spent_at_line,
        )
        .distinct()
    )
    return {r.lot_id for r in rows}


def spend_draws(conn: Connection, member_id: str, reference: str) -> list[tuple[int, int]]:
    """(lot id, credits) that a spend took, in the order it took them."""
    rows = conn.execute(
        select(ledger_entries.c.lot_id, ledger_entries.c.amount)
        .where(
            ledger_entries.c.member_id == member_id,
            ledger_entries.c.reference == reference,
            ledger_entries.c.kind == "spend",
        )
        .order_by(ledger_entries.c.id)
    )
    return [(r.lot_id, -r.amount) for r in rows]
