"""The plan and pack catalog: seeding the defaults, reading, and versioned plan and pack edits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from inmail.domain.catalog_edits import (
    TermChange,
    check_pack_version,
    check_plan_version,
    edited_pack,
    lower_cap_meaning,
    pack_diff,
    plan_diff,
)
from inmail.domain.cycles import require_utc
from inmail.domain.errors import CatalogChanged, UnknownPlan, ValidationError
from inmail.domain.money import Money
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
        catalog_store.insert_packs(conn, DEFAULT_PACKS, now)
    return True


def list_plans(deps: Deps) -> list[Plan]:
    with deps.db.read() as conn:
        return catalog_store.current_plans(conn)


def list_packs(deps: Deps) -> list[Pack]:
    with deps.db.read() as conn:
        return catalog_store.all_packs(conn)


@dataclass(frozen=True, slots=True)
class PlanEdit:
    """A plan's next version beside the one in force: what saving it would change.

    ``current`` is None for a new plan; ``lower_cap`` says in words what a rollover cap
    below the allotment means (None when it is not below).
    """

    current: Plan | None
    proposed: Plan
    changes: list[TermChange]
    lower_cap: str | None


@dataclass(frozen=True, slots=True)
class PackEdit:
    """A pack's next version beside the terms on sale (``current`` None: a new pack)."""

    current: Pack | None
    proposed: Pack
    version: int
    changes: list[TermChange]


def preview_plan_edit(deps: Deps, *, code: str, changes: dict[str, Any]) -> PlanEdit:
    """What saving ``changes`` to plan ``code`` would make, checked, without writing it.

    Raises ValidationError for unknown or invalid terms (a paid plan's fee must be more
    than 0); a lower cap is not refused here but stated in ``lower_cap``.
    """
    with deps.db.read() as conn:
        current, plan = _next_plan(conn, code, changes)
    check_plan_version(plan, lower_cap_confirmed=True)
    return PlanEdit(current, plan, plan_diff(current, plan), lower_cap_meaning(plan))


def _next_plan(conn: Any, code: str, changes: dict[str, Any]) -> tuple[Plan | None, Plan]:
    unknown = sorted(set(changes) - EDITABLE_TERMS)
    if unknown:
        raise ValidationError(
            f"these plan terms cannot be set: {', '.join(unknown)}", field=unknown[0]
        )
    try:
        current = catalog_store.current_plan(conn, code)
    except UnknownPlan:
        _check_complete(code, changes)
        return None, Plan(code=code, version=1, **changes)
    return current, replace(current, version=current.version + 1, **changes)


def update_plan(
    deps: Deps,
    *,
    code: str,
    changes: dict[str, Any],
    now: datetime,
    lower_cap_confirmed: bool = False,
    expected_version: int | None = None,
) -> Plan:
    """Write the plan's new terms as its next version; cycles already started keep theirs.

    ``expected_version`` is the version the operator reviewed (a confirm page): if another
    edit was saved since, CatalogChanged. Raises ValidationError for invalid terms: a paid plan's
    fee of 0, a rollover cap below the allotment unless ``lower_cap_confirmed`` (SPEC §1,
    docs/rules.md "Operator catalog edits"), an overage pack not in the catalog.
    """
    require_utc(now)
    with deps.db.write() as conn:
        _, plan = _next_plan(conn, code, changes)
        if expected_version is not None and plan.version != expected_version + 1:
            raise CatalogChanged(
                f"{plan.name} was changed by someone else since you reviewed it "
                f"(it is now version {plan.version - 1}): review the edit again."
            )
        check_plan_version(plan, lower_cap_confirmed=lower_cap_confirmed)
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


def list_pack_versions(deps: Deps) -> list[tuple[Pack, int]]:
    """Every pack on sale with its version number, fewest credits first."""
    with deps.db.read() as conn:
        versions = catalog_store.pack_versions_of(conn)
        return [(p, versions.get(p.code, 1)) for p in catalog_store.all_packs(conn)]


def preview_pack_edit(
    deps: Deps, *, code: str, credits: int | None = None, price: Money | None = None
) -> PackEdit:
    """What saving new terms for pack ``code`` would make, checked, without writing it.

    Raises ValidationError when a term is invalid (a price of 0 or less, no credits).
    """
    with deps.db.read() as conn:
        return _next_pack(conn, code, credits, price)


def _next_pack(conn: Any, code: str, credits: int | None, price: Money | None) -> PackEdit:
    current = catalog_store.current_pack(conn, code)
    pack = edited_pack(current, code, credits, price)
    check_pack_version(pack)
    version = catalog_store.pack_version_count(conn, code) + 1
    return PackEdit(current, pack, version, pack_diff(current, pack))


def update_pack(
    deps: Deps,
    *,
    code: str,
    now: datetime,
    credits: int | None = None,
    price: Money | None = None,
    expected_version: int | None = None,
) -> PackEdit:
    """Write pack ``code``'s new terms as its next version and put them on sale now.

    Purchases already made keep the price they were charged (their charge). A new code makes
    a new pack (credits and price needed). ``expected_version``: as for ``update_plan``.
    Raises ValidationError (invalid terms) or CatalogChanged (edited since it was reviewed).
    """
    require_utc(now)
    with deps.db.write() as conn:
        edit = _next_pack(conn, code, credits, price)
        if expected_version is not None and edit.version != expected_version + 1:
            raise CatalogChanged(
                f"The pack {code} was changed by someone else since you reviewed it "
                f"(it is now version {edit.version - 1}): review the edit again."
            )
        if edit.changes:
            catalog_store.save_pack_version(conn, edit.proposed, edit.version, now)
    return edit
