"""``python -m benchmarks``: one JSON line per benchmark on stdout, progress on stderr."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import http_credits, spend_postgres, spend_sqlite
from benchmarks.report import emit, log

Benchmark = Callable[[float], dict[str, Any]]
BENCHMARKS: dict[str, Benchmark] = {
    spend_sqlite.NAME: spend_sqlite.run,
    spend_postgres.NAME: spend_postgres.run,
    http_credits.NAME: http_credits.run,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="inmail against baselines, as ratios."
    )
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run just this benchmark")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="measured seconds per side (default: 5)"
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def run_one(name: str, bench: Benchmark, seconds: float) -> bool:
    """Run and report one benchmark; False when it failed (the run goes on)."""
    log(f"{name}: starting ({seconds:g} s per side)")
    try:
        line = bench(seconds)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        emit({"name": name, "error": f"{exc.__class__.__name__}: {exc}"})
        return False
    emit(line)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [args.only] if args.only else list(BENCHMARKS)
    results = [run_one(name, BENCHMARKS[name], args.seconds) for name in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
