"""The edges of time: the range inmail accepts, and arithmetic that never overflows.

Python's calendar (and so every time inmail stores) runs from 0001-01-01 to
9999-12-31 UTC. Two rules keep every computation inside it (docs/rules.md,
"Time"):

- **Accepted times** (the test clock, any time a client gives) are from
  :data:`FIRST_ACCEPTED` (1970-01-01, the Unix epoch: four-digit years that
  every tool formats and sorts alike) up to, not including,
  :data:`END_OF_ACCEPTED` (9998-01-01). The two years left before the end hold
  every step a rule takes forward from ``now`` with the default terms: a
  billing cycle (31 days), a follow-up wait (7), a warning (3), a pack's
  lifetime (365) and a cycle.
- **Rules never overflow.** A moment past 9999-12-31 cannot happen, so a
  computation that lands there means "never" (:func:`later` returns None):
  a cycle that would start then does not start, a lot that would expire then
  does not expire, a follow-up that would be due then is never due. A
  database already holding times near the end therefore stays readable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inmail.domain.errors import ValidationError

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
FIRST_ACCEPTED = datetime(1970, 1, 1, tzinfo=UTC)
END_OF_ACCEPTED = datetime(9998, 1, 1, tzinfo=UTC)
"""The first moment no longer accepted: two years before the end of the calendar."""

MAX_TERM_DAYS = 36_500
"""The longest lifetime, wait or window (in days) a plan may set: 100 years."""


def later(moment: datetime, span: timedelta) -> datetime | None:
    """``moment + span``, or None ("never") when that is past 9999-12-31."""
    try:
        return moment + span
    except OverflowError:
        return None


def capped_later(moment: datetime, span: timedelta) -> datetime:
    """``moment + span``, or the end of time (:data:`LATEST`) when that is past 9999-12-31:
    for the end of a period that must have one (a ban, a grace period), where "never"
    would be wrong and an OverflowError a 500."""
    return later(moment, span) or LATEST


def check_accepted(moment: datetime, field: str) -> datetime:
    """``moment`` in UTC if inmail accepts it; ValidationError naming ``field`` otherwise.

    Refused: a naive time, and one outside [FIRST_ACCEPTED, END_OF_ACCEPTED).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(f"{field} must be timezone-aware", field=field)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # its offset moves it off the calendar
        utc = EARLIEST if moment.year == 1 else LATEST
    if not FIRST_ACCEPTED <= utc < END_OF_ACCEPTED:
        raise ValidationError(
            f"times must be from {FIRST_ACCEPTED.date().isoformat()} to before "
            f"{END_OF_ACCEPTED.date().isoformat()} UTC (two years clear of the end of the "
            f"calendar, so that every renewal, expiry and wait after them has a date); "
            f"{field} asks for {moment.isoformat()}",
            field=field,
        )
    return utc


def check_term_days(days: int | None, field: str) -> None:
    """A plan's lifetime, wait or window in days: at most :data:`MAX_TERM_DAYS`."""
    if days is not None and days > MAX_TERM_DAYS:
        raise ValidationError(
            f"{field} must be at most {MAX_TERM_DAYS} days (100 years), not {days}", field=field
        )
