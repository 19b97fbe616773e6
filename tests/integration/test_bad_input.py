"""Every service refuses bad input with a DomainError naming the problem, and writes nothing."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from inmail.clock import TestClock
from inmail.domain.errors import (
    ClockMovedBackwards,
    DomainError,
    HandleTaken,
    IdempotencyKeyReused,
    UnknownMember,
    UnknownPack,
    UnknownPlan,
    ValidationError,
)
from inmail.services.audit import run_audit
from inmail.services.catalog import update_plan
from inmail.services.context import Deps
from inmail.services.credits import (
    adjust_credits,
    buy_pack,
    refund_spend,
    spend_credits,
    update_overage_settings,
)
from inmail.services.members import create_member
from inmail.services.statements import get_credits
from inmail.services.subscriptions import change_plan
from inmail.store.tables import metadata
from tests.conftest import T0
from tests.helpers import new_member

NAIVE = datetime(2026, 2, 1, 9)  # noqa: DTZ001 - deliberately naive


def _row_counts(deps: Deps) -> dict[str, int]:
    with deps.db.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


CASES: list[tuple[str, type[DomainError], str, Callable[[Deps, str], Any]]] = [
    ("unknown plan", UnknownPlan, "no plan 'gold'",
     lambda d, m: change_plan(d, member_id=m, plan="gold", now=T0)),
    ("unknown pack", UnknownPack, "no credit pack 'pack_7'",
     lambda d, m: buy_pack(d, member_id=m, pack="pack_7", now=T0)),
    ("unknown member spends", UnknownMember, "no member 'm_nobody'",
     lambda d, m: spend_credits(d, member_id="m_nobody", cost=1, reference="r", now=T0)),
    ("unknown member reads", UnknownMember, "no member",
     lambda d, m: get_credits(d, member_id="m_nobody", now=T0)),
    ("negative cost", ValidationError, "cost must be",
     lambda d, m: spend_credits(d, member_id=m, cost=-1, reference="r", now=T0)),
    ("empty reference", ValidationError, "reference is 1 to 200",
     lambda d, m: spend_credits(d, member_id=m, cost=1, reference="", now=T0)),
    ("huge reference", ValidationError, "reference",
     lambda d, m: spend_credits(d, member_id=m, cost=1, reference="x" * 201, now=T0)),
    ("naive time", ValidationError, "timezone-aware",
     lambda d, m: spend_credits(d, member_id=m, cost=1, reference="r", now=NAIVE)),
    ("zero adjustment", ValidationError, "non-zero",
     lambda d, m: adjust_credits(d, member_id=m, amount=0, reason="x", now=T0)),
    ("adjustment without reason", ValidationError, "reason cannot be blank",
     lambda d, m: adjust_credits(d, member_id=m, amount=5, reason=" ", now=T0)),
    ("debit beyond the balance", DomainError, "needs 100 credit",
     lambda d, m: adjust_credits(d, member_id=m, amount=-100, reason="oops", now=T0)),
    ("negative overage limit", ValidationError, "overage limit",
     lambda d, m: update_overage_settings(
         d, member_id=m, auto_overage=True, limit_minor=-5, now=T0)),
    ("refund of an unknown spend", DomainError, "no spend",
     lambda d, m: refund_spend(d, member_id=m, reference="inmail:none", now=T0)),
    ("empty idempotency key", ValidationError, "idempotency key",
     lambda d, m: buy_pack(d, member_id=m, pack="pack_1", now=T0, idempotency_key="")),
    ("idempotency key a header could not carry", ValidationError, "visible ASCII",
     lambda d, m: buy_pack(d, member_id=m, pack="pack_1", now=T0, idempotency_key="clé")),
    ("taken handle", HandleTaken, "taken",
     lambda d, m: create_member(d, handle="taken", name="Again", now=T0)),
    ("bad handle", ValidationError, "handle is 2 to 30",
     lambda d, m: create_member(d, handle="no spaces!", name="X", now=T0)),
    ("empty name", ValidationError, "name cannot be blank",
     lambda d, m: create_member(d, handle="fine", name="  ", now=T0)),
    ("member on an unknown plan", UnknownPlan, "no plan",
     lambda d, m: create_member(d, handle="fine", name="Fine", plan="gold", now=T0)),
    ("negative plan allotment", ValidationError, "monthly_allotment cannot be negative",
     lambda d, m: update_plan(d, code="recruiter", changes={"monthly_allotment": -1}, now=T0)),
    ("unknown plan term", ValidationError, "cannot be set: colour",
     lambda d, m: update_plan(d, code="recruiter", changes={"colour": "red"}, now=T0)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "error", "message", "call"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly_and_nothing_is_written(
    deps: Deps,
    case: str,
    error: type[DomainError],
    message: str,
    call: Callable[[Deps, str], Any],
) -> None:
    member = new_member(deps, "premium_business", T0, handle="taken")
    before = _row_counts(deps)
    with pytest.raises(error, match=message):
        call(deps, member)
    assert _row_counts(deps) == before


def test_an_idempotency_key_reused_for_another_request_is_refused(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    buy_pack(deps, member_id=member, pack="pack_1", now=T0, idempotency_key="k")
    before = _row_counts(deps)
    with pytest.raises(IdempotencyKeyReused, match="different request"):
        buy_pack(deps, member_id=member, pack="pack_5", now=T0, idempotency_key="k")
    assert _row_counts(deps) == before


def test_a_replayed_purchase_returns_the_first_result_and_charges_once(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    first = buy_pack(deps, member_id=member, pack="pack_5", now=T0, idempotency_key="k")
    again = buy_pack(deps, member_id=member, pack="pack_5", now=T0, idempotency_key="k")
    assert first == again
    assert get_credits(deps, member_id=member, now=T0).balance == 30


def test_the_test_clock_only_moves_forwards(deps: Deps) -> None:
    clock = TestClock(deps.db, T0)
    assert clock.now() == T0
    assert clock.advance(timedelta(days=31)) == T0 + timedelta(days=31)
    assert TestClock(deps.db, T0).now() == T0 + timedelta(days=31)  # persisted
    with pytest.raises(ClockMovedBackwards, match="cannot move back"):
        clock.set(T0)
    with pytest.raises(ClockMovedBackwards):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == T0 + timedelta(days=31)


def test_the_audit_names_every_broken_invariant(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0)
    spend_credits(deps, member_id=member, cost=1, reference="inmail:1", now=T0)
    with deps.db.write() as conn:
        conn.execute(text("UPDATE lots SET remaining = remaining - 3"))
        conn.execute(text("DELETE FROM ledger_entries WHERE kind = 'spend'"))
    problems = run_audit(deps)
    assert any("lots hold 21" in p for p in problems)
    assert any("spend inmail:1: cost 1 but the ledger spent 0" in p for p in problems)
