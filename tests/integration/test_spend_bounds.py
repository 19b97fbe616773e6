"""The raw replay of a spend that ``spend_sqlite`` and ``spend_bounds`` measure
(benchmarks/spend_sqlite.OwnStatements): it must write what a spend through the service
writes, row for row, or its ratio says nothing about ours; and each part it is told to leave
out must really be gone, and nothing else."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from benchmarks.fixtures import NOW, open_deps, prepare, spend_reference
from benchmarks.spend_sqlite import PARTS, OwnStatements, copy_file

from inmail.services.credits import spend_credits

TABLES = ("spends", "ledger_entries", "outbox_events")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("bounds") / "ours.db"
    (member,) = prepare(f"sqlite:///{path}", 1)
    return path, member


@pytest.fixture
def copy(tmp_path: Path, prepared: tuple[Path, str]) -> Path:
    """A copy of the prepared file as it is now (earlier tests' spends included)."""
    path = tmp_path / "copy.db"
    copy_file(prepared[0], path)
    return path


def _counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        counts["balance"] = conn.execute("SELECT sum(balance) FROM accounts").fetchone()[0]
        return counts


def _indexes(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'ledger_entries'")
        return {name for (name,) in rows if name.startswith("ix_")}


def _last(path: Path, reference: str) -> tuple[tuple[Any, ...], tuple[Any, ...], dict[str, Any]]:
    """The spend record, the ledger line and the event's payload written for ``reference``."""
    with closing(sqlite3.connect(path)) as conn:
        spend = conn.execute(
            "SELECT member_id, cost, at, refunded_at, seat_member_id FROM spends "
            "WHERE reference = ?",
            (reference,),
        ).fetchone()
        line = conn.execute(
            "SELECT id, member_id, lot_id, kind, amount, balance_after, at FROM ledger_entries "
            "WHERE reference = ?",
            (reference,),
        ).fetchone()
        (payload,) = conn.execute(
            "SELECT payload FROM outbox_events WHERE json_extract(payload, '$.reference') = ?",
            (reference,),
        ).fetchone()
        told = json.loads(payload)
        assert told["entry_id"] == line[0]
        return spend, line[1:], {**told, "entry_id": None, "reference": None}


def test_the_whole_replay_writes_what_the_service_writes(
    prepared: tuple[Path, str], copy: Path
) -> None:
    path, member = prepared
    balance = _counts(path)["balance"]
    deps = open_deps(f"sqlite:///{path}")
    try:
        ours = spend_reference()
        spend_credits(deps, member_id=member, cost=1, reference=ours, now=NOW)
    finally:
        deps.db.dispose()
    replay = OwnStatements(copy)
    try:
        theirs = spend_reference()
        replay.spend(member, theirs)
    finally:
        replay.close()

    service, replayed = _last(path, ours), _last(copy, theirs)
    assert replayed == service
    spend, line, told = service
    assert spend == (member, 1, line[5], None, None)  # cost 1 at the line's time, not refunded
    assert line[2:5] == ("spend", -1, balance - 1)
    assert told["lot_source"] == "allotment"  # the plan's credits first (SPEC §3)
    assert _counts(copy) == _counts(path)


def test_left_out_parts_are_not_written_and_the_rest_is(
    prepared: tuple[Path, str], copy: Path
) -> None:
    _, member = prepared
    before = _counts(copy)
    replay = OwnStatements(copy, ("event", "spend_record", "ledger_at_index", "lock_reads"))
    try:
        replay.spend(member, spend_reference())
        replay.spend(member, spend_reference())
    finally:
        replay.close()

    after = _counts(copy)
    assert after == {
        "spends": before["spends"],
        "ledger_entries": before["ledger_entries"] + 2,
        "outbox_events": before["outbox_events"],
        "balance": before["balance"] - 2,
    }
    assert _indexes(copy) == {"ix_ledger_entries_member_id_id"}


def test_the_balance_only_lock_still_refuses_an_empty_account(
    prepared: tuple[Path, str], copy: Path
) -> None:
    _, member = prepared
    with closing(sqlite3.connect(copy)) as conn, conn:
        conn.execute("UPDATE accounts SET balance = 0 WHERE member_id = ?", (member,))
    replay = OwnStatements(copy, ("lock_reads",))
    try:
        with pytest.raises(RuntimeError, match="ran out of credits"):
            replay.spend(member, spend_reference())
    finally:
        replay.close()
    assert _counts(copy)["ledger_entries"] == _counts(prepared[0])["ledger_entries"]


def test_an_unknown_part_is_refused_by_name(copy: Path) -> None:
    with pytest.raises(ValueError, match="'events'"):
        OwnStatements(copy, ("events",))
    assert "event" in PARTS
