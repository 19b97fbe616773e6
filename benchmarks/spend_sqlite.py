"""spend_sqlite: ``spend_credits`` on a SQLite file against the same writes in raw ``sqlite3``.

Both sides write one credit spend per transaction to their own file in the
same directory, with WAL and ``synchronous=FULL`` (SPEC §3, durability), in
one process. The rounds alternate ours and the baseline so that noise on a
shared machine falls on both.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.fixtures import CREDITS, NOW, open_deps, prepare
from benchmarks.report import Comparison, log
from benchmarks.timing import run_for, wal_frames_per_op
from inmail.services.context import Deps
from inmail.services.credits import spend_credits

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


def ours_spender(deps: Deps, members: list[str]) -> Callable[[], object]:
    seq = itertools.count()

    def spend() -> object:
        i = next(seq)
        member = members[i % len(members)]
        return spend_credits(deps, member_id=member, cost=1, reference=f"ours-{i}", now=NOW)

    return spend


def baseline_spender(raw: RawLedger, accounts: int) -> Callable[[], object]:
    seq = itertools.count()

    def spend() -> object:
        i = next(seq)
        if not raw.spend(i % accounts + 1, f"base-{i}"):
            raise RuntimeError("the baseline ran out of credits")
        return None

    return spend


def run(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ours.db'}"
        log(f"{NAME}: preparing {url}")
        members = prepare(url, ACCOUNTS)
        deps = open_deps(url)
        raw = RawLedger(Path(tmp) / "baseline.db", ACCOUNTS)
        try:
            ours = ours_spender(deps, members)
            base = baseline_spender(raw, ACCOUNTS)
            line = _compare(ours, base, seconds)
            return line | {
                "ours_wal_frames_per_op": wal_frames_per_op(
                    Path(tmp) / "ours.db", ours, engine=deps.db.engine
                ),
                "baseline_wal_frames_per_op": wal_frames_per_op(Path(tmp) / "baseline.db", base),
            }
        finally:
            raw.close()
            deps.db.dispose()


def _compare(
    ours: Callable[[], object], base: Callable[[], object], seconds: float
) -> dict[str, object]:
    # Warm up: compiled-statement caches, the plan cache, and each file's WAL at its working size.
    run_for(WARMUP_SECONDS, ours)
    run_for(WARMUP_SECONDS, base)
    rounds = max(MIN_ROUNDS, round(seconds / ROUND_SECONDS))
    result = Comparison(NAME, "sqlite", TARGET)
    for _ in range(rounds):
        result.add_round(run_for(seconds / rounds, ours), run_for(seconds / rounds, base))
    return result.line(seconds=seconds, workers=1, accounts=ACCOUNTS)
