"""Billing-cycle arithmetic (SPEC §2).

Cycles are monthly from the subscription's anchor, in UTC. Cycle k starts
k months after the anchor on the anchor's day of the month, clamped to the
month's length: anchored on Jan 31 the starts are Feb 28 (29), Mar 31,
Apr 30, ... Each start is computed from the anchor, never from the previous
start, so a short month does not drag every later cycle to the 28th.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inmail.domain.errors import ValidationError


def require_utc(moment: datetime, name: str = "now") -> datetime:
    """Rules only accept aware UTC times; a naive time is a programming error upstream."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware", field=name)
    return moment.astimezone(UTC)


def add_months(anchor: datetime, months: int) -> datetime:
    """The anchor moved by whole months, its day clamped to the target month's length."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def cycle_start(anchor: datetime, k: int) -> datetime:
    """Start of cycle ``k`` (cycle 0 starts at the anchor)."""
    return add_months(anchor, k)


def cycle_index_at(anchor: datetime, now: datetime) -> int:
    """The cycle that contains ``now``; -1 before the anchor."""
    if now < anchor:
        return -1
    k = (now.year - anchor.year) * 12 + (now.month - anchor.month)
    while k > 0 and cycle_start(anchor, k) > now:
        k -= 1
    while cycle_start(anchor, k + 1) <= now:
        k += 1
    return k


@dataclass(frozen=True, slots=True)
class Cycle:
    index: int
    start: datetime
    end: datetime

    def remaining_fraction(self, now: datetime) -> tuple[int, int]:
        """How much of the cycle is left at ``now``, as an exact (numerator, denominator)."""
        total = _microseconds(self.end - self.start)
        left = _microseconds(self.end - max(now, self.start))
        return max(0, min(left, total)), total


def _microseconds(span: timedelta) -> int:
    # Integer arithmetic: total_seconds() is a float and can lose the last microsecond.
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def cycle_at(anchor: datetime, now: datetime) -> Cycle:
    k = max(0, cycle_index_at(anchor, now))
    return Cycle(k, cycle_start(anchor, k), cycle_start(anchor, k + 1))
