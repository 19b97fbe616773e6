"""``python -m benchmarks``: one JSON line per benchmark on stdout, progress on stderr."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from benchmarks import (
    bulk_send_sqlite,
    http_credits,
    http_credits_lots,
    http_send_inmail,
    http_send_inmail_pg_multi,
    keepalive_workers,
    mutuals_100k,
    render_templates,
    search_100k,
    send_inmail_sqlite,
    sizing_postgres,
    spend_postgres,
    spend_postgres_pgbouncer,
    spend_sqlite,
    targeting_100k,
    webhook_delivery,
)
from benchmarks.report import emit, log

Line = dict[str, Any]
# One line, or several (one per engine, say) printed as each is ready.
Benchmark = Callable[[float], Line | Iterable[Line]]
BENCHMARKS: dict[str, Benchmark] = {
    spend_sqlite.NAME: spend_sqlite.run,
    spend_postgres.NAME: spend_postgres.run,
    http_credits.NAME: http_credits.run,
    http_credits_lots.NAME: http_credits_lots.run,
    send_inmail_sqlite.NAME: send_inmail_sqlite.run,
    http_send_inmail.NAME: http_send_inmail.run,
    http_send_inmail.NAME_C32: http_send_inmail.run_c32,
    keepalive_workers.NAME: keepalive_workers.run,
    mutuals_100k.NAME: mutuals_100k.run,
    bulk_send_sqlite.NAME: bulk_send_sqlite.run,
    render_templates.NAME: render_templates.run,
    targeting_100k.NAME: targeting_100k.run,
    search_100k.NAME: search_100k.run,
    sizing_postgres.NAME: sizing_postgres.run,
    spend_postgres_pgbouncer.NAME: spend_postgres_pgbouncer.run,
    http_send_inmail_pg_multi.NAME: http_send_inmail_pg_multi.run,
    webhook_delivery.NAME: webhook_delivery.run,
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
    """Run and report one benchmark; False when it (or one of its lines) failed.

    The run goes on either way.
    """
    log(f"{name}: starting ({seconds:g} s per side)")
    ok = True
    try:
        result = bench(seconds)
        for line in [result] if isinstance(result, dict) else result:
            emit(line)
            ok = ok and "error" not in line
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        emit({"name": name, "error": f"{exc.__class__.__name__}: {exc}"})
        return False
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [args.only] if args.only else list(BENCHMARKS)
    results = [run_one(name, BENCHMARKS[name], args.seconds) for name in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
