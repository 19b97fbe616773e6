"""SQLite's write-ahead log is checkpointed on a background thread after commits, not by the
writer whose commit takes the log past 1,000 pages (store/checkpoint.py). On real files."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import spend_credits
from inmail.store import checkpoint
from inmail.store.checkpoint import Checkpointer
from inmail.store.db import Database, make_engine
from tests.conftest import T0
from tests.helpers import balance, new_member


@pytest.fixture
def deps(sqlite_template: Path, tmp_path: Path) -> Iterator[Deps]:
    path = tmp_path / "inmail.db"
    shutil.copy(sqlite_template, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    yield Deps(db, PlanVersionCache())
    db.dispose()


def _background(deps: Deps) -> Checkpointer:
    found = checkpoint.of(deps.db.engine)
    assert found is not None
    return found


def _log_pages(deps: Deps) -> tuple[int, int]:
    """(pages in the log since it last started over, pages of it in the database file), as
    SQLite reports them after one more PASSIVE checkpoint (which copies what it can)."""
    path = deps.db.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as conn:
        _busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(log), int(done)


def _threads(path: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"inmail-checkpoint:{path}"]


def _until(check: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not callable(check) or not check():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.02)


def test_commits_are_checkpointed_in_the_background_soon_after(deps: Deps) -> None:
    member = new_member(deps, "recruiter_corporate", T0)
    for n in range(20):
        spend_credits(deps, member_id=member, cost=1, reference=f"r-{n}", now=T0)
    background = _background(deps)
    _until(lambda: background.last is not None and background.last.checkpointed_pages > 0)
    _until(lambda: (p := _log_pages(deps))[0] == p[1])  # every page in the log is copied
    assert balance(deps, member, T0) == 75 - 20


def test_a_writer_no_longer_checkpoints_at_sqlites_default_of_1000_pages(deps: Deps) -> None:
    """With the background paused, 180 spends (about 1,900 pages) stay in one log: no
    writer's commit checkpointed and started it over, as one would at 1,000 pages. The
    backstop is 10,000."""
    with deps.db.engine.connect() as conn:
        backstop = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        conn.rollback()
    assert backstop == checkpoint.BACKSTOP_PAGES == 10_000
    members = [new_member(deps, "recruiter_corporate", T0) for _ in range(3)]
    with _background(deps).paused():
        for n in range(60):
            for member in members:
                spend_credits(deps, member_id=member, cost=1, reference=f"r-{member}-{n}", now=T0)
        log, _copied = _log_pages(deps)
    assert log > 1_500  # well past 1,000, where SQLite's default would have started over
    assert [balance(deps, m, T0) for m in members] == [15, 15, 15]


def test_no_checkpoint_runs_while_paused(deps: Deps) -> None:
    background = _background(deps)
    with background.paused():
        passes = background.passes
        with deps.db.write() as conn:
            conn.execute(text("UPDATE plans SET name = name"))
        time.sleep(checkpoint.GATHER_S * 4)
        assert background.passes == passes
    with deps.db.write() as conn:
        conn.execute(text("UPDATE plans SET name = name"))
    _until(lambda: background.passes > passes)


def test_the_thread_ends_when_idle_and_a_commit_starts_another(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "IDLE_EXIT_S", 0.2)
    path = str(deps.db.engine.url.database)
    _background(deps).stop()  # the fixture's thread waits with the old idle time
    with deps.db.write() as conn:
        conn.execute(text("UPDATE plans SET name = name"))
    assert len(_threads(path)) == 1
    _until(lambda: not _threads(path))
    with deps.db.write() as conn:
        conn.execute(text("UPDATE plans SET name = name"))
    assert len(_threads(path)) == 1


def test_disposing_the_database_ends_its_thread(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "inmail.db"
    shutil.copy(sqlite_template, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    with db.write() as conn:
        conn.execute(text("UPDATE plans SET name = name"))
    assert len(_threads(str(path))) == 1
    db.dispose()
    assert _threads(str(path)) == []


def test_a_database_in_memory_or_on_postgresql_has_none() -> None:
    assert checkpoint.attach(make_engine("sqlite://")) is None
    assert checkpoint.attach(make_engine("postgresql+psycopg://nobody@127.0.0.1/none")) is None


def test_a_database_file_removed_meanwhile_is_not_made_again(deps: Deps) -> None:
    path = Path(str(deps.db.engine.url.database))
    background = _background(deps)
    deps.db.dispose()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    assert background.checkpoint() is None
    assert not path.exists()


class _StopLandsAtClear(threading.Event):
    """An event whose clear() lets ``stop`` run first (then clears): the moment a stop's
    wake-up would be lost if the thread did not look at the stop flag after clearing."""

    def __init__(self, stop: Callable[[], None]) -> None:
        super().__init__()
        self.stop = stop

    def clear(self) -> None:
        stop, self.stop = self.stop, lambda: None
        stop()
        super().clear()


def test_a_stop_that_lands_as_the_thread_clears_its_wake_up_ends_it_at_once(
    tmp_path: Path,
) -> None:
    """The thread once went back to waiting 30 s for a commit after a stop came just as it
    cleared the commit flag: disposing a database then took up to 30 s."""
    path = tmp_path / "x.db"
    sqlite3.connect(path).close()
    background = Checkpointer(str(path), gather_s=0.01)

    def stop_flags() -> None:  # what stop() does before it joins
        background._stop.set()
        background._wrote.set()

    background._wrote = _StopLandsAtClear(stop_flags)
    background.wrote()
    thread = background._thread
    assert thread is not None
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert background.passes == 0  # it ended instead of checkpointing after the stop
