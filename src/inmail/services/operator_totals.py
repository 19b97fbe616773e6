"""The operator's totals: members by plan, credits and charges this month and the last.

Read as stored, in one read transaction: an account whose renewal is due counts once it
has caught up (when it is next read or written, or when renewals run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from inmail.domain.money import Money
from inmail.domain.reporting import Period, month_of
from inmail.services.context import Deps
from inmail.store import catalog as catalog_store
from inmail.store.accounts import HELD_BY_MEMBER
from inmail.store.tables import accounts, charges, ledger_entries

# The ledger kinds the overview shows, with the words it uses; amounts are shown unsigned.
CREDIT_KINDS = (("grant", "Granted"), ("spend", "Spent"), ("forfeit", "Forfeited"))
CHARGE_KINDS = ("subscription", "proration", "pack", "overage", "refund")  # refunds: negative


@dataclass(frozen=True, slots=True)
class PlanCount:
    code: str
    name: str
    members: int


@dataclass(frozen=True, slots=True)
class ChargeTotal:
    """Charges of one kind in one currency: how many, and their sum."""

    kind: str
    count: int
    total: Money


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """One calendar month: credits by ledger kind (unsigned) and charges by kind."""

    period: Period
    credits: dict[str, int]
    charges: list[ChargeTotal]


@dataclass(frozen=True, slots=True)
class OperatorReport:
    by_plan: list[PlanCount]
    months: list[PeriodTotals]  # this month first, then the last


def operator_report(deps: Deps, *, now: datetime) -> OperatorReport:
    """Members by plan and this month's and last month's totals (calendar months, UTC)."""
    months = [month_of(now), month_of(now, months_back=1)]
    with deps.db.read_stale() as conn:  # stats may lag the primary (docs/rules.md)
        return OperatorReport(
            by_plan=_by_plan(conn),
            months=[PeriodTotals(m, _credits(conn, m), _charges(conn, m)) for m in months],
        )


def _by_plan(conn: Connection) -> list[PlanCount]:
    """Every current plan in catalog order with its member count (0 included)."""
    query = (
        select(accounts.c.plan_code, func.count())
        .where(HELD_BY_MEMBER)
        .group_by(accounts.c.plan_code)
    )
    counts = {code: int(n) for code, n in conn.execute(query)}
    shown = [
        PlanCount(p.code, p.name, counts.pop(p.code, 0)) for p in catalog_store.current_plans(conn)
    ]
    # A plan missing from the catalog cannot happen (a foreign key), but would still be counted.
    return shown + [PlanCount(code, code, n) for code, n in sorted(counts.items())]


def _credits(conn: Connection, period: Period) -> dict[str, int]:
    kinds = [kind for kind, _ in CREDIT_KINDS]
    query = (
        select(ledger_entries.c.kind, func.coalesce(func.sum(ledger_entries.c.amount), 0))
        .where(ledger_entries.c.at >= period.start, ledger_entries.c.at < period.end)
        .where(ledger_entries.c.kind.in_(kinds))
        .group_by(ledger_entries.c.kind)
    )
    found = {kind: abs(int(total)) for kind, total in conn.execute(query)}
    return {kind: found.get(kind, 0) for kind in kinds}


def _charges(conn: Connection, period: Period) -> list[ChargeTotal]:
    query = (
        select(
            charges.c.kind,
            charges.c.currency,
            func.count(),
            func.coalesce(func.sum(charges.c.amount_minor), 0),
        )
        .where(charges.c.at >= period.start, charges.c.at < period.end)
        .group_by(charges.c.kind, charges.c.currency)
    )
    rows = [
        ChargeTotal(k, int(n), Money(int(total), cur)) for k, cur, n, total in conn.execute(query)
    ]
    return sorted(rows, key=_charge_order)


def _charge_order(total: ChargeTotal) -> tuple[int, str]:
    known = total.kind in CHARGE_KINDS
    return (CHARGE_KINDS.index(total.kind) if known else len(CHARGE_KINDS), total.total.currency)


def totals_by_currency(rows: Sequence[ChargeTotal]) -> list[Money]:
    """The sum of ``rows`` in each currency (a deployment may price plans in several)."""
    sums: dict[str, int] = {}
    for row in rows:
        sums[row.total.currency] = sums.get(row.total.currency, 0) + row.total.amount_minor
    return [Money(amount, currency) for currency, amount in sorted(sums.items())]
