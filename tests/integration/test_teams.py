"""Team contracts on real SQLite and PostgreSQL (SPEC §10): the pool, seats, caps, credit-backs.

The ``deps`` fixture runs every test on both engines.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import select, update

from inmail.domain.errors import Conflict, InsufficientCredits, SeatCapReached, ValidationError
from inmail.services.adjustments import grant_credits, refund_charge
from inmail.services.audit import run_audit
from inmail.services.context import Deps
from inmail.services.credits import adjust_credits, refund_spend, spend_credits
from inmail.services.notices import sweep
from inmail.services.renewals import renew_all
from inmail.services.statements import list_charges, operator_totals
from inmail.services.teams import (
    TeamRecord,
    assign_seat,
    buy_team_pack,
    change_terms,
    create_team,
    my_seat,
    remove_seat,
    set_seat_cap,
    set_seat_overage,
    team_view,
    usage_csv,
)
from inmail.store.notices import members_to_check
from inmail.store.tables import ledger_entries, outbox_events, spends, team_seats
from tests.conftest import T0
from tests.helpers import balance, days, new_member

NOW = T0 + days(1)
SEATS = 4


def new_team(deps: Deps, seats: int = SEATS) -> tuple[TeamRecord, list[str]]:
    """A recruiter_corporate team with its seats filled; the first seat is its admin."""
    team = create_team(deps, name="Acme Talent", plan="recruiter_corporate", seats=seats, now=T0)
    holders = [new_member(deps, "basic", T0) for _ in range(seats)]
    for i, member in enumerate(holders):
        team = assign_seat(deps, team_id=team.id, member_id=member, admin=i == 0, now=T0)
    return team, holders


def seat_lines(deps: Deps, reference: str) -> list[tuple[str, str | None, int]]:
    with deps.db.read() as conn:
        rows = conn.execute(
            select(
                ledger_entries.c.member_id, ledger_entries.c.seat_member_id, ledger_entries.c.amount
            )
            .where(ledger_entries.c.reference == reference)
            .order_by(ledger_entries.c.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]


def test_a_team_pool_is_granted_allotment_times_seats_and_charged_fee_times_seats(
    deps: Deps,
) -> None:
    team, _ = new_team(deps)
    assert balance(deps, team.id, T0) == 75 * SEATS
    fees = list_charges(deps, member_id=team.id, now=T0, limit=10)
    assert [c.kind for c in fees] == ["subscription"]
    assert run_audit(deps, NOW) == []


def test_the_pool_rolls_over_up_to_cap_times_seats(deps: Deps) -> None:
    team, _ = new_team(deps)
    # Anchored Jan 31: cycles start Feb 28, Mar 31, Apr 30; 300 a cycle, cap 900.
    assert renew_all(deps, now=T0 + days(29)) == 1  # the worker renews pools in bulk too
    assert balance(deps, team.id, T0 + days(29)) == 600
    assert balance(deps, team.id, T0 + days(60)) == 900
    assert balance(deps, team.id, T0 + days(90)) == 900
    assert renew_all(deps, now=T0 + days(90)) == 0
    assert run_audit(deps, NOW) == []


def test_a_seat_send_spends_from_the_pool_and_its_ledger_line_names_the_seat(deps: Deps) -> None:
    team, (_admin, seat, *_) = new_team(deps)
    own_before = balance(deps, seat, NOW)
    spent = spend_credits(deps, member_id=seat, cost=1, reference="inmail:t1", now=NOW)
    assert spent.balance_after == 75 * SEATS - 1
    assert balance(deps, team.id, NOW) == 75 * SEATS - 1
    assert balance(deps, seat, NOW) == own_before
    assert seat_lines(deps, "inmail:t1") == [(team.id, seat, -1)]
    mine = my_seat(deps, member_id=seat, now=NOW)
    assert mine is not None
    assert mine.used == 1
    assert mine.text == "1 this month, no cap"
    assert run_audit(deps, NOW) == []


def test_a_seat_at_its_cap_is_refused_naming_the_cap_and_nothing_is_charged(deps: Deps) -> None:
    team, (admin, seat, *_) = new_team(deps)
    set_seat_cap(deps, admin_id=admin, team_id=team.id, member_id=seat, cap=2, now=NOW)
    for n in range(2):
        spend_credits(deps, member_id=seat, cost=1, reference=f"inmail:c{n}", now=NOW)
    with pytest.raises(SeatCapReached, match="2 of its 2 credits"):
        spend_credits(deps, member_id=seat, cost=1, reference="inmail:c2", now=NOW)
    assert balance(deps, team.id, NOW) == 75 * SEATS - 2
    mine = my_seat(deps, member_id=seat, now=NOW)
    assert mine is not None
    assert mine.text == "2 of 2 this month"
    # A new calendar month starts the count again.
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:c3", now=T0 + days(29))
    assert run_audit(deps, NOW) == []


def test_a_cap_below_this_months_usage_is_refused(deps: Deps) -> None:
    team, (admin, seat, *_) = new_team(deps)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:u1", now=NOW)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:u2", now=NOW)
    with pytest.raises(ValidationError) as refused:
        set_seat_cap(deps, admin_id=admin, team_id=team.id, member_id=seat, cap=1, now=NOW)
    assert refused.value.field == "monthly_cap"
    usage = set_seat_cap(deps, admin_id=admin, team_id=team.id, member_id=seat, cap=2, now=NOW)
    assert usage.text == "2 of 2 this month"


def test_a_credit_back_returns_to_the_pool_and_to_the_seats_usage(deps: Deps) -> None:
    team, (admin, seat, *_) = new_team(deps)
    set_seat_cap(deps, admin_id=admin, team_id=team.id, member_id=seat, cap=1, now=NOW)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:r1", now=NOW)
    after = refund_spend(deps, member_id=seat, reference="inmail:r1", now=NOW)
    assert after == 75 * SEATS
    assert seat_lines(deps, "inmail:r1") == [(team.id, seat, -1), (team.id, seat, 1)]
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:r2", now=NOW)  # cap freed
    assert run_audit(deps, NOW) == []


def test_overage_for_seats_needs_the_admins_permission(deps: Deps) -> None:
    team, (admin, seat, *_) = new_team(deps)
    adjust_credits(deps, member_id=team.id, amount=-75 * SEATS, reason="drain", now=NOW)
    with pytest.raises(InsufficientCredits, match="admins have not allowed overage"):
        spend_credits(deps, member_id=seat, cost=1, reference="inmail:o1", now=NOW)
    set_seat_overage(deps, admin_id=admin, team_id=team.id, allowed=True, now=NOW)
    spent = spend_credits(deps, member_id=seat, cost=1, reference="inmail:o1", now=NOW)
    assert spent.overage_charge is not None
    kinds = [c.kind for c in list_charges(deps, member_id=team.id, now=NOW, limit=10)]
    assert "overage" in kinds
    assert run_audit(deps, NOW) == []


def test_a_team_admin_buys_a_pack_for_the_pool(deps: Deps) -> None:
    team, (admin, seat, *_) = new_team(deps)
    bought = buy_team_pack(deps, admin_id=admin, team_id=team.id, pack="pack_5", now=NOW)
    assert bought.balance_after == 75 * SEATS + 5
    with pytest.raises(Exception, match="admins"):
        buy_team_pack(deps, admin_id=seat, team_id=team.id, pack="pack_5", now=NOW)


def test_leaving_the_team_sends_from_the_own_account_and_the_pool_keeps_its_credits(
    deps: Deps,
) -> None:
    team, (_admin, seat, *_) = new_team(deps)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:l1", now=NOW)
    remove_seat(deps, team_id=team.id, member_id=seat, now=NOW)
    assert my_seat(deps, member_id=seat, now=NOW) is None
    with pytest.raises(Exception, match="does not include InMail"):  # back on Basic
        spend_credits(deps, member_id=seat, cost=1, reference="inmail:l2", now=NOW)
    assert balance(deps, team.id, NOW) == 75 * SEATS - 1


def test_seats_are_limited_by_the_contract_and_one_per_member(deps: Deps) -> None:
    team, holders = new_team(deps, seats=2)
    extra = new_member(deps, "basic", T0)
    with pytest.raises(Conflict, match="seats"):
        assign_seat(deps, team_id=team.id, member_id=extra, admin=False, now=T0)
    other = create_team(deps, name="Other", plan="recruiter", seats=1, now=T0)
    with pytest.raises(Conflict, match="already holds a seat"):
        assign_seat(deps, team_id=other.id, member_id=holders[0], admin=False, now=T0)


def test_the_admin_sees_usage_per_seat_and_exports_it(deps: Deps) -> None:
    team, (admin, seat, *_) = new_team(deps)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:v1", now=NOW)
    view = team_view(deps, admin_id=admin, team_id=team.id, now=NOW)
    assert view.pool.balance == 75 * SEATS - 1
    assert {s.member_id: s.used for s in view.seats}[seat] == 1
    text = usage_csv(deps, admin_id=admin, team_id=team.id, now=NOW)
    lines = text.splitlines()
    assert lines[0] == "member_id,handle,name,admin,monthly_cap,sends,credits_used"
    assert any(line.startswith(seat) and line.endswith(",1,1") for line in lines[1:])


def test_every_team_change_has_its_event(deps: Deps) -> None:
    team, (admin, seat, *_) = new_team(deps)
    set_seat_cap(deps, admin_id=admin, team_id=team.id, member_id=seat, cap=5, now=NOW)
    remove_seat(deps, team_id=team.id, member_id=seat, now=NOW)
    with deps.db.read() as conn:
        types = Counter(
            conn.execute(
                select(outbox_events.c.type).where(outbox_events.c.member_id == team.id)
            ).scalars()
        )
    assert types["team.created"] == 1
    assert types["seat.assigned"] == SEATS
    assert types["seat.cap_changed"] == 1
    assert types["seat.removed"] == 1
    set_seat_overage(deps, admin_id=admin, team_id=team.id, allowed=True, now=NOW)
    change_terms(deps, team_id=team.id, seats=SEATS + 1, pool_cap=None, now=NOW)
    with deps.db.read() as conn:
        changed = conn.execute(
            select(outbox_events.c.payload)
            .where(outbox_events.c.member_id == team.id, outbox_events.c.type == "team.changed")
            .order_by(outbox_events.c.seq)
        ).scalars()
        assert [json.loads(p)["seats"] for p in changed] == [SEATS, SEATS + 1]
    spend_credits(deps, member_id=admin, cost=1, reference="inmail:e1", now=NOW)
    with deps.db.read() as conn:
        payloads = conn.execute(
            select(outbox_events.c.payload).where(
                outbox_events.c.member_id == team.id,
                outbox_events.c.type == "ledger.entry_created",
                outbox_events.c.payload.contains("inmail:e1"),
            )
        ).scalars()
        (told,) = [json.loads(p) for p in payloads]
    assert told["seat_member_id"] == admin
    assert told["kind"] == "spend"
    assert types["ledger.entry_created"] >= 1
    assert types["charge.created"] >= 1


THREADS = 16
ATTEMPTS = 2
POOL_LEFT = 10
CAP = 4


def test_16_threads_over_4_seats_never_pass_the_pool_or_a_cap(deps: Deps) -> None:
    team, holders = new_team(deps)
    admin = holders[0]
    adjust_credits(deps, member_id=team.id, amount=POOL_LEFT - 75 * SEATS, reason="x", now=NOW)
    for member in holders[:2]:  # two seats capped below what they will try
        set_seat_cap(deps, admin_id=admin, team_id=team.id, member_id=member, cap=CAP // 2, now=NOW)
    barrier = Barrier(THREADS, timeout=60)

    def work(i: int) -> list[str]:
        seat = holders[i % SEATS]
        barrier.wait()
        outcomes = []
        for attempt in range(ATTEMPTS):
            ref = f"inmail:p{i}-{attempt}"
            try:
                spend_credits(deps, member_id=seat, cost=1, reference=ref, now=NOW)
            except (InsufficientCredits, SeatCapReached) as refused:
                outcomes.append(type(refused).__name__)
            else:
                outcomes.append("spent")
        return outcomes

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [o for r in pool.map(work, range(THREADS)) for o in r]
    assert Counter(results)["spent"] == POOL_LEFT
    assert balance(deps, team.id, NOW) == 0
    with deps.db.read() as conn:
        by_seat = Counter(
            conn.execute(
                select(spends.c.seat_member_id).where(spends.c.member_id == team.id)
            ).scalars()
        )
    assert sum(by_seat.values()) == POOL_LEFT
    for member in holders[:2]:
        assert by_seat[member] <= CAP // 2
    assert run_audit(deps, NOW) == []


def test_the_audit_finds_a_seat_over_its_cap_and_a_seat_line_naming_another(deps: Deps) -> None:
    _, (_, seat, other, _) = new_team(deps)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:a1", now=NOW)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:a2", now=NOW)
    assert run_audit(deps, NOW) == []
    with deps.db.write() as conn:  # what no service does: a cap below the month's usage
        conn.execute(update(team_seats).where(team_seats.c.member_id == seat).values(monthly_cap=1))
        conn.execute(
            update(ledger_entries)
            .where(ledger_entries.c.reference == "inmail:a1")
            .values(seat_member_id=other)
        )
    problems = run_audit(deps, NOW)
    assert any("over its cap 1" in p for p in problems)
    assert any("inmail:a1" in p for p in problems)
    assert not any("over its cap" in p for p in run_audit(deps, T0 + days(29)))  # March


def test_pools_are_not_members_in_the_operators_totals_nor_in_the_notice_sweep(
    deps: Deps,
) -> None:
    before = operator_totals(deps, now=NOW).members
    team, _ = new_team(deps)
    assert operator_totals(deps, now=NOW).members == before + SEATS  # the seats, not the pool
    adjust_credits(deps, member_id=team.id, amount=-75 * SEATS, reason="low", now=NOW)
    # Before the renewal, with a low balance: a member would be warned; a pool has no one.
    with deps.db.read() as conn:
        checked = members_to_check(
            conn,
            after=None,
            limit=1000,
            warn_until=T0 + days(40),
            low_balance=5,
            followups_from=None,
        )
    assert team.id not in checked
    sweep(deps, now=T0 + days(27))
    with deps.db.read() as conn:
        told = conn.execute(
            select(outbox_events.c.id).where(
                outbox_events.c.member_id == team.id,
                outbox_events.c.type == "notification.created",
            )
        ).all()
    assert told == []
    assert run_audit(deps, NOW) == []


def test_the_operator_grants_to_a_pool_and_refunds_a_pools_pack(deps: Deps) -> None:
    team, (admin, *_) = new_team(deps)
    granted = grant_credits(
        deps, member_id=team.id, credits=10, reason="goodwill", expires_at=None, now=NOW
    )
    assert granted.balance_after == 75 * SEATS + 10
    bought = buy_team_pack(deps, admin_id=admin, team_id=team.id, pack="pack_5", now=NOW)
    refund_charge(deps, charge_id=bought.charge_id, amount_minor=None, now=NOW)
    assert balance(deps, team.id, NOW) == 75 * SEATS + 10
    assert run_audit(deps, NOW) == []


def test_more_seats_apply_from_the_next_renewal_and_never_fewer_than_taken(deps: Deps) -> None:
    team, _ = new_team(deps)
    change_terms(deps, team_id=team.id, seats=SEATS + 2, pool_cap=None, now=NOW)
    assert balance(deps, team.id, NOW) == 75 * SEATS  # this cycle's grant stands
    assert balance(deps, team.id, T0 + days(29)) == 75 * SEATS + 75 * (SEATS + 2)
    with pytest.raises(Conflict, match="seats are taken"):
        change_terms(deps, team_id=team.id, seats=SEATS - 1, pool_cap=None, now=NOW)
    assert run_audit(deps, NOW) == []
