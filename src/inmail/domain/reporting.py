"""Calendar periods for the operator's totals: this month and the last, in UTC.

Members' billing cycles start on their own anchors, so the operator's totals use one
calendar for everybody: calendar months in UTC (docs/rules.md, "Operator totals").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime

from inmail.domain.cycles import require_utc


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month in UTC: ``start`` inclusive, ``end`` exclusive; ``name`` as shown."""

    name: str
    start: datetime
    end: datetime


def month_of(now: datetime, months_back: int = 0) -> Period:
    """The calendar month (UTC) holding ``now``, or the one ``months_back`` before it.

    December 9999 ends at ``datetime.max`` (there is no January 10000).

    Raises ValidationError when ``now`` is not an aware UTC time.
    """
    now = require_utc(now)
    index = now.year * 12 + now.month - 1 - months_back
    start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    following = index + 1
    if following // 12 > MAXYEAR:  # December 9999: the calendar ends with the month
        end = datetime.max.replace(tzinfo=UTC)
    else:
        end = datetime(following // 12, following % 12 + 1, 1, tzinfo=UTC)
    return Period(start.strftime("%B %Y"), start, end)
