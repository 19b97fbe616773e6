"""SQLite's writers in one process take turns in arrival order (store/writers.py), so no
request ever sleeps in SQLite's busy handler: the cause of a send's p99 over a second at 32
connections (issue 13). Tested on real SQLite files, with real threads."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import spend_credits, update_overage_settings
from inmail.store.db import Database, make_engine
from inmail.store.writers import WriterQueue, writer_queue
from tests.conftest import T0
from tests.helpers import balance, days, ledger, new_member
from tests.integration.test_concurrency import together

THREADS = 16
SPENDS_PER_THREAD = 4


def _copy(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "inmail.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def test_contending_writers_never_wait_in_sqlites_busy_handler(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """With SQLite's busy timeout at 0, any writer that met another inside SQLite would fail
    at once with 'database is locked'. 16 threads, each with 4 spends (the fast path) and
    one general write transaction, all succeed: every one waited in the queue instead."""
    url = _copy(sqlite_template, tmp_path)
    db = Database(make_engine(url, busy_timeout_ms=0, turn_timeout_ms=60_000))
    deps = Deps(db, PlanVersionCache())
    member = new_member(deps, "recruiter_corporate", T0)  # 75 credits
    update_overage_settings(deps, member_id=member, auto_overage=False, limit_minor=None, now=T0)

    def spends(i: int) -> int:
        for n in range(SPENDS_PER_THREAD):
            spend_credits(deps, member_id=member, cost=1, reference=f"r-{i}-{n}", now=T0)
        with deps.db.write() as conn:  # a general write transaction too
            conn.execute(text("SELECT 1"))
        return i

    results = together(THREADS, spends)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert balance(deps, member, T0 + days(1)) == 75 - THREADS * SPENDS_PER_THREAD
    assert len([e for e in ledger(deps, member, T0) if e.kind == "spend"]) == 64
    db.dispose()


def test_without_the_queue_the_same_writers_do_meet_inside_sqlite(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The control: plain connections at busy timeout 0 fail with 'database is locked' when
    their write transactions overlap, which is what the queue spares the app."""
    engine = create_engine(_copy(sqlite_template, tmp_path), connect_args={"timeout": 0})
    inside = threading.Barrier(2, timeout=10)
    errors: list[str] = []

    def writer(_: int) -> None:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            try:
                inside.wait()
                cur.execute("BEGIN IMMEDIATE")
                cur.execute("UPDATE test_clock SET now = now")
                threading.Event().wait(0.2)
                cur.execute("COMMIT")
            except Exception as exc:  # the one that lost: locked
                errors.append(str(exc))
        finally:
            raw.close()

    together(2, writer)
    engine.dispose()
    assert errors == ["database is locked"]


def test_writers_get_their_turns_in_the_order_they_asked() -> None:
    queue = WriterQueue(timeout_s=10)
    order: list[int] = []
    first_in = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with queue.turn():
            first_in.set()
            release.wait(10)

    def waiter(n: int) -> None:
        with queue.turn():
            order.append(n)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert first_in.wait(10)
    for n in range(5):  # each joins the line only once the one before it is in it
        threads.append(threading.Thread(target=waiter, args=(n,)))
        threads[-1].start()
        while queue.waiting < n + 1:
            threading.Event().wait(0.001)
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3, 4]
    assert queue.waiting == 0


def test_a_writer_that_waits_too_long_is_refused_and_leaves_the_line() -> None:
    queue = WriterQueue(timeout_s=0.05)
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with queue.turn():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    with pytest.raises(OperationalError, match="turn to write"), queue.turn():
        pass
    assert queue.waiting == 0
    release.set()
    thread.join(10)
    with queue.turn():  # free again: taken at once
        assert queue.waiting == 0


def test_a_write_inside_another_on_the_same_thread_is_refused_at_once() -> None:
    queue = WriterQueue(timeout_s=10)
    with queue.turn(), pytest.raises(RuntimeError, match="inside another"), queue.turn():
        pass
    with queue.turn():  # the outer turn was given back
        pass


def test_postgresql_writers_do_not_queue() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert writer_queue(engine) is None


def test_a_write_that_meets_another_process_holding_the_lock_is_a_busy_error(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """BEGIN IMMEDIATE runs on the driver connection (store/db.py); a lock held by another
    process (the worker, the CLI) past the busy timeout still surfaces as SQLAlchemy's
    OperationalError, which the API answers 503 `busy` (retry with the same key), and the
    next write after the lock is released goes through."""
    url = _copy(sqlite_template, tmp_path)
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    db = Database(make_engine(url, busy_timeout_ms=0))
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"), db.write() as conn:
            conn.execute(text("UPDATE test_clock SET now = now"))
        other.execute("ROLLBACK")
        with db.write() as conn:
            assert conn.execute(text("UPDATE test_clock SET now = now")).rowcount >= 0
    finally:
        other.close()
        db.dispose()
