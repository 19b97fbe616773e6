"""SQLite's WAL is checkpointed on a background thread, not inside a writer's commit.

By default SQLite checkpoints in the commit that takes the write-ahead log past 1,000
pages: that writer copies every page in the log to the database file and syncs it while it
still holds the write lock, so every ~40th send took 3 to 60 ms instead of 1 and every writer
queued behind it waited as long (the tail of ``http_send_inmail_c32``). Here each write
that commits wakes one :class:`Checkpointer` per database file, which waits a moment (so
one checkpoint covers many commits, and a page written by all of them is copied once),
then runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of its own. A PASSIVE
checkpoint takes no lock a writer needs: writers go on appending while it copies.

SQLite's own checkpoint stays as a backstop at :data:`BACKSTOP_PAGES` (``PRAGMA
wal_autocheckpoint`` on every connection, store/db.py): if this thread falls behind or
a process runs without it. It also lets the log start over under steady load: SQLite
rewinds the log only when a writer begins with every page already copied, which the
writer's own checkpoint guarantees, while a PASSIVE one runs as writers append. By then
this thread has copied nearly all of it, so that checkpoint is short.

Durability does not change: a commit is durable once its log pages are synced
(``synchronous=FULL``), which still happens in the commit itself.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

BACKSTOP_PAGES = 10_000
"""SQLite's own checkpoint threshold (pages in the log), 10 times its default of 1,000."""

GATHER_S = 0.05
"""How long the thread lets commits gather after the first before it checkpoints."""

IDLE_EXIT_S = 30.0
"""A thread with no commit to follow for this long ends; the next commit starts another."""


@dataclass(frozen=True, slots=True)
class Pass:
    """One checkpoint's outcome, as ``PRAGMA wal_checkpoint`` reports it: whether it was
    blocked (``busy``), the pages in the log and how many of them are in the database file."""

    busy: bool
    log_pages: int
    checkpointed_pages: int


class Checkpointer:
    """Checkpoints one SQLite database file's WAL on a thread of its own, after commits.

    :meth:`wrote` is what a writer calls after committing (cheap: it sets an event).
    """

    def __init__(self, path: str, gather_s: float = GATHER_S) -> None:
        self._path = path
        self._uri = Path(path).absolute().as_uri() + "?mode=rw"
        self._gather_s = gather_s
        self._mutex = threading.Lock()
        self._wrote = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._paused = 0
        self._passing = threading.Lock()  # held by a pass under way
        self.last: Pass | None = None  # the latest pass, for tests and benchmarks
        self.passes = 0

    def wrote(self) -> None:
        """Note a commit: a checkpoint follows within about ``gather_s``."""
        self._wrote.set()
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._mutex:
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name=f"inmail-checkpoint:{self._path}", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while self._wrote.wait(IDLE_EXIT_S) and not self._stop.is_set():
            if self._stop.wait(self._gather_s):
                return
            self._wrote.clear()
            # stop() sets _stop before it wakes us through _wrote: a stop whose wake-up was
            # just cleared is seen here, one that comes later wakes the next wait.
            if self._stop.is_set():
                return
            self._pass(unless_paused=True)
        with self._mutex:  # idle: end, unless a commit came in as the wait ran out
            self._thread = None
        if self._wrote.is_set() and not self._stop.is_set():
            self._start()

    def checkpoint(self) -> Pass | None:
        """Run one PASSIVE checkpoint now (None: the file could not be opened or was locked
        by a writer's own checkpoint)."""
        return self._pass(unless_paused=False)

    def _pass(self, *, unless_paused: bool) -> Pass | None:
        with self._passing:
            if unless_paused and self._paused:
                return None
            try:
                # Read-write, never create: a file removed meanwhile stays removed.
                conn = sqlite3.connect(self._uri, uri=True, timeout=0, check_same_thread=False)
            except sqlite3.Error:
                return None
            try:
                busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:  # locked by a writer's own checkpoint, or the file is gone
                return None
            finally:
                conn.close()
        self.last = Pass(bool(busy), int(log), int(done))
        self.passes += 1
        return self.last

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No background checkpoint while inside (a benchmark counting pages in the log):
        one under way is waited for."""
        with self._mutex:
            self._paused += 1
        with self._passing:
            pass
        try:
            yield
        finally:
            with self._mutex:
                self._paused -= 1

    def stop(self) -> None:
        """End the thread, waiting for a checkpoint under way (a later commit starts
        another: the engine may be used again after it is disposed)."""
        with self._mutex:
            thread, self._thread = self._thread, None
            self._stop.set()
        self._wrote.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._wrote.clear()
        self._stop.clear()


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


def attach(engine: Engine) -> Checkpointer | None:
    """A checkpointer for ``engine``'s database file (None: not a SQLite file), kept with
    the engine: :func:`of` finds it."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    found = _BY_ENGINE[engine] = Checkpointer(path)
    return found


def of(engine: Engine) -> Checkpointer | None:
    """The checkpointer :func:`attach` made for ``engine``, if any."""
    return _BY_ENGINE.get(engine)
