"""The plan and pack catalog: seeding the defaults, reading, and versioned plan edits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from inmail.domain.cycles import require_utc
from inmail.domain.errors import UnknownPlan, ValidationError
from inmail.domain.plans import DEFAULT_PACKS, DEFAULT_PLANS, Pack, Plan
from inmail.services.context import Deps
from inmail.store import catalog as catalog_store

EDITABLE_TERMS = frozenset(
    {
        "name",
        "monthly_allotment",
        "rollover_cap",
        "price",
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
    }
)


NEW_PLAN_NEEDS = (
    "name",
    "monthly_allotment",
    "rollover_cap",
    "price",
    "inmail",
    "packs",
    "overage",
)


def _check_complete(code: str, changes: dict[str, Any]) -> None:
    missing = [term for term in NEW_PLAN_NEEDS if term not in changes]
    if missing:
        raise ValidationError(
            f"{code!r} is a new plan, so it needs {', '.join(missing)}", field=missing[0]
        )


def seed_catalog(deps: Deps, *, now: datetime) -> bool:
    """Load the default plans and packs into an empty catalog; False if it had some."""
    require_utc(now)
    with deps.db.write() as conn:
        if catalog_store.current_plans(conn):
            return False
        for plan in DEFAULT_PLANS:
            catalog_store.insert_plan(conn, plan, now)
        catalog_store.insert_packs(conn, DEFAULT_PACKS)
    return True


def list_plans(deps: Deps) -> list[Plan]:
    with deps.db.read() as conn:
        return catalog_store.current_plans(conn)


def list_packs(deps: Deps) -> list[Pack]:
    with deps.db.read() as conn:
        return catalog_store.all_packs(conn)


def update_plan(deps: Deps, *, code: str, changes: dict[str, Any], now: datetime) -> Plan:
    """Write the plan's new terms as its next version; cycles already started keep theirs."""
    require_utc(now)
    unknown = sorted(set(changes) - EDITABLE_TERMS)
    if unknown:
        raise ValidationError(
            f"these plan terms cannot be set: {', '.join(unknown)}", field=unknown[0]
        )
    with deps.db.write() as conn:
        try:
            current = catalog_store.current_plan(conn, code)
        except UnknownPlan:
            _check_complete(code, changes)
            plan = Plan(code=code, version=1, **changes)
        else:
            plan = replace(current, version=current.version + 1, **changes)
        if plan.overage and plan.overage_pack not in {
            p.code for p in catalog_store.all_packs(conn)
        }:
            raise ValidationError(
                f"overage_pack {plan.overage_pack!r} is not in the pack catalog",
                field="overage_pack",
            )
        catalog_store.insert_plan(conn, plan, now)
    deps.plans.forget(code)
    return plan
