"""Clocks: the only module that reads the system time.

Services and rules take ``now`` as an argument; entry points ask a clock.
The test clock lives in the database so that every process of a deployment
sees the same simulated time, and it only moves when advanced.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from inmail.domain.cycles import require_utc
from inmail.domain.errors import ClockMovedBackwards
from inmail.store.clock import read_test_clock, write_test_clock
from inmail.store.db import Database


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TestClock:
    """A persisted clock: starts at ``start``, moves only by :meth:`advance` or :meth:`set`."""

    __test__ = False  # not a pytest test class

    def __init__(self, db: Database, start: datetime) -> None:
        self._db = db
        self._start = require_utc(start, "test_clock")

    def now(self) -> datetime:
        with self._db.read() as conn:
            stored = read_test_clock(conn)
        return stored or self._start

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ClockMovedBackwards("the test clock only moves forwards")
        with self._db.write() as conn:
            moved = (read_test_clock(conn) or self._start) + by
            write_test_clock(conn, moved)
        return moved

    def set(self, moment: datetime) -> datetime:
        moment = require_utc(moment)
        with self._db.write() as conn:
            current = read_test_clock(conn) or self._start
            if moment < current:
                raise ClockMovedBackwards(
                    f"the test clock is at {current.isoformat()} and cannot move back to "
                    f"{moment.isoformat()}"
                )
            write_test_clock(conn, moment)
        return moment
