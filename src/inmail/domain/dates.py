"""Dates as people read them: always with the year, never an ISO timestamp (pure).

"Sun 6 Dec 2026" reads the same in every country ("12/06" does not), and a list that
spans years never shows "Oct 28" twice for two different days. Times are UTC and say so
(a member's own time zone is a setting the pages may apply before formatting).
"""

from __future__ import annotations

from datetime import datetime


def day(moment: datetime) -> str:
    """``"6 Dec 2026"``: the day with its month's short name and the year."""
    return f"{moment.day} {moment:%b %Y}"


def weekday(moment: datetime) -> str:
    """``"Sun 6 Dec 2026"``: :func:`day` with the short weekday name first."""
    return f"{moment:%a} {day(moment)}"


def day_and_time(moment: datetime) -> str:
    """``"Sun 6 Dec 2026, 13:33 UTC"``: :func:`weekday` and the time to the minute, in UTC."""
    return f"{weekday(moment)}, {moment:%H:%M} UTC"
