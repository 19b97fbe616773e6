"""Dates on the web pages: one unambiguous way, in the member's zone (web.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from inmail.web.dates import chart_labels, day, moment, zone_for

AT = datetime(2026, 12, 26, 23, 33, tzinfo=UTC)


def test_a_day_has_its_year_and_no_leading_zero() -> None:
    assert day(AT) == "26 Dec 2026"
    assert day(datetime(2026, 2, 7, tzinfo=UTC), weekday=True) == "Sat 7 Feb 2026"
    assert day(date(2027, 1, 1)) == "1 Jan 2027"


def test_a_moment_is_shown_in_the_zone_with_its_name() -> None:
    assert moment(AT) == "26 Dec 2026, 23:33 UTC"
    # Half past midnight in Paris is the next day there.
    assert moment(AT, ZoneInfo("Europe/Paris")) == "27 Dec 2026, 00:33 CET"
    assert day(AT, ZoneInfo("Europe/Paris")) == "27 Dec 2026"


def test_a_naive_timestamp_is_taken_as_utc() -> None:
    assert moment(datetime(2026, 1, 31, 9, 0)) == "31 Jan 2026, 09:00 UTC"  # noqa: DTZ001


def test_a_member_without_a_zone_setting_sees_utc() -> None:
    assert zone_for(None) == UTC
    assert zone_for(SimpleNamespace(name="Ada")) == UTC
    assert zone_for(SimpleNamespace(time_zone="")) == UTC
    assert zone_for(SimpleNamespace(time_zone="Mars/Olympus_Mons")) == UTC
    assert zone_for(SimpleNamespace(time_zone="America/New_York")) == ZoneInfo("America/New_York")


def test_chart_labels_carry_the_year_when_the_cycles_span_years() -> None:
    one_year = [datetime(2026, m, 28, tzinfo=UTC) for m in (9, 10, 11)]
    assert chart_labels(one_year) == ["28 Sep", "28 Oct", "28 Nov"]
    two_years = [datetime(2025, 12, 28, tzinfo=UTC), datetime(2026, 1, 28, tzinfo=UTC)]
    assert chart_labels(two_years) == ["28 Dec 2025", "28 Jan 2026"]
