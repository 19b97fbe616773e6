"""Plans (versioned) and packs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from inmail.domain.errors import UnknownPlan
from inmail.domain.money import Money
from inmail.domain.plans import Pack, Plan, PlanVersion, is_code
from inmail.store.tables import pack_versions, packs, plans

_TERMS = (
    "monthly_allotment",
    "rollover_cap",
    "inmail",
    "packs",
    "overage",
    "inmail_cost",
    "overage_pack",
    "plan_credit_lifetime_days",
    "pack_credit_lifetime_days",
    "credit_back_days",
    "followup_after_days",
    "max_followups",
)


def plan_from_row(row: Row[Any]) -> Plan:
    m = row._mapping
    return Plan(
        code=m["code"],
        name=m["name"],
        version=m["version"],
        price=Money(m["price_minor"], m["currency"]),
        **{term: m[term] for term in _TERMS},
    )


def plan_values(plan: Plan, created_at: datetime) -> dict[str, Any]:
    return {
        "code": plan.code,
        "version": plan.version,
        "name": plan.name,
        "price_minor": plan.price.amount_minor,
        "currency": plan.price.currency,
        "created_at": created_at,
        **{term: getattr(plan, term) for term in _TERMS},
    }


def _latest_versions() -> Any:
    return (
        select(plans.c.code, func.max(plans.c.version).label("version"))
        .group_by(plans.c.code)
        .subquery()
    )


def current_plans(conn: Connection) -> list[Plan]:
    latest = _latest_versions()
    query = select(plans).join(
        latest, (plans.c.code == latest.c.code) & (plans.c.version == latest.c.version)
    )
    return sorted((plan_from_row(r) for r in conn.execute(query)), key=_catalog_order)


def _catalog_order(plan: Plan) -> tuple[int, int, str]:
    return plan.price.amount_minor, plan.monthly_allotment, plan.code


def current_plan(conn: Connection, code: str) -> Plan:
    if not is_code(code):  # never a query: PostgreSQL would refuse a NUL where SQLite finds none
        raise UnknownPlan(f"there is no plan {code!r}")
    row = conn.execute(
        select(plans).where(plans.c.code == code).order_by(plans.c.version.desc()).limit(1)
    ).first()
    if row is None:
        raise UnknownPlan(f"there is no plan {code!r}")
    return plan_from_row(row)


def plan_history(conn: Connection, code: str) -> list[PlanVersion]:
    """Every version of plan ``code`` with the moment it came into force, oldest first."""
    if not is_code(code):  # never a query: PostgreSQL would refuse a NUL where SQLite finds none
        return []
    rows = conn.execute(select(plans).where(plans.c.code == code).order_by(plans.c.version))
    return [PlanVersion(r.created_at, plan_from_row(r)) for r in rows]


def plan_version(conn: Connection, code: str, version: int) -> Plan:
    row = conn.execute(
        select(plans).where(plans.c.code == code, plans.c.version == version)
    ).first()
    if row is None:
        raise UnknownPlan(f"there is no version {version} of plan {code!r}")
    return plan_from_row(row)


def insert_plan(conn: Connection, plan: Plan, created_at: datetime) -> None:
    conn.execute(plans.insert().values(**plan_values(plan, created_at)))


def all_packs(conn: Connection) -> list[Pack]:
    rows = conn.execute(select(packs).order_by(packs.c.credits))
    return [Pack(r.code, r.credits, Money(r.price_minor, r.currency)) for r in rows]


def _pack_values(pack: Pack) -> dict[str, Any]:
    return {
        "code": pack.code,
        "credits": pack.credits,
        "price_minor": pack.price.amount_minor,
        "currency": pack.price.currency,
    }


def insert_packs(conn: Connection, items: Iterable[Pack], created_at: datetime) -> None:
    """Put new packs on sale, each as its version 1."""
    values = [_pack_values(p) for p in items]
    if values:
        conn.execute(packs.insert(), values)
        history = [{**v, "version": 1, "created_at": created_at} for v in values]
        conn.execute(pack_versions.insert(), history)


def current_pack(conn: Connection, code: str) -> Pack | None:
    """Pack ``code`` as on sale now, or None when there is no such pack."""
    if not is_code(code):  # never a query: PostgreSQL would refuse a NUL where SQLite finds none
        return None
    row = conn.execute(select(packs).where(packs.c.code == code)).first()
    return (
        None if row is None else Pack(row.code, row.credits, Money(row.price_minor, row.currency))
    )


def pack_version_count(conn: Connection, code: str) -> int:
    """How many versions pack ``code`` has had (0: a new pack)."""
    query = select(func.coalesce(func.max(pack_versions.c.version), 0))
    return int(conn.execute(query.where(pack_versions.c.code == code)).scalar_one())


def pack_versions_of(conn: Connection) -> dict[str, int]:
    """The newest version number of every pack, by code."""
    query = select(pack_versions.c.code, func.max(pack_versions.c.version))
    return {code: int(n) for code, n in conn.execute(query.group_by(pack_versions.c.code))}


def save_pack_version(conn: Connection, pack: Pack, version: int, created_at: datetime) -> None:
    """Write ``pack`` as its version ``version`` and put those terms on sale.

    The version row is the history (its primary key refuses a second writer of the same
    version); the ``packs`` row is what every purchase reads.
    """
    values = _pack_values(pack)
    conn.execute(pack_versions.insert().values(**values, version=version, created_at=created_at))
    if version == 1:
        conn.execute(packs.insert().values(**values))
    else:
        conn.execute(packs.update().where(packs.c.code == pack.code).values(**values))
