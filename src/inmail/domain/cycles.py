"""Billing-cycle arithmetic (SPEC §2).

Cycles are monthly from the subscription's anchor, in UTC. Cycle k starts
k months after the anchor on the anchor's day of the month, clamped to the
month's length: anchored on Jan 31 the starts are Feb 28 (29), Mar 31,
Apr 30, ... Each start is computed from the anchor, never from the previous
start, so a short month does not drag every later cycle to the 28th.

A cycle that would start after 9999-12-31 never starts (domain/timeline.py):
:func:`cycle_start` returns None for it, and the cycle before it never ends.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta

from inmail.domain.errors import ValidationError


def require_utc(moment: datetime, name: str = "now") -> datetime:
    """Rules only accept aware UTC times; a naive time is a programming error upstream."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware", field=name)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise ValidationError(f"{name} is outside the calendar in UTC", field=name) from None


def add_months(anchor: datetime, months: int) -> datetime | None:
    """The anchor moved by whole months, its day clamped to the target month's length.

    None when the target month is outside years 1 to 9999 (it has no date).
    """
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not MINYEAR <= year <= MAXYEAR:
        return None
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def cycle_start(anchor: datetime, k: int) -> datetime | None:
    """Start of cycle ``k`` (cycle 0 starts at the anchor); None if it would start after 9999."""
    return add_months(anchor, k)


def cycle_index_at(anchor: datetime, now: datetime) -> int:
    """The cycle that contains ``now``; -1 before the anchor."""
    if now < anchor:
        return -1
    # Cycle k starts in now's month, so each loop steps at most once.
    k = (now.year - anchor.year) * 12 + (now.month - anchor.month)
    while k > 0 and _starts_after(anchor, k, now):
        k -= 1
    while not _starts_after(anchor, k + 1, now):
        k += 1
    return k


def _starts_after(anchor: datetime, k: int, now: datetime) -> bool:
    start = cycle_start(anchor, k)
    return start is None or start > now


@dataclass(frozen=True, slots=True)
class Cycle:
    """Cycle ``index``; ``end`` is None when the next cycle would start after 9999-12-31."""

    index: int
    start: datetime
    end: datetime | None

    def remaining_fraction(self, now: datetime) -> tuple[int, int]:
        """How much of the cycle is left at ``now``, as an exact (numerator, denominator).

        Raises ValidationError for a cycle without an end: it cannot be prorated.
        """
        if self.end is None:
            raise ValidationError(
                "this billing cycle would end after 9999-12-31, so it cannot be prorated",
                field="now",
            )
        total = _microseconds(self.end - self.start)
        left = _microseconds(self.end - max(now, self.start))
        return max(0, min(left, total)), total


def _microseconds(span: timedelta) -> int:
    # Integer arithmetic: total_seconds() is a float and can lose the last microsecond.
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def cycle_at(anchor: datetime, now: datetime) -> Cycle:
    """The cycle containing ``now`` (cycle 0 before the anchor)."""
    k = max(0, cycle_index_at(anchor, now))
    start = cycle_start(anchor, k)
    assert start is not None  # it starts at the anchor or by now, both dates
    return Cycle(k, start, cycle_start(anchor, k + 1))
