"""Running an operation in a loop for a fixed wall-clock time."""

from __future__ import annotations

import time
from collections.abc import Callable


def run_for(seconds: float, op: Callable[[], object]) -> tuple[int, float]:
    """Call ``op`` until ``seconds`` have passed; return (calls completed, seconds taken)."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        op()
        done += 1
    return done, time.perf_counter() - start
