"""Which b-trees a write changes on SQLite: each changed page is one frame in the write-ahead
log, written and synced at the commit, so each b-tree a write touches costs every such write
(issue 13: ``spend_sqlite`` and ``send_inmail_sqlite`` measure it as ``wal_frames_per_op``).

Read from the log itself: the page number of every frame a write appended, named through
SQLite's ``dbstat`` table. Page 1 (the file header, rewritten when the file grows) is left out.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import spend_credits
from inmail.services.inmail import send_inmail
from inmail.store import checkpoint
from inmail.store.db import Database, make_engine
from tests.conftest import T0
from tests.helpers import days, new_member

NOW = T0 + days(1)
_WAL_HEADER, _FRAME_HEADER = 32, 24

# A plain spend: the balance, the lot, the spend record (keyed by its reference), the ledger
# line (listed per member, summed per month) and its event (found by id; listed per member by
# a bounded scan, with no index of its own since migration 0028).
SPEND_BTREES = {
    "accounts",
    "lots",
    "spends",  # keyed by its reference (migration 0029): no index beside it
    "ledger_entries",
    "ix_ledger_entries_member_id_id",
    "ix_ledger_entries_at",
    "outbox_events",
    "sqlite_autoindex_outbox_events_1",  # UNIQUE (id)
}


@pytest.fixture
def sqlite_deps(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Deps, Path]]:
    path = tmp_path / "inmail.db"
    shutil.copy(sqlite_template, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    yield Deps(db, PlanVersionCache()), path
    db.dispose()


def btrees_written(deps: Deps, path: Path, write: Callable[[], object]) -> set[str]:
    """The b-trees whose pages ``write`` appended to the log (the log emptied first)."""
    background = checkpoint.of(deps.db.engine)
    assert background is not None
    with background.paused():
        with closing(sqlite3.connect(path)) as conn:
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        write()
        log = Path(f"{path}-wal").read_bytes()
    pages = {
        struct.unpack_from(">I", log, offset)[0]
        for offset in range(_WAL_HEADER, len(log), _FRAME_HEADER + page_size)
    }
    with closing(sqlite3.connect(path)) as conn:
        owner = dict(conn.execute("SELECT pageno, name FROM dbstat").fetchall())
    return {owner[p] for p in pages if p != 1}


def test_a_plain_spend_writes_one_page_of_each_btree_it_needs(
    sqlite_deps: tuple[Deps, Path],
) -> None:
    deps, path = sqlite_deps
    member = new_member(deps, "premium_business", T0)

    def spend(reference: str) -> object:
        return spend_credits(deps, member_id=member, cost=1, reference=reference, now=NOW)

    spend("warm")  # the member's first spend may catch the account up first
    assert btrees_written(deps, path, lambda: spend("counted")) == SPEND_BTREES


def test_a_send_writes_no_autoincrement_counter_second_spend_btree_or_member_index(
    sqlite_deps: tuple[Deps, Path],
) -> None:
    deps, path = sqlite_deps
    sender = new_member(deps, "premium_business", T0)
    first, second = new_member(deps, "basic", T0), new_member(deps, "basic", T0)

    def send(to: str) -> object:
        return send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="Hello", now=NOW)

    send(first)
    written = btrees_written(deps, path, lambda: send(second))
    assert written >= SPEND_BTREES
    assert "sqlite_sequence" not in written
    # spends is its key's b-tree, keyed by the reference: no rowid, no unique index beside it
    assert not {name for name in written if name.startswith("sqlite_autoindex_spends")}
    assert "ix_outbox_events_member_id" not in written  # three events, no index by member
