"""Backup and restore of the ledger while it is written (docs/deploy.md, "Backup and restore").

On SQLite the backup is the sqlite3 online backup API (what ``sqlite3 inmail.db
".backup copy.db"`` runs); on PostgreSQL it is ``pg_dump --format=custom`` then
``pg_restore`` into a new database. Each engine, each test:

1. a writer thread spends and grants credits for a few members (SPEC §3) and
   goes on while the backup is taken;
2. the restored copy passes the audit, and every ledger line in it is in the
   live database as it is (a consistent snapshot: no torn transaction);
3. once the writer has stopped, a second backup restores to exactly the live
   database: every row of every table.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from inmail.services.audit import run_audit
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import adjust_credits, spend_credits
from inmail.store.db import Database, make_engine
from inmail.store.tables import ledger_entries, metadata
from tests.conftest import IN_CI, PG_ADMIN_URL, T0
from tests.helpers import new_member

MEMBERS = 4
WRITES_BEFORE = 20  # writes committed before the backup starts
WRITES_DURING = 20  # and after it started: the backup ran beside a busy writer
TOOL_TIMEOUT_S = 60
WAIT_TIMEOUT_S = 60.0

Backup = Callable[[str], Iterator[str]]  # a live database's URL -> a restored copy's URL


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in primary-key order (outbox rows by their sequence)."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


class Writer(threading.Thread):
    """Spends one credit, and every fifth write grants five, round the members until stopped."""

    def __init__(self, deps: Deps, members: list[str]) -> None:
        super().__init__(daemon=True)
        self.deps, self.members = deps, members
        self.done = 0
        self.progress = threading.Condition()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                member = self.members[self.done % len(self.members)]
                if self.done % 5 == 4:
                    adjust_credits(
                        self.deps, member_id=member, amount=5, reason=f"grant {self.done}", now=T0
                    )
                else:
                    spend_credits(
                        self.deps, member_id=member, cost=1, reference=f"w:{self.done}", now=T0
                    )
                with self.progress:
                    self.done += 1
                    self.progress.notify_all()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def wait_for(self, writes: int) -> None:
        with self.progress:
            reached = self.progress.wait_for(
                lambda: self.done >= writes or self.error is not None, timeout=WAIT_TIMEOUT_S
            )
        assert self.error is None, self.error
        assert reached, f"only {self.done} writes in {WAIT_TIMEOUT_S:g} s"

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=WAIT_TIMEOUT_S)
        assert self.error is None, self.error


@contextmanager
def _sqlite_backup(url: str, tmp_path: Path) -> Iterator[str]:
    """The online backup API, in one step: a consistent snapshot beside the live writer."""
    source_path = make_url(url).database
    assert source_path is not None
    copy = tmp_path / f"backup-{uuid.uuid4().hex[:8]}.db"
    source, target = sqlite3.connect(source_path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    yield f"sqlite:///{copy}"


def _pg_tool(*command: str) -> None:
    done = subprocess.run(
        list(command), capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"{command[0]}: {done.stderr}"


@contextmanager
def _postgres_backup(url: str, tmp_path: Path) -> Iterator[str]:
    """``pg_dump -Fc`` of the live database, ``pg_restore`` into a new one (dropped after)."""
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            reason = f"no {tool} (Debian's postgresql-client)"
            if IN_CI:
                pytest.fail(f"CI=true needs the backup test to run: {reason}")
            pytest.skip(reason)
    dump = tmp_path / f"backup-{uuid.uuid4().hex[:8]}.dump"
    live = make_url(url).set(drivername="postgresql")
    _pg_tool("pg_dump", "--format=custom", f"--file={dump}", live.render_as_string(False))
    name = f"inmail_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            restored = live.set(database=name).render_as_string(False)
            _pg_tool(
                "pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)
            )
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def _restored(url: str, tmp_path: Path) -> Iterator[Deps]:
    backup = _sqlite_backup if url.startswith("sqlite") else _postgres_backup
    with backup(url, tmp_path) as copy_url:
        copy = Deps(Database(make_engine(copy_url)), PlanVersionCache())
        try:
            yield copy
        finally:
            copy.db.dispose()


def test_a_backup_taken_while_credits_move_restores_a_consistent_audited_copy(
    deps: Deps, db_url: str, tmp_path: Path
) -> None:
    members = [new_member(deps, "premium_business", T0) for _ in range(MEMBERS)]
    writer = Writer(deps, members)
    writer.start()
    try:
        writer.wait_for(WRITES_BEFORE)
        with _restored(db_url, tmp_path) as copy:
            writer.wait_for(writer.done + WRITES_DURING)
            writer.finish()
            assert run_audit(copy) == []
            copied = _rows(copy.db.engine)
            live = _rows(deps.db.engine)
    finally:
        writer.stop.set()
    lines = ledger_entries.name
    assert copied[lines], "the backup holds no ledger"
    assert set(copied[lines]) < set(live[lines]), "the copy's ledger is not the live one's, earlier"
    assert len(copied[lines]) >= WRITES_BEFORE


def test_a_backup_of_a_quiet_database_restores_every_row(
    deps: Deps, db_url: str, tmp_path: Path
) -> None:
    members = [new_member(deps, "premium_business", T0) for _ in range(MEMBERS)]
    writer = Writer(deps, members)
    writer.start()
    writer.wait_for(WRITES_BEFORE)
    writer.finish()
    with _restored(db_url, tmp_path) as copy:
        assert run_audit(copy) == []
        assert _rows(copy.db.engine) == _rows(deps.db.engine)
