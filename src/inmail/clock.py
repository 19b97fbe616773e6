"""Clocks: the only module that reads the system time.

Services and rules take ``now`` as an argument; entry points ask a clock.
The test clock lives in the database so that every process of a deployment
sees the same simulated time, and it only moves when advanced.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from inmail.domain.cycles import require_utc
from inmail.domain.errors import ClockMovedBackwards, ValidationError
from inmail.domain.timeline import check_accepted, later
from inmail.store.clock import read_test_clock, write_test_clock
from inmail.store.db import Database


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TestClock:
    """A persisted clock: starts at ``start``, moves only by :meth:`advance` or :meth:`set`.

    It never moves to a time inmail does not accept (domain/timeline.py): two
    years must be left before the end of the calendar.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, db: Database, start: datetime) -> None:
        self._db = db
        self._start = require_utc(start, "test_clock")

    def now(self) -> datetime:
        with self._db.read() as conn:
            stored = read_test_clock(conn)
        return stored or self._start

    def advance(self, by: timedelta, *, field: str = "advance_days") -> datetime:
        """Move forwards by ``by``; refused (naming ``field``) past the accepted times."""
        if by < timedelta(0):
            raise ClockMovedBackwards("the test clock only moves forwards")
        with self._db.write() as conn:
            current = read_test_clock(conn) or self._start
            moved = later(current, by)
            if moved is None:
                raise ValidationError(
                    f"{field} moves the test clock from {current.isoformat()} past the end of "
                    "the calendar (9999-12-31)",
                    field=field,
                )
            write_test_clock(conn, check_accepted(moved, field))
        return moved

    def set(self, moment: datetime) -> datetime:
        """Move to ``moment``; refused if it is in the past or not an accepted time."""
        moment = check_accepted(moment, "now")
        with self._db.write() as conn:
            current = read_test_clock(conn) or self._start
            if moment < current:
                raise ClockMovedBackwards(
                    f"the test clock is at {current.isoformat()} and cannot move back to "
                    f"{moment.isoformat()}",
                    field="now",
                )
            write_test_clock(conn, moment)
        return moment
