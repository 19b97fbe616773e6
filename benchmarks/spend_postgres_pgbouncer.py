"""spend_postgres_pgbouncer: ``spend_postgres`` with both sides through one pgbouncer.

A private pgbouncer (``tests.pgbouncer``: Debian's, transaction pooling, a free port of
127.0.0.1, ``POOL_SIZE`` server connections per database) in front of the benchmark
server. Ours: ``WORKERS`` processes spending as in ``spend_postgres``, their engines in
pgbouncer mode (``?pgbouncer=true``: no server-side prepared statements). Baseline:
``pgbench -b tpcb-like`` with as many clients through the same pgbouncer. pgbouncer
drops pgbench's ``PGOPTIONS`` (``ignore_startup_parameters``), so both sides commit at
the server's ``synchronous_commit`` (on; inmail checks it behind pgbouncer).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.engine import make_url
from tests.pgbouncer import Pgbouncer, version
from tests.pgbouncer import unavailable as pgbouncer_unavailable

from benchmarks import postgres
from benchmarks.fixtures import prepare
from benchmarks.report import Comparison, log, skipped
from benchmarks.spend_postgres import PGBENCH_SCALE, PGBENCH_THREADS, ROUNDS, WORKERS, run_workers

NAME = "spend_postgres_pgbouncer"
TARGET = 0.6
POOL_SIZE = WORKERS  # a server connection for every client, on both sides


def run(seconds: float) -> dict[str, Any]:
    problem = postgres.unavailable() or pgbouncer_unavailable()
    if problem is not None:
        return skipped(NAME, problem)
    per_round = max(1, math.ceil(seconds / ROUNDS))  # pgbench -T takes whole seconds
    server = make_url(postgres.ADMIN_URL)
    with (
        postgres.throwaway_database("inmail_bench") as ours_url,
        postgres.throwaway_database("pgbench") as bench_url,
        Pgbouncer(
            server_host=server.host or "127.0.0.1",
            server_port=server.port or 5432,
            server_user=server.username,
            users=(server.username or "postgres",),
            pool_size=POOL_SIZE,
        ) as bouncer,
    ):
        log(f"{NAME}: preparing {WORKERS} accounts in {ours_url.database}")
        members = prepare(postgres.sqlalchemy_url(ours_url), WORKERS)
        user = server.username or "postgres"
        url = bouncer.url(ours_url.database or "", user) + "?pgbouncer=true"
        log(f"{NAME}: pgbench -i -s {PGBENCH_SCALE} {bench_url.database}")
        pgbench = postgres.Pgbench(bench_url)
        pgbench.initialise(PGBENCH_SCALE)  # directly: COPY and VACUUM need no pooler
        through = postgres.Pgbench(
            bench_url.set(host=bouncer.listen_addr, port=bouncer.port, password=None)
        )
        log(f"{NAME}: both sides through pgbouncer {version()} on port {bouncer.port}")
        result = Comparison(NAME, "postgresql", TARGET)
        for number in range(ROUNDS):
            ours = run_workers(url, members, per_round, f"r{number}")
            base = through.tpcb_like(WORKERS, PGBENCH_THREADS, per_round)
            result.add_round(ours, base)
    return result.line(
        seconds=per_round * ROUNDS,
        workers=WORKERS,
        baseline="pgbench -b tpcb-like -c 8 -j 2, through the same pgbouncer",
        pgbench_scale=PGBENCH_SCALE,
        pgbouncer=version(),
        pool_mode="transaction",
        pool_size=POOL_SIZE,
    )
