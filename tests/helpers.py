"""Small helpers shared by the tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from inmail.domain.cycles import add_months
from inmail.services.audit import run_audit
from inmail.services.context import Deps
from inmail.services.members import create_member
from inmail.services.statements import LedgerLine, get_credits, list_charges, list_ledger

_counter = iter(range(1, 1_000_000))


def new_member(deps: Deps, plan: str, now: datetime, handle: str | None = None) -> str:
    handle = handle or f"member{next(_counter)}"
    return create_member(deps, handle=handle, name=handle.title(), plan=plan, now=now).id


def balance(deps: Deps, member_id: str, now: datetime) -> int:
    return get_credits(deps, member_id=member_id, now=now).balance


def ledger(deps: Deps, member_id: str, now: datetime) -> list[LedgerLine]:
    return list_ledger(deps, member_id=member_id, now=now, limit=10_000)


def charge_kinds(deps: Deps, member_id: str, now: datetime) -> list[str]:
    return [c.kind for c in list_charges(deps, member_id=member_id, now=now, limit=10_000)]


def assert_audit_clean(deps: Deps) -> None:
    assert run_audit(deps) == []


def days(n: float) -> timedelta:
    return timedelta(days=n)


def months_after(anchor: datetime, months: int) -> datetime:
    """``add_months`` for the tests' own dates, well inside the calendar: never None."""
    moved = add_months(anchor, months)
    assert moved is not None, f"{anchor} moved {months} months leaves the calendar"
    return moved
