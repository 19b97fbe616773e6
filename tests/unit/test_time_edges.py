"""No rule raises at the ends of the calendar (0001-01-01, 9999-12-31): docs/rules.md, Times.

A date that would fall after 9999-12-31 means "never": the cycle does not start, the lot
does not expire, the follow-up is never due. Hypothesis draws anchors and moments in the
first and the last ten years of the calendar.
"""

import calendar
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from inmail.domain.billing import Subscription, catch_up
from inmail.domain.credits import Book, lifetime_end
from inmail.domain.cycles import add_months, cycle_at, cycle_index_at, cycle_start, require_utc
from inmail.domain.errors import FollowUpTooEarly, ValidationError
from inmail.domain.messaging import ThreadState, ThreadStatus, check_followup, followup_due_at
from inmail.domain.plan_changes import upgrade
from inmail.domain.plans import Plan, default_catalog
from inmail.domain.timeline import (
    END_OF_ACCEPTED,
    FIRST_ACCEPTED,
    LATEST,
    MAX_TERM_DAYS,
    check_accepted,
    later,
)

CATALOG = default_catalog()
PREMIUM = replace(CATALOG.plan("premium_business"), plan_credit_lifetime_days=365)
RECRUITER = CATALOG.plan("recruiter")

# Hypothesis bounds naive datetimes and then attaches the zone.
near_the_end = st.datetimes(min_value=datetime(9990, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001
near_the_start = st.datetimes(max_value=datetime(10, 12, 31), timezones=st.just(UTC))  # noqa: DTZ001
at_an_edge = st.one_of(near_the_start, near_the_end)
months = st.integers(min_value=-240, max_value=240)


def _plans(code: str, *_: object) -> Plan:
    return {PREMIUM.code: PREMIUM, RECRUITER.code: RECRUITER}[code]


def _month_index(moment: datetime) -> int:
    return moment.year * 12 + moment.month - 1


@given(anchor=at_an_edge, months=months)
def test_moving_by_months_gives_a_date_in_the_calendar_or_none(
    anchor: datetime, months: int
) -> None:
    moved = add_months(anchor, months)
    year, month = divmod(_month_index(anchor) + months, 12)
    if not 1 <= year <= 9999:
        assert moved is None
        return
    assert moved is not None
    assert (moved.year, moved.month) == (year, month + 1)
    assert moved.day == min(anchor.day, calendar.monthrange(year, month + 1)[1])
    assert (moved.timetz(), moved.tzinfo) == (anchor.timetz(), UTC)


@given(anchor=at_an_edge, months=months)
def test_moving_there_and_back_returns_to_an_anchor_no_month_clamps(
    anchor: datetime, months: int
) -> None:
    assume(anchor.day <= 28)
    moved = add_months(anchor, months)
    assume(moved is not None)
    assert moved is not None
    assert add_months(moved, -months) == anchor


@given(anchor=at_an_edge, data=st.data())
def test_the_cycle_containing_a_moment_near_either_end(
    anchor: datetime, data: st.DataObject
) -> None:
    now = data.draw(st.datetimes(min_value=anchor.replace(tzinfo=None), timezones=st.just(UTC)))
    k = cycle_index_at(anchor, now)
    start, next_start = cycle_start(anchor, k), cycle_start(anchor, k + 1)
    assert start is not None
    assert start <= now
    assert next_start is None or now < next_start
    cycle = cycle_at(anchor, now)
    assert (cycle.index, cycle.start, cycle.end) == (k, start, next_start)


def test_the_last_cycles_of_the_calendar() -> None:
    anchor = datetime(9999, 10, 31, 9, tzinfo=UTC)
    assert cycle_start(anchor, 1) == datetime(9999, 11, 30, 9, tzinfo=UTC)
    assert cycle_start(anchor, 2) == datetime(9999, 12, 31, 9, tzinfo=UTC)
    assert cycle_start(anchor, 3) is None
    assert cycle_index_at(anchor, LATEST) == 2
    assert cycle_at(anchor, LATEST).end is None


def test_the_first_months_of_the_calendar() -> None:
    anchor = datetime(1, 1, 31, tzinfo=UTC)
    assert add_months(anchor, -1) is None
    assert cycle_start(anchor, 1) == datetime(1, 2, 28, tzinfo=UTC)
    assert cycle_index_at(anchor, datetime(1, 3, 30, tzinfo=UTC)) == 1


@given(anchor=near_the_end)
def test_renewals_stop_at_the_last_cycle_that_has_a_date(anchor: datetime) -> None:
    sub = Subscription("sub_1", PREMIUM, anchor, -1)
    book = Book(0, [])
    renewals = catch_up(book, sub, _plans, LATEST)
    # One renewal per month from the anchor's to December 9999, then none: no cycle 10000.
    months_left = _month_index(LATEST) - _month_index(anchor)
    assert [r.cycle for r in renewals] == list(range(months_left + 1))
    assert renewals[-1].at == cycle_start(anchor, months_left)
    assert sub.next_renewal_at() is None
    assert sub.current_cycle(LATEST) == cycle_at(anchor, LATEST)
    for lot in book.lots:
        expected = (
            lot.created_at + timedelta(days=365)
            if LATEST - lot.created_at >= timedelta(days=365)
            else None
        )
        assert lot.expires_at == expected
    assert catch_up(book, sub, _plans, LATEST) == []


@given(start=at_an_edge, days=st.integers(min_value=1, max_value=MAX_TERM_DAYS))
def test_a_lifetime_ends_on_a_date_or_never(start: datetime, days: int) -> None:
    end = lifetime_end(start, days)
    if LATEST - start < timedelta(days=days):
        assert end is None
    else:
        assert end == start + timedelta(days=days)


def test_a_follow_up_due_after_the_calendar_is_never_due() -> None:
    sent = datetime(9999, 12, 28, tzinfo=UTC)
    thread = ThreadState(ThreadStatus.AWAITING_RESPONSE, sent, followups_sent=0)
    assert followup_due_at(sent, PREMIUM) is None
    assert followup_due_at(datetime(9999, 12, 24, tzinfo=UTC), PREMIUM) == datetime(
        9999, 12, 31, tzinfo=UTC
    )
    with pytest.raises(FollowUpTooEarly, match="only after 9999-12-31"):
        check_followup(thread, PREMIUM, LATEST)


def test_an_upgrade_in_a_cycle_without_an_end_is_refused_and_changes_nothing() -> None:
    sub = Subscription("sub_1", PREMIUM, datetime(9999, 12, 15, tzinfo=UTC), 0)
    book = Book(0, [])
    with pytest.raises(ValidationError, match="cannot be prorated") as refused:
        upgrade(book, sub, RECRUITER, datetime(9999, 12, 20, tzinfo=UTC))
    assert refused.value.field == "now"
    assert (sub.plan, book.entries, book.charges) == (PREMIUM, [], [])


@pytest.mark.parametrize(
    "moment",
    [
        FIRST_ACCEPTED,
        END_OF_ACCEPTED - timedelta(microseconds=1),
        datetime(9997, 12, 31, 18, 59, 59, 999_999, tzinfo=timezone(-timedelta(hours=5))),
        datetime(2026, 1, 31, 9, tzinfo=timezone(timedelta(hours=14))),
    ],
)
def test_accepted_times_are_returned_in_utc(moment: datetime) -> None:
    accepted = check_accepted(moment, "now")
    assert (accepted, accepted.tzinfo) == (moment, UTC)


@pytest.mark.parametrize(
    "moment",
    [
        FIRST_ACCEPTED - timedelta(microseconds=1),
        END_OF_ACCEPTED,
        datetime(9997, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5))),  # 9998-01-01 in UTC
        datetime(9999, 11, 15, tzinfo=UTC),
        LATEST,
        datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5))),  # year 10000 in UTC
        datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5))),  # year 0 in UTC
        datetime(2026, 1, 31),  # noqa: DTZ001 - naive
    ],
)
def test_times_outside_the_accepted_range_are_refused_naming_the_field(moment: datetime) -> None:
    with pytest.raises(ValidationError) as refused:
        check_accepted(moment, "advance_days")
    assert refused.value.field == "advance_days"


def test_a_time_whose_offset_leaves_the_calendar_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="outside the calendar") as refused:
        require_utc(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5))))
    assert refused.value.field == "now"


def test_later_past_the_end_of_the_calendar_is_never() -> None:
    assert later(LATEST, timedelta(microseconds=1)) is None
    assert later(LATEST - timedelta(days=1), timedelta(days=1)) == LATEST


@pytest.mark.parametrize(
    "term",
    [
        "plan_credit_lifetime_days",
        "pack_credit_lifetime_days",
        "credit_back_days",
        "followup_after_days",
    ],
)
def test_plan_lifetimes_and_waits_are_at_most_100_years(term: str) -> None:
    # The field is named by the parameter, so its type is only known at run time.
    longest: dict[str, Any] = {term: MAX_TERM_DAYS}
    too_long: dict[str, Any] = {term: MAX_TERM_DAYS + 1}
    assert getattr(replace(PREMIUM, **longest), term) == 36_500
    with pytest.raises(ValidationError, match="at most 36500 days") as refused:
        replace(PREMIUM, **too_long)
    assert refused.value.field == term
