"""Running an operation in a loop for a fixed wall-clock time, and what one such run measured."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


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
