"""Spends: one row per charged action (an InMail), the ledger lines that paid for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from inmail.domain.billing import RenewalOutcome
from inmail.store.tables import ledger_entries, plans, renewals, spends


@dataclass(frozen=True, slots=True)
class SpendRecord:
    id: str
    member_id: str
    reference: str
    cost: int
    at: datetime
    refunded_at: datetime | None
    seat_member_id: str | None = None  # a team seat's send: the pool (member_id) paid


def find_spend(conn: Connection, reference: str) -> SpendRecord | None:
    row = conn.execute(select(spends).where(spends.c.reference == reference)).first()
    if row is None:
        return None
    return SpendRecord(
        row.id, row.member_id, row.reference, row.cost, row.at, row.refunded_at, row.seat_member_id
    )


def insert_spend(conn: Connection, record: SpendRecord) -> None:
    conn.execute(
        spends.insert().values(
            id=record.id,
            member_id=record.member_id,
            reference=record.reference,
            cost=record.cost,
            at=record.at,
            refunded_at=None,
            seat_member_id=record.seat_member_id,
        )
    )


def mark_refunded(conn: Connection, reference: str, at: datetime) -> bool:
    """Flag the spend for ``reference`` as refunded; False if it already was (the once-only
    guard)."""
    result = conn.execute(
        update(spends)
        .where(spends.c.reference == reference, spends.c.refunded_at.is_(None))
        .values(refunded_at=at)
    )
    return result.rowcount == 1


def renewals_after(conn: Connection, member_id: str, after: datetime) -> list[RenewalOutcome]:
    """What each of the member's renewals strictly after ``after`` left, oldest first.

    A spend at a renewal's very instant came after it (renewals are applied first).
    """
    rows = conn.execute(
        select(
            renewals.c.plan_credits_after,
            # A pool's renewal recorded its own cap (the plan's x seats); older rows did not.
            func.coalesce(renewals.c.rollover_cap, plans.c.rollover_cap).label("rollover_cap"),
            renewals.c.forfeited,
        )
        .join(
            plans,
            (plans.c.code == renewals.c.plan_code) & (plans.c.version == renewals.c.plan_version),
        )
        .where(renewals.c.member_id == member_id, renewals.c.at > after)
        .order_by(renewals.c.at)
    )
    return [RenewalOutcome(r.plan_credits_after, r.rollover_cap, r.forfeited) for r in rows]


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
