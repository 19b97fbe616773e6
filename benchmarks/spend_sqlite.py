"""spend_sqlite: ``spend_credits`` on a SQLite file against the same writes in raw ``sqlite3``.

Both sides write one credit spend per transaction to their own file in the
same directory, with WAL and ``synchronous=FULL`` (SPEC §3, durability), in
one process. The rounds alternate ours and the baseline so that noise on a
shared machine falls on both. Every side's spends carry references shaped as an
InMail's (``fixtures.spend_reference``), which sort in the order they are made, as
the product's do (a counter's ``ours-10`` sorts between ``ours-1`` and ``ours-2``).

A third side, not part of the ratio, tells where the gap is: ``own_statements``
replays inmail's own statements for a spend (the fast path's, store/fast_spend.py)
in raw ``sqlite3`` on a copy of our file. ``own_statements_ratio`` (it against the
baseline) is what SQLite costs for the rows and indexes a spend writes;
``ours_vs_own_statements`` is what the service's Python around them costs.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
from collections.abc import Callable, Collection
from contextlib import closing
from pathlib import Path

from benchmarks.fixtures import CREDITS, NOW, open_deps, prepare, spend_reference
from benchmarks.report import Comparison, Tally, log
from benchmarks.timing import run_for, wal_frames_per_op
from inmail.domain.credits import LotSource, new_id
from inmail.domain.events import LEDGER_ENTRY_CREATED
from inmail.services.context import Deps
from inmail.services.credits import spend_credits
from inmail.store import fast_spend
from inmail.store.db import make_engine

NAME = "spend_sqlite"
TARGET = 0.6  # issue 13 (0.5 before it)
ACCOUNTS = 4
MIN_ROUNDS = 3
# fsync latency on a shared disk swings by 10x within seconds: short, many rounds share it out.
ROUND_SECONDS = 0.5
WARMUP_SECONDS = 0.5

BASELINE_SCHEMA = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE lots (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
    remaining INTEGER NOT NULL
);
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
    lot_id INTEGER NOT NULL REFERENCES lots(id), amount INTEGER NOT NULL,
    balance_after INTEGER NOT NULL, at TEXT NOT NULL, reference TEXT NOT NULL
);
"""


class RawLedger:
    """The baseline: the same logical writes as a spend, as three hand-written statements."""

    def __init__(self, path: Path, accounts: int) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(BASELINE_SCHEMA)
        for i in range(1, accounts + 1):
            self.conn.execute("INSERT INTO accounts VALUES (?, ?)", (i, CREDITS))
            self.conn.execute("INSERT INTO lots VALUES (?, ?, ?)", (i, i, CREDITS))
        self.at = NOW.isoformat()

    def spend(self, account_id: int, reference: str) -> bool:
        """Take one credit from the account and its lot; False (nothing written) if it has none."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "UPDATE accounts SET balance = balance - 1 WHERE id = ? AND balance >= 1 "
            "RETURNING balance",
            (account_id,),
        ).fetchone()
        if row is None:
            conn.execute("ROLLBACK")
            return False
        conn.execute("UPDATE lots SET remaining = remaining - 1 WHERE id = ?", (account_id,))
        conn.execute(
            "INSERT INTO ledger (account_id, lot_id, amount, balance_after, at, reference) "
            "VALUES (?, ?, -1, ?, ?, ?)",
            (account_id, account_id, row[0], self.at, reference),
        )
        conn.execute("COMMIT")
        return True

    def close(self) -> None:
        self.conn.close()


# What a spend writes beyond the baseline's three rows, as OwnStatements can leave it out
# (benchmarks/spend_bounds.py measures what each costs).
PARTS = {
    "event": "the ledger line's outbox event (a row and its unique event id)",
    "spend_record": "the spend's row in `spends` (its reference, for refunds)",
    "ledger_at_index": "the ledger's index by time (`ix_ledger_entries_at`)",
    "lock_reads": "the lock's reads beside the balance (plan, due and seat checks)",
    "ledger_member_index": "the ledger's index by member (`ix_ledger_entries_member_id_id`)",
}
_INDEX_PARTS = {
    "ledger_at_index": "ix_ledger_entries_at",
    "ledger_member_index": "ix_ledger_entries_member_id_id",
}
# The lock with nothing read beside the balance but the lots (the replay picks one from them).
_BALANCE_ONLY_LOCK = (
    "UPDATE accounts SET balance = balance - :cost WHERE member_id = :member "
    "AND balance >= :cost RETURNING balance, (SELECT json_group_array(json_array(id, source)) "
    "FROM lots WHERE member_id = :member AND remaining > 0)"
)


class OwnStatements:
    """inmail's spend as its fast path runs it on SQLite, statement for statement, in raw
    ``sqlite3`` on a copy of our file: the same rows, indexes and pages, without the
    service's Python (the lot drawn is the plan's while it has credits, else the
    adjustment's, which is what the spending order picks for these accounts).

    The statements are store/fast_spend.py's own, read from it, so they stay the ones a
    spend runs; only their parameters are filled in here. Like the baseline, it keeps
    SQLite's own checkpoint (every 1,000 pages, in a commit); ours checkpoints on a thread
    (store/checkpoint.py). ``leave_out``: parts of :data:`PARTS` not written (indexes are
    dropped from the copy), to measure what each costs; ValueError for an unknown part."""

    def __init__(self, path: Path, leave_out: Collection[str] = ()) -> None:
        unknown = set(leave_out) - set(PARTS)
        if unknown:
            raise ValueError(f"no such part of a spend: {sorted(unknown)}")
        self.leave_out = frozenset(leave_out)
        engine = make_engine(f"sqlite:///{path}")
        try:
            shape = fast_spend.FastSpendRequest("", 1, "", "", NOW, None)
            self.lock = fast_spend.FastSpend(engine)._lock_sql_for(shape)
        finally:
            engine.dispose()
        self.sql = {k: v.replace("%s", "?") for k, v in fast_spend._SQL.items()}
        self.outbox = (fast_spend._OUTBOX_INSERT + fast_spend._OUTBOX_ROW).replace("%s", "?")
        self.at = fast_spend._sqlite_time(NOW)
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        for part, index in _INDEX_PARTS.items():
            if part in self.leave_out:
                self.conn.execute(f"DROP INDEX {index}")
        if "lock_reads" in self.leave_out:
            self.lock = _BALANCE_ONLY_LOCK

    def spend(self, member: str, reference: str) -> None:
        conn, at, sql, leave_out = self.conn, self.at, self.sql, self.leave_out
        conn.execute("BEGIN IMMEDIATE")
        params = {"member": member, "now": at, "cost": 1, "scope": "", "key": ""}
        row = conn.execute(self.lock, params).fetchone()
        if row is None:
            conn.execute("ROLLBACK")
            raise RuntimeError("the replay ran out of credits")
        # The lots come last in either lock, in no set order: the plan's goes first (SPEC §3).
        lots = json.loads(row[-1])
        lot, source = min(lots, key=lambda live: live[1] != LotSource.ALLOTMENT)[:2]
        conn.execute(sql["take_from_lot"], (1, lot, 1))
        if "spend_record" not in leave_out:
            conn.execute(sql["insert_spend"], (new_id("sp"), member, reference, 1, at))
        line = (member, lot, "spend", -1, row[0], at, reference)
        entry = conn.execute(sql["insert_entry"], line).fetchone()[0]
        if "event" not in leave_out:
            conn.execute(self.outbox, self._event(member, lot, source, row[0], entry, reference))
        conn.execute("COMMIT")

    def _event(
        self, member: str, lot: int, source: str, after: int, entry: int, reference: str
    ) -> tuple[str, ...]:
        told = {
            "amount": -1,
            "balance_after": after,
            "entry_id": entry,
            "kind": "spend",
            "lot_id": lot,
            "lot_source": source,
            "reference": reference,
        }
        payload = json.dumps(told, sort_keys=True, separators=(",", ":"))
        return (new_id("evt"), LEDGER_ENTRY_CREATED, member, self.at, payload)

    def close(self) -> None:
        self.conn.close()


def ours_spender(deps: Deps, members: list[str]) -> Callable[[], object]:
    seq = itertools.count()

    def spend() -> object:
        member = members[next(seq) % len(members)]
        return spend_credits(deps, member_id=member, cost=1, reference=spend_reference(), now=NOW)

    return spend


def baseline_spender(raw: RawLedger, accounts: int) -> Callable[[], object]:
    seq = itertools.count()

    def spend() -> object:
        i = next(seq)
        if not raw.spend(i % accounts + 1, spend_reference()):
            raise RuntimeError("the baseline ran out of credits")
        return None

    return spend


def own_statements_spender(replay: OwnStatements, members: list[str]) -> Callable[[], object]:
    seq = itertools.count()

    def spend() -> object:
        replay.spend(members[next(seq) % len(members)], spend_reference())
        return None

    return spend


def copy_file(source: Path, copy: Path) -> None:
    """A consistent copy of the SQLite file ``source`` (SQLite's backup API)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)


def run(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ours.db'}"
        log(f"{NAME}: preparing {url}")
        members = prepare(url, ACCOUNTS)
        copy_file(Path(tmp) / "ours.db", Path(tmp) / "own.db")
        deps = open_deps(url)
        raw = RawLedger(Path(tmp) / "baseline.db", ACCOUNTS)
        replay = OwnStatements(Path(tmp) / "own.db")
        try:
            ours = ours_spender(deps, members)
            base = baseline_spender(raw, ACCOUNTS)
            own = own_statements_spender(replay, members)
            line = _compare(ours, base, own, seconds)
            return line | {
                "ours_wal_frames_per_op": wal_frames_per_op(
                    Path(tmp) / "ours.db", ours, engine=deps.db.engine
                ),
                "baseline_wal_frames_per_op": wal_frames_per_op(Path(tmp) / "baseline.db", base),
                "own_statements_wal_frames_per_op": wal_frames_per_op(Path(tmp) / "own.db", own),
            }
        finally:
            replay.close()
            raw.close()
            deps.db.dispose()


def _compare(
    ours: Callable[[], object],
    base: Callable[[], object],
    own: Callable[[], object],
    seconds: float,
) -> dict[str, object]:
    # Warm up: compiled-statement caches, the plan cache, and each file's WAL at its working size.
    for side in (ours, base, own):
        run_for(WARMUP_SECONDS, side)
    rounds = max(MIN_ROUNDS, round(seconds / ROUND_SECONDS))
    result = Comparison(NAME, "sqlite", TARGET)
    replayed = Tally()
    for _ in range(rounds):
        result.add_round(run_for(seconds / rounds, ours), run_for(seconds / rounds, base))
        replayed.add(run_for(seconds / rounds, own))
    base_rate = result.baseline.per_s
    return result.line(
        seconds=seconds,
        workers=1,
        accounts=ACCOUNTS,
        own_statements_per_s=round(replayed.per_s, 1),
        own_statements_ratio=round(replayed.per_s / base_rate, 3) if base_rate else 0.0,
        ours_vs_own_statements=(
            round(result.ours.per_s / replayed.per_s, 3) if replayed.per_s else 0.0
        ),
    )
