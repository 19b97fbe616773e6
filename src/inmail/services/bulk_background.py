"""Which process sends a bulk send: the request's own, after answering it, or the first
to look at an unfinished one after a restart (docs/rules.md "Bulk sends").

Two runs of one bulk send at once are safe (services.bulk_runs): this only spares a
process from running one it is running already.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from inmail.services.bulk_runs import Clock, run_bulk_send
from inmail.services.context import Deps
from inmail.store import bulk_sends as bulk_store

logger = logging.getLogger("inmail.bulk")

_running: set[str] = set()
_guard = threading.Lock()


@contextmanager
def _claimed(bulk_id: str) -> Iterator[bool]:
    """Whether this process may run the bulk send now (it is not running it already)."""
    with _guard:
        mine = bulk_id not in _running
        _running.add(bulk_id)
    try:
        yield mine
    finally:
        if mine:
            with _guard:
                _running.discard(bulk_id)


def running_here(bulk_id: str) -> bool:
    """Whether this process is sending the bulk send right now."""
    with _guard:
        return bulk_id in _running


def run_here(deps: Deps, *, bulk_id: str, clock: Clock) -> None:
    """Run the bulk send in this process unless it already is (a background task's body).

    A failure (the database gone away) is logged: the bulk send stays unfinished and
    the next look at it resumes it.
    """
    with _claimed(bulk_id) as mine:
        if not mine:
            return
        try:
            run_bulk_send(deps, bulk_id=bulk_id, clock=clock)
        except Exception:
            logger.exception("bulk send %s stopped short; it resumes when next looked at", bulk_id)


def resume_unfinished(deps: Deps, *, clock: Clock, limit: int = 100) -> int:
    """Run every unfinished bulk send (after a restart: for a worker or a command);
    how many there were."""
    with deps.db.read() as conn:
        ids = bulk_store.unfinished(conn, limit)
    for bulk_id in ids:
        run_here(deps, bulk_id=bulk_id, clock=clock)
    return len(ids)
