"""Calendar months for the operator's totals: UTC, any length, and the calendar's last one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from inmail.domain.errors import ValidationError
from inmail.domain.reporting import month_of


def test_this_month_and_the_last_are_calendar_months_in_utc() -> None:
    now = datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 28 Feb in UTC
    this, last = month_of(now), month_of(now, months_back=1)
    assert (this.name, this.start, this.end) == (
        "February 2026",
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert (last.name, last.start) == ("January 2026", datetime(2026, 1, 1, tzinfo=UTC))


def test_january_looks_back_to_december_of_the_year_before() -> None:
    last = month_of(datetime(2026, 1, 15, tzinfo=UTC), months_back=1)
    assert (last.start, last.end) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_last_month_of_the_calendar_ends_at_its_last_moment() -> None:
    december = month_of(datetime.max.replace(tzinfo=UTC))
    assert (december.name, december.end) == ("December 9999", datetime.max.replace(tzinfo=UTC))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError):
        month_of(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
