"""How the web app writes dates and times: one unambiguous way on every page.

Days read "26 Dec 2026" (day, month, year: never "Dec 26", which reads as a
day of an unknown year, nor "2026-12-06", which some read as June); moments
add the time and the zone they are shown in: "26 Dec 2026, 13:33 UTC". Times
are shown in the member's time zone (``zone_for``), UTC when they have none;
exports (CSV, the API) stay in UTC ISO 8601 and never come through here.

The templates use these as Jinja filters (``{{ r.at | day }}``,
``{{ m.created_at | moment }}``), which find the signed-in member (``me``) in
the page's context (``time_zone``, their setting, which ``web.common.page`` reads):
a page needs no zone of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context
from jinja2.runtime import Context

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def zone_for(member: Any) -> tzinfo:
    """The time zone to show ``member`` times in: their ``time_zone`` setting (an IANA name
    such as "Europe/Paris"), or UTC when they have none, it is unknown, or there is no
    member (an operator, a signed-out visitor)."""
    return zone_named(getattr(member, "time_zone", None))


def zone_named(name: object) -> tzinfo:
    """The zone an IANA name (a member's ``time_zone`` setting) names; UTC for None, ""
    or a name this machine's zone database lacks."""
    if not isinstance(name, str) or not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # a name this machine's tz database lacks
        return UTC


def day(moment: datetime | date, zone: tzinfo = UTC, *, weekday: bool = False) -> str:
    """ "26 Dec 2026" (``weekday``: "Sat 26 Dec 2026"): the day ``moment`` falls on in ``zone``.

    An aware datetime is converted to ``zone`` first; a naive one is taken as UTC
    (SQLite hands timestamps back without their zone); a date is shown as it is.
    """
    shown = _in_zone(moment, zone) if isinstance(moment, datetime) else moment
    text = f"{shown.day} {_MONTHS[shown.month - 1]} {shown.year}"
    return f"{_WEEKDAYS[shown.weekday()]} {text}" if weekday else text


def moment(when: datetime, zone: tzinfo = UTC) -> str:
    """ "26 Dec 2026, 13:33 UTC": the day and 24-hour time in ``zone``, with the zone's
    abbreviation (or its UTC offset, "+03", where the zone has none)."""
    shown = _in_zone(when, zone)
    return f"{day(shown, zone)}, {shown:%H:%M} {_zone_name(shown)}"


def chart_labels(starts: Sequence[datetime]) -> list[str]:
    """Labels for cycles starting at ``starts`` (oldest first): "28 Oct", with the year
    ("28 Oct 2025") on every label when the starts span more than one year, so that no
    two labels can name different days alike."""
    years = {start.year for start in starts}
    if len(years) > 1:
        return [day(start) for start in starts]
    return [f"{start.day} {_MONTHS[start.month - 1]}" for start in starts]


def _in_zone(when: datetime, zone: tzinfo) -> datetime:
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def _zone_name(shown: datetime) -> str:
    name = shown.tzname() or "UTC"
    return "UTC" if name in ("UTC", "Z") else name


def _zone(context: Context) -> tzinfo:
    """The signed-in member's zone: the page's ``time_zone`` (web.common.page reads their
    setting), or UTC without one (an operator, a visitor)."""
    return zone_named(context.get("time_zone"))


@pass_context
def day_filter(context: Context, when: datetime | date | None, weekday: bool = False) -> str:
    """Jinja's ``day``: :func:`day` in the signed-in member's zone ("" for None)."""
    if when is None:
        return ""
    return day(when, _zone(context), weekday=weekday)


@pass_context
def moment_filter(context: Context, when: datetime | None) -> str:
    """Jinja's ``moment``: :func:`moment` in the signed-in member's zone ("" for None)."""
    if when is None:
        return ""
    return moment(when, _zone(context))


@pass_context
def weekday_filter(context: Context, when: datetime | date | None) -> str:
    """Jinja's ``weekday``: "Sun 6 Dec 2026", in the signed-in member's zone ("" for None)."""
    return day_filter(context, when, weekday=True)


@pass_context
def day_and_time_filter(context: Context, when: datetime | None) -> str:
    """Jinja's ``day_and_time``: "Sun 6 Dec 2026, 13:33 UTC", in the signed-in member's zone."""
    if when is None:
        return ""
    zone = _zone(context)
    shown = _in_zone(when, zone)
    return f"{day(shown, zone, weekday=True)}, {shown:%H:%M} {_zone_name(shown)}"


FILTERS = {
    "day": day_filter,
    "moment": moment_filter,
    "weekday": weekday_filter,
    "day_and_time": day_and_time_filter,
}
