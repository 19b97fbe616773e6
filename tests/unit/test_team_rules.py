"""Team rules without a database (domain/teams.py, SPEC §10)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inmail.domain.errors import SeatCapReached, ValidationError
from inmail.domain.plans import DEFAULT_PLANS
from inmail.domain.teams import (
    Seat,
    Team,
    allow_seat_spend,
    check_seat_cap,
    check_team_terms,
    is_team_id,
    month_start,
    next_month_start,
    pool_plan,
    usage_text,
)
from inmail.domain.timeline import LATEST

AT = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
CORPORATE = next(p for p in DEFAULT_PLANS if p.code == "recruiter_corporate")


def team(seats: int = 4, pool_cap: int | None = None) -> Team:
    return Team("tm_1", "Acme", CORPORATE.code, seats, pool_cap, False, AT)


def seat(cap: int | None) -> Seat:
    return Seat("m_1", "tm_1", False, cap, AT)


def test_the_pool_gets_allotment_cap_and_fee_times_the_seats() -> None:
    pool = pool_plan(CORPORATE, team(4))
    assert pool.monthly_allotment == 75 * 4
    assert pool.rollover_cap == 225 * 4
    assert pool.price == CORPORATE.price.times(4)
    assert (pool.code, pool.version, pool.inmail_cost) == (CORPORATE.code, CORPORATE.version, 1)


def test_the_operators_pool_cap_replaces_cap_times_seats() -> None:
    assert pool_plan(CORPORATE, team(4, pool_cap=500)).rollover_cap == 500


def test_a_seat_may_spend_up_to_its_cap_and_no_further() -> None:
    allow_seat_spend(seat(None), used=1000, cost=1, admins=[])
    allow_seat_spend(seat(40), used=39, cost=1, admins=["Ada"])
    with pytest.raises(SeatCapReached, match=r"40 of its 40 credits this month .*Ada"):
        allow_seat_spend(seat(40), used=40, cost=1, admins=["Ada"])


def test_a_cap_below_this_months_usage_is_refused() -> None:
    check_seat_cap(None, used=12)
    check_seat_cap(12, used=12)
    for bad in (11, -1, True):
        with pytest.raises(ValidationError) as refused:
            check_seat_cap(bad, used=12)
        assert refused.value.field == "monthly_cap"


@pytest.mark.parametrize(
    ("name", "seats", "pool_cap", "field"),
    [("", 2, None, "name"), ("A", 0, None, "seats"), ("A", 2, -1, "pool_cap")],
)
def test_bad_team_terms_name_their_field(
    name: str, seats: int, pool_cap: int | None, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        check_team_terms(name, seats, pool_cap)
    assert refused.value.field == field


def test_the_caps_period_is_the_calendar_month_in_utc() -> None:
    assert month_start(AT) == datetime(2026, 12, 1, tzinfo=UTC)
    assert next_month_start(AT) == datetime(2027, 1, 1, tzinfo=UTC)


def test_the_seat_holder_reads_n_of_m_this_month() -> None:
    assert usage_text(12, 40) == "12 of 40 this month"
    assert usage_text(12, None) == "12 this month, no cap"
    assert is_team_id("tm_abc")
    assert not is_team_id("m_abc")


def test_the_month_after_december_9999_is_the_end_of_time() -> None:
    """No later month can be written: the period ends at the last representable moment
    (the operator's audit at the test clock's end was a 500: year 10000 is out of range)."""
    assert next_month_start(datetime(9999, 12, 31, 12, tzinfo=UTC)) == LATEST
    assert next_month_start(datetime(9999, 11, 30, tzinfo=UTC)) == datetime(9999, 12, 1, tzinfo=UTC)
