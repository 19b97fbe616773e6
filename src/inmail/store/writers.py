"""SQLite's writers in one process wait for their turn here, in arrival order (store/db.py
says why: SQLite's busy handler sleeps and polls, which makes the tail latency of contended
writes many times the work)."""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

DEFAULT_TIMEOUT_MS = 30_000


class WriterQueue:
    """One writer at a time, in arrival order, among this process's threads.

    ``turn()`` returns at once when nobody writes; otherwise the caller joins
    the queue and the writer before it hands the turn over on leaving. A caller
    that waits ``timeout_s`` is refused with OperationalError (the API answers
    503 ``busy``: retry with the same idempotency key), as SQLite's own busy
    timeout would. Not reentrant: a thread that asks again while writing would
    wait for itself, so that is refused at once (a bug in the caller).
    """

    def __init__(self, timeout_s: float, after_turn: Callable[[], None] | None = None) -> None:
        self._timeout_s = timeout_s
        self._after_turn = after_turn  # told after each turn: a write has ended
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._writer: int | None = None  # the thread id holding the turn

    @property
    def waiting(self) -> int:
        """How many writers wait for their turn now."""
        with self._mutex:
            return len(self._waiting)

    @contextmanager
    def turn(self) -> Iterator[None]:
        self._enter()
        try:
            yield
        finally:
            self._leave()
            if self._after_turn is not None:
                self._after_turn()

    def _enter(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._writer == me:
                raise RuntimeError("a write transaction inside another on the same thread")
            if self._writer is None:
                self._writer = me
                return
            mine = threading.Event()
            self._waiting.append(mine)
        mine.wait(self._timeout_s)
        with self._mutex:
            if mine.is_set():  # handed over by _leave (perhaps just as the wait ran out)
                self._writer = me
                return
            self._waiting.remove(mine)
        raise OperationalError(
            "(waiting for this process's turn to write)",
            None,
            TimeoutError(f"no turn to write within {self._timeout_s:g} s"),
        )

    def _leave(self) -> None:
        with self._mutex:
            if self._waiting:
                self._writer = -1  # taken, until the next in line notes its own id
                self._waiting.popleft().set()
            else:
                self._writer = None


_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()
_QUEUES_MUTEX = threading.Lock()


def writer_queue(
    engine: Engine,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    after_turn: Callable[[], None] | None = None,
) -> WriterQueue | None:
    """The queue of ``engine``'s writers on SQLite: one per engine, so every Database and
    fast path on it shares it (the first call, by make_engine, sets how long a writer waits
    for its turn, in ms, and what is told after each turn); None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    with _QUEUES_MUTEX:
        queue = _QUEUES.get(engine)
        if queue is None:
            queue = _QUEUES[engine] = WriterQueue(timeout_ms / 1000, after_turn)
        return queue
