"""Per process: until when a sender surely has no scheduled follow-up due.

A member's request runs their due follow-ups first (services.sequences.run_due_for).
Asking the database "anything due for me?" on every request would cost a read each
time; this memo spares it, and stays correct across processes without being told
of new schedules:

- after a read at ``now`` that found the earliest pending due time ``E`` (or none),
  nothing of this sender can be due before ``min(E, now + MIN_WAIT)``: a schedule
  made later, by any process, is due at least :data:`MIN_WAIT` after it was made
  (domain.sequences.MIN_AFTER_DAYS);
- a schedule that was sent or cancelled elsewhere only makes the next check read
  again (it finds nothing to run);
- the answer is also trusted for :data:`REFRESH_S` seconds of real time at most, a
  bound against a system clock set back.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from inmail.domain.sequences import MIN_AFTER_DAYS
from inmail.domain.timeline import LATEST, later

MIN_WAIT = timedelta(days=MIN_AFTER_DAYS)
REFRESH_S = 60.0
MAX_SENDERS = 50_000  # a bound on memory; when full the memo starts again


class DueCheck:
    def __init__(self) -> None:
        self._until: dict[str, tuple[datetime, float]] = {}
        self._lock = threading.Lock()

    def nothing_due(self, sender_id: str, now: datetime) -> bool:
        """True when a read since showed nothing of the sender's can be due by ``now``."""
        seen = self._until.get(sender_id)
        return seen is not None and now < seen[0] and time.monotonic() < seen[1]

    def remember(self, sender_id: str, now: datetime, earliest_due: datetime | None) -> None:
        """What a read at ``now`` found: the earliest pending due time, or None."""
        bound = later(now, MIN_WAIT) or LATEST
        until = bound if earliest_due is None else min(earliest_due, bound)
        with self._lock:
            if len(self._until) >= MAX_SENDERS:
                self._until.clear()
            self._until[sender_id] = (until, time.monotonic() + REFRESH_S)
