"""Running an operation in a loop for a fixed wall-clock time, and what one such run measured."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from inmail.store import checkpoint


@dataclass(frozen=True, slots=True)
class Sample:
    """One side's share of one round: operations done, wall seconds, client CPU seconds."""

    ops: int
    seconds: float
    cpu_seconds: float

    @property
    def per_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


def run_for(seconds: float, op: Callable[[], object]) -> Sample:
    """Call ``op`` until ``seconds`` have passed."""
    done = 0
    cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        op()
        done += 1
    return Sample(done, time.perf_counter() - start, time.process_time() - cpu)


def combine(samples: list[Sample]) -> Sample:
    """Samples taken at the same time by parallel workers: the ops add up, the clock does not."""
    return Sample(
        sum(s.ops for s in samples),
        max((s.seconds for s in samples), default=0.0),
        sum(s.cpu_seconds for s in samples),
    )


def alternate(
    ours: Callable[[], object],
    base: Callable[[], object],
    seconds: float,
    *,
    round_seconds: float,
    min_rounds: int,
    warmup_seconds: float,
) -> Iterator[tuple[Sample, Sample]]:
    """Warm both sides up, then run them in turns: ``seconds`` per side over short rounds.

    fsync latency on a shared disk swings by 10x within seconds; short rounds that
    alternate the sides spread that noise evenly over both.
    """
    run_for(warmup_seconds, ours)
    run_for(warmup_seconds, base)
    rounds = max(min_rounds, round(seconds / round_seconds))
    for _ in range(rounds):
        mine = run_for(seconds / rounds, ours)
        yield mine, run_for(seconds / rounds, base)


# A WAL frame is a page and its 24-byte header; the file starts with a 32-byte header.
_WAL_HEADER = 32
_FRAME_HEADER = 24
WAL_FRAME_OPS = 40
"""Operations counted by :func:`wal_frames_per_op`: few enough that SQLite's automatic
checkpoint cannot fall inside them: inmail's (at 10,000 frames) at a send's 36 frames
an operation, the baselines' (at 1,000) at their send's 22."""


def wal_frames_per_op(
    database: Path,
    op: Callable[[], object],
    ops: int = WAL_FRAME_OPS,
    engine: Engine | None = None,
) -> float:
    """Pages written to the write-ahead log per call of ``op`` on the SQLite file ``database``
    (each b-tree page a transaction changes is one frame, written and synced at commit): what
    a write costs SQLite beyond its statements, whatever the machine's fsync costs.

    The log is checkpointed and truncated first (no other connection may be inside a
    transaction), then grows by exactly the frames of the ``ops`` calls. ``engine``:
    inmail's, whose background checkpoints (store/checkpoint.py) pause meanwhile.
    """
    background = None if engine is None else checkpoint.of(engine)
    with nullcontext() if background is None else background.paused():
        with sqlite3.connect(database) as conn:
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log = database.with_name(database.name + "-wal")
        for _ in range(ops):
            op()
    grown = max(0, log.stat().st_size - _WAL_HEADER)
    return round(grown / (page_size + _FRAME_HEADER) / ops, 2)
