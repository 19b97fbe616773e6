"""What bounds ``spend_sqlite`` on this machine: ``python -m benchmarks.spend_bounds``.

Not a ratio benchmark with a target: it runs, in alternating rounds on one machine,

- ``ours``: ``spend_credits`` through the service layer (what ``spend_sqlite`` times);
- a ladder of raw-``sqlite3`` replays of the spend's own statements
  (``spend_sqlite.OwnStatements``, each on its own copy of our file), each rung leaving
  out one more part of what a spend writes beyond the baseline's three rows
  (``spend_sqlite.PARTS``): the outbox event, the spend record, the ledger's index by time,
  the lock's reads, the ledger's index by member;
- ``spend_sqlite``'s baseline.

and prints one JSON line per side: µs per spend (wall), the ratio to the baseline, and the
WAL frames per spend. The first rung is ``spend_sqlite``'s ``own_statements`` side. A rung
whose ratio stays under the target with no Python at all says the target cannot be met
while the spend writes what that rung writes (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.fixtures import open_deps, prepare
from benchmarks.report import Tally, log
from benchmarks.spend_sqlite import (
    ACCOUNTS,
    TARGET,
    OwnStatements,
    RawLedger,
    baseline_spender,
    copy_file,
    ours_spender,
    own_statements_spender,
)
from benchmarks.timing import run_for, wal_frames_per_op

NAME = "spend_bounds"
# Each rung leaves out what the one before it did, and one part more (spend_sqlite.PARTS).
LADDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("own_statements", ()),
    ("no_event", ("event",)),
    ("no_spend_record", ("event", "spend_record")),
    ("no_ledger_at_index", ("event", "spend_record", "ledger_at_index")),
    ("no_lock_reads", ("event", "spend_record", "ledger_at_index", "lock_reads")),
    (
        "no_ledger_member_index",
        ("event", "spend_record", "ledger_at_index", "lock_reads", "ledger_member_index"),
    ),
)
ROUND_SECONDS = 0.4
WARMUP_SECONDS = 0.5


def measure(seconds: float) -> list[dict[str, object]]:
    """``seconds`` per side, in alternating rounds; one line per side (see the module)."""
    with tempfile.TemporaryDirectory(prefix="inmail-bounds-") as tmp:
        where = Path(tmp)
        url = f"sqlite:///{where / 'ours.db'}"
        log(f"{NAME}: preparing {url}")
        members = prepare(url, ACCOUNTS)
        replays = []
        for rung, leave_out in LADDER:
            copy_file(where / "ours.db", where / f"{rung}.db")
            replays.append(OwnStatements(where / f"{rung}.db", leave_out))
        deps = open_deps(url)
        raw = RawLedger(where / "baseline.db", ACCOUNTS)
        try:
            sides: dict[str, tuple[Callable[[], object], Path]] = {
                "ours": (ours_spender(deps, members), where / "ours.db"),
                "baseline": (baseline_spender(raw, ACCOUNTS), where / "baseline.db"),
            }
            for (rung, _), replay in zip(LADDER, replays, strict=True):
                sides[rung] = (own_statements_spender(replay, members), where / f"{rung}.db")
            tallies = _alternate({name: op for name, (op, _) in sides.items()}, seconds)
            base = tallies["baseline"].per_s
            return [
                {
                    "name": NAME,
                    "side": name,
                    "leaves_out": list(dict(LADDER).get(name, ())),
                    "us_per_op": round(1e6 / tallies[name].per_s, 1),
                    "ratio": round(tallies[name].per_s / base, 3),
                    "target": TARGET,
                    "wal_frames_per_op": wal_frames_per_op(
                        path, op, engine=deps.db.engine if name == "ours" else None
                    ),
                }
                for name, (op, path) in sides.items()
            ]
        finally:
            for replay in replays:
                replay.close()
            raw.close()
            deps.db.dispose()


def _alternate(sides: dict[str, Callable[[], object]], seconds: float) -> dict[str, Tally]:
    for op in sides.values():
        run_for(WARMUP_SECONDS, op)
    rounds = max(3, round(seconds / ROUND_SECONDS))
    tallies = {name: Tally() for name in sides}
    for i in range(rounds):
        log(f"{NAME}: round {i + 1} of {rounds}")
        for name, op in sides.items():
            tallies[name].add(run_for(seconds / rounds, op))
    return tallies


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.spend_bounds",
        description="A spend's cost, part by part, against spend_sqlite's baseline.",
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="measured seconds per side (default: 5)"
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    for line in measure(args.seconds):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
