"""send_inmail_sqlite: ``send_inmail`` on a SQLite file against the same writes in raw ``sqlite3``.

Ours sends InMail through the service layer: one write transaction whose first
statement locks and charges the sender and reads what the send rules decide on
(the recipient's account and settings, blocks, connection, an InMail awaiting
them), then writes the spend, the thread, the message and the recipient's
notification (docs/rules.md, "A send in one transaction"). The baseline writes
what that transaction writes, as seven hand-written statements in one
``BEGIN IMMEDIATE`` transaction, and reads nothing first. Both sides use WAL and
``synchronous=FULL`` (SPEC §3) on their own file in the same directory, in one
process; the rounds alternate.

No pair of sender and recipient comes twice: a second InMail to someone who
has not answered the first is refused (SPEC §4). Send ``i`` goes from sender
``i mod 4`` to recipient ``i div 4`` of a pool written in bulk beforehand,
large enough for :data:`MAX_SENDS_PER_S`; the baseline names its recipients
the same way (it has no members table to point at).
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from uuid_utils import uuid7

from benchmarks.fixtures import CREDITS, NOW, many_plain_members, open_deps, prepare
from benchmarks.report import Comparison, log
from benchmarks.timing import alternate, wal_frames_per_op
from inmail.services.context import Deps
from inmail.services.inmail import send_inmail

NAME = "send_inmail_sqlite"
TARGET = 0.5
SENDERS = 4
# More sends a second than either side makes here (ours about 300, the baseline 1,500): the
# recipient pool is sized by it, and running out fails the benchmark rather than repeating.
MAX_SENDS_PER_S = 4_000
MIN_ROUNDS = 3
ROUND_SECONDS = 0.5
WARMUP_SECONDS = 0.5
SUBJECT = "A role you might like"
BODY = "Hello! We are hiring for a role that matches your profile. Are you open to a chat?"

# The keys and indexes are the ones the inmail schema maintains for these rows, so that
# both sides update as many b-trees (spends without a rowid, as since migration 0027);
# columns nobody writes here are left out.
BASELINE_SCHEMA = """
CREATE TABLE accounts (
    member_id TEXT PRIMARY KEY, balance INTEGER NOT NULL, next_due_at TEXT
);
CREATE TABLE lots (
    id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, remaining INTEGER NOT NULL
);
CREATE INDEX ix_lots_member_id ON lots (member_id);
CREATE TABLE spends (
    id TEXT PRIMARY KEY, member_id TEXT NOT NULL, reference TEXT NOT NULL UNIQUE,
    cost INTEGER NOT NULL, at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, lot_id INTEGER NOT NULL,
    kind TEXT NOT NULL, amount INTEGER NOT NULL, balance_after INTEGER NOT NULL,
    at TEXT NOT NULL, reference TEXT NOT NULL
);
CREATE INDEX ix_ledger_entries_member_id_id ON ledger_entries (member_id, id);
CREATE TABLE threads (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, initiator_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
    last_message_at TEXT NOT NULL, last_inmail_at TEXT,
    duplicate_rank INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_threads_initiator ON threads (initiator_id, last_message_at);
CREATE INDEX ix_threads_recipient ON threads (recipient_id, last_message_at);
CREATE UNIQUE INDEX uq_threads_awaiting_inmail
    ON threads (initiator_id, recipient_id, duplicate_rank)
    WHERE kind = 'inmail' AND status = 'awaiting_response';
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL,
    sender_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT, body TEXT NOT NULL,
    cost_credits INTEGER NOT NULL, spend_reference TEXT, created_at TEXT NOT NULL
);
CREATE INDEX ix_messages_thread ON messages (thread_id, created_at);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
    text TEXT NOT NULL, reference TEXT NOT NULL, once_key TEXT UNIQUE
);
CREATE INDEX ix_notifications_member ON notifications (member_id, id);
"""

TAKE = (
    "UPDATE accounts SET balance = balance - 1 WHERE member_id = ? AND balance >= 1 "
    "AND (next_due_at IS NULL OR next_due_at > ?) RETURNING balance"
)
TAKE_FROM_LOT = "UPDATE lots SET remaining = remaining - 1 WHERE id = ? AND remaining >= 1"
INSERT_SPEND = "INSERT INTO spends (id, member_id, reference, cost, at) VALUES (?, ?, ?, 1, ?)"
INSERT_ENTRY = (
    "INSERT INTO ledger_entries (member_id, lot_id, kind, amount, balance_after, at, reference) "
    "VALUES (?, ?, 'spend', -1, ?, ?, ?)"
)
INSERT_THREAD = (
    "INSERT INTO threads (id, kind, initiator_id, recipient_id, status, created_at, "
    "last_message_at, last_inmail_at) VALUES (?, 'inmail', ?, ?, 'awaiting_response', ?, ?, ?)"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (id, thread_id, sender_id, kind, subject, body, cost_credits, "
    "spend_reference, created_at) VALUES (?, ?, ?, 'inmail', ?, ?, 1, ?, ?)"
)
INSERT_NOTIFICATION = (
    "INSERT INTO notifications (member_id, at, kind, text, reference) "
    "VALUES (?, ?, 'new_inmail', ?, ?)"
)


class RawSends:
    """The baseline: what one send writes, as seven statements in one transaction."""

    def __init__(self, path: Path, senders: int) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(BASELINE_SCHEMA)
        for i in range(1, senders + 1):
            self.conn.execute("INSERT INTO accounts VALUES (?, ?, NULL)", (f"s{i}", CREDITS))
            self.conn.execute("INSERT INTO lots VALUES (?, ?, ?)", (i, f"s{i}", CREDITS))
        self.at = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")

    def send(self, sender: int, recipient: str) -> bool:
        """Spend one credit and write the InMail; False (nothing written) without credits."""
        conn, at, member = self.conn, self.at, f"s{sender}"
        message_id, thread_id = f"msg_{uuid7().hex}", f"th_{uuid7().hex}"
        reference = f"inmail:{message_id}"
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(TAKE, (member, at)).fetchone()
        if row is None:
            conn.execute("ROLLBACK")
            return False
        conn.execute(TAKE_FROM_LOT, (sender,))
        conn.execute(INSERT_SPEND, (f"sp_{uuid7().hex}", member, reference, at))
        conn.execute(INSERT_ENTRY, (member, sender, row[0], at, reference))
        conn.execute(INSERT_THREAD, (thread_id, member, recipient, at, at, at))
        conn.execute(INSERT_MESSAGE, (message_id, thread_id, member, SUBJECT, BODY, reference, at))
        conn.execute(
            INSERT_NOTIFICATION, (recipient, at, f"New InMail: {SUBJECT}", f"thread:{thread_id}")
        )
        conn.execute("COMMIT")
        return True

    def trace(self, sink: Callable[[str], object] | None) -> None:
        self.conn.set_trace_callback(sink)

    def close(self) -> None:
        self.conn.close()


def pairs(senders: list[str], recipients: list[str]) -> Iterator[tuple[str, str]]:
    """(sender, recipient) of each send in turn, never the same pair twice."""
    for i in itertools.count():
        if i // len(senders) >= len(recipients):
            raise RuntimeError(
                f"all {len(recipients)} recipients written to: raise MAX_SENDS_PER_S"
            )
        yield senders[i % len(senders)], recipients[i // len(senders)]


def ours_sender(deps: Deps, turns: Iterator[tuple[str, str]]) -> Callable[[], object]:
    def send() -> object:
        sender, recipient = next(turns)
        return send_inmail(
            deps, sender_id=sender, to=recipient, subject=SUBJECT, body=BODY, now=NOW
        )

    return send


def baseline_sender(raw: RawSends, senders: int) -> Callable[[], object]:
    seq = itertools.count()

    def send() -> object:
        i = next(seq)
        if not raw.send(i % senders + 1, f"to{i // senders}"):
            raise RuntimeError("the baseline ran out of credits")
        return None

    return send


def recipients_needed(seconds: float) -> int:
    """Enough for every send of a run at up to MAX_SENDS_PER_S (warm-up and tracing included)."""
    return math.ceil(MAX_SENDS_PER_S * (seconds + WARMUP_SECONDS + 1) / SENDERS)


def run(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="inmail-bench-") as tmp:
        path = Path(tmp) / "ours.db"
        url = f"sqlite:///{path}"
        log(f"{NAME}: preparing {url}")
        senders = prepare(url, SENDERS)
        recipients = many_plain_members(path, recipients_needed(seconds))
        turns = pairs(senders, recipients)
        deps = open_deps(url)
        raw = RawSends(Path(tmp) / "baseline.db", SENDERS)
        try:
            ours = ours_sender(deps, turns)
            base = baseline_sender(raw, SENDERS)
            line = _compare(ours, base, seconds, len(recipients))
            line |= {
                "ours_wal_frames_per_op": wal_frames_per_op(path, ours, engine=deps.db.engine),
                "baseline_wal_frames_per_op": wal_frames_per_op(Path(tmp) / "baseline.db", base),
            }
            base_statements = statements(base, raw.trace)
        finally:
            raw.close()
            deps.db.dispose()
        ours_statements = statements_through_service(url, turns)
    return line | _per_op("ours", ours_statements) | _per_op("baseline", base_statements)


Sink = Callable[[str], object]


class Tracer:
    """A trace callback for every connection of an engine, switched on only while it counts."""

    def __init__(self) -> None:
        self.sink: Sink | None = None

    def __call__(self, sql: str) -> None:
        if self.sink is not None:
            self.sink(sql)

    def trace(self, sink: Sink | None) -> None:
        self.sink = sink


def statements(op: Callable[[], object], trace: Callable[[Sink | None], None]) -> list[str]:
    """Every SQL statement SQLite runs for one call of ``op`` (after a first, warm call)."""
    op()
    seen: list[str] = []
    trace(seen.append)
    try:
        op()
    finally:
        trace(None)
    return seen


def statements_through_service(url: str, turns: Iterator[tuple[str, str]]) -> list[str]:
    """What one ``send_inmail`` runs, fast path included, on fresh (traced) connections."""
    deps = open_deps(url)
    tracer = Tracer()

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_trace_callback(tracer)

    event.listen(deps.db.engine, "connect", on_connect)
    try:
        return statements(ours_sender(deps, turns), tracer.trace)
    finally:
        deps.db.dispose()


def _per_op(side: str, seen: list[str]) -> dict[str, int]:
    begins = sum(1 for sql in seen if sql.lstrip().upper().startswith("BEGIN"))
    return {f"{side}_statements_per_op": len(seen), f"{side}_transactions_per_op": begins}


def _compare(
    ours: Callable[[], object], base: Callable[[], object], seconds: float, recipients: int
) -> dict[str, object]:
    result = Comparison(NAME, "sqlite", TARGET)
    rounds = alternate(
        ours,
        base,
        seconds,
        round_seconds=ROUND_SECONDS,
        min_rounds=MIN_ROUNDS,
        warmup_seconds=WARMUP_SECONDS,
    )
    for ours_sample, base_sample in rounds:
        result.add_round(ours_sample, base_sample)
    return result.line(seconds=seconds, workers=1, senders=SENDERS, recipients=recipients)
