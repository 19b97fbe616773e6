"""Charges as a refund sees them: the charge, what was refunded of it, and the lot it bought."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from inmail.domain.credits import ChargeKind, RefundedShare
from inmail.domain.money import Money
from inmail.store.tables import charges, ledger_entries


@dataclass(frozen=True, slots=True)
class StoredCharge:
    id: str
    member_id: str
    kind: ChargeKind
    credits: int | None
    price: Money
    at: datetime


def find_charge(conn: Connection, charge_id: str) -> StoredCharge | None:
    row = conn.execute(select(charges).where(charges.c.id == charge_id)).first()
    if row is None:
        return None
    return StoredCharge(
        row.id,
        row.member_id,
        ChargeKind(row.kind),
        row.credits,
        Money(row.amount_minor, row.currency),
        row.at,
    )


def refund_reference(charge_id: str) -> str:
    """A refund charge's reference: the charge it refunds."""
    return f"refund:{charge_id}"


def refunded_minor(conn: Connection, member_id: str, charge_id: str) -> int:
    """Minor units refunded of ``charge_id`` so far (refund rows are negative; this is not).

    Read under the member's account lock, so two refunds of one charge see each other.
    """
    total = conn.execute(
        select(func.coalesce(func.sum(charges.c.amount_minor), 0)).where(
            charges.c.member_id == member_id,
            charges.c.kind == ChargeKind.REFUND.value,
            charges.c.reference == refund_reference(charge_id),
        )
    ).scalar_one()
    return -int(total)


def purchase_lot_id(conn: Connection, member_id: str, charge_id: str) -> int | None:
    """The lot a pack or overage charge bought: the one its grant line names."""
    return conn.execute(
        select(ledger_entries.c.lot_id).where(
            ledger_entries.c.member_id == member_id,
            ledger_entries.c.kind == "grant",
            ledger_entries.c.reference == f"charge:{charge_id}",
        )
    ).scalar()


def refunded_shares(
    conn: Connection, member_id: str, lot_ids: list[int]
) -> dict[int, RefundedShare]:
    """By lot id, among ``lot_ids``: the refunded share of the pack or overage charge that
    bought the lot, for the lots whose charge has had a refund (a credit-back returning
    credits there takes that share back). Read under the member's account lock."""
    bought = conn.execute(
        select(ledger_entries.c.lot_id, ledger_entries.c.reference).where(
            ledger_entries.c.member_id == member_id,
            ledger_entries.c.kind == "grant",
            ledger_entries.c.lot_id.in_(lot_ids),
            ledger_entries.c.reference.like("charge:%"),
        )
    ).all()
    shares: dict[int, RefundedShare] = {}
    for lot_id, reference in bought:
        charge_id = reference.removeprefix("charge:")
        refunds = conn.execute(
            select(charges.c.id, charges.c.amount_minor)
            .where(
                charges.c.member_id == member_id,
                charges.c.kind == ChargeKind.REFUND.value,
                charges.c.reference == refund_reference(charge_id),
            )
            .order_by(charges.c.seq)
        ).all()
        charge = find_charge(conn, charge_id) if refunds else None
        if charge is not None:
            refunded = -sum(int(r.amount_minor) for r in refunds)
            last = f"charge:{refunds[-1].id}"
            shares[lot_id] = RefundedShare(refunded, charge.price.amount_minor, last)
    return shares
