"""A PostgreSQL server for the benchmarks: reaching it, throwaway databases, and pgbench."""

from __future__ import annotations

import os
import re
import resource
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from benchmarks import procfs
from benchmarks.timing import Sample

ADMIN_URL = os.environ.get(
    "INMAIL_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PGBENCH = shutil.which("pgbench") or "/usr/bin/pgbench"
# PostgreSQL 14+ prints "(without initial connection time)", older ones "(excluding ...)".
TPS = re.compile(r"^tps = ([0-9.]+) \((?:without initial connection|excluding connections)", re.M)


def unavailable() -> str | None:
    """Why the pgbench comparison cannot run here, or None when it can."""
    if not os.access(PGBENCH, os.X_OK):
        return "pgbench is not installed (not on PATH, nor /usr/bin/pgbench)"
    return server_unavailable()


def server_unavailable() -> str | None:
    """Why no PostgreSQL server can be used here, or None when one can."""
    try:
        engine = create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL at {_safe(ADMIN_URL)}: {exc.__class__.__name__}"
    return None


@contextmanager
def throwaway_database(prefix: str) -> Iterator[URL]:
    """A new, empty database for the block; dropped afterwards, even on failure."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(ADMIN_URL).set(database=name)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass(frozen=True, slots=True)
class Pgbench:
    """pgbench pointed at one database of the server."""

    url: URL

    def initialise(self, scale: int) -> None:
        self._run(["-i", "-q", "-s", str(scale)])

    def tpcb_like(self, clients: int, threads: int, seconds: int) -> Sample:
        """Run the TPC-B-like script for ``seconds``; its rate is the reported tps.

        The CPU is pgbench's own (the client's), like the CPU reported for our workers.
        """
        args = ["-b", "tpcb-like", "-c", str(clients), "-j", str(threads), "-T", str(seconds)]
        cpu = _children_cpu()
        out = self._run(args)
        cpu = _children_cpu() - cpu
        return Sample(round(parse_tps(out) * seconds), float(seconds), cpu)

    def _run(self, args: list[str]) -> str:
        done = subprocess.run(
            [PGBENCH, *self._connection(), *args, self.url.database or ""],
            env=self._env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pgbench {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def _connection(self) -> list[str]:
        url = self.url
        return [
            "-h", url.host or "127.0.0.1",
            "-p", str(url.port or 5432),
            "-U", url.username or "postgres",
        ]  # fmt: skip

    def _env(self) -> dict[str, str]:
        # Same durability as inmail's engine, whatever the server's default (SPEC §3).
        env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=on"}
        if self.url.password:
            env["PGPASSWORD"] = str(self.url.password)
        return env


def parse_tps(output: str) -> float:
    """The "tps = ..." figure that leaves out the time spent connecting."""
    match = TPS.search(output)
    if match is None:
        raise RuntimeError(f"no tps line in pgbench output:\n{output}")
    return float(match.group(1))


def sqlalchemy_url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def server_cpu_seconds() -> float | None:
    """CPU seconds the local PostgreSQL server has used so far, all its processes together
    (None: the server is not on this machine, or there is no ``/proc``).

    The postmaster's live children (backends, WAL writer, checkpointer ...) by their own
    times, and those that have exited (a pgbench client's backends) by the postmaster's
    ``cutime`` and ``cstime``, which the kernel adds them to when it reaps them. The
    difference over a block is what the server spent on it: on a machine with few cores,
    the client's CPU and the server's compete for the same ones.
    """
    admin = create_engine(ADMIN_URL)
    try:
        with admin.connect() as conn:  # its backend's parent is the postmaster
            backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            own = procfs.stat_fields(backend)
    finally:
        admin.dispose()
    if own is None:
        return None
    postmaster = int(own[procfs.PPID])
    fields = procfs.stat_fields(postmaster)
    if fields is None:
        return None
    reaped = int(fields[procfs.CUTIME]) + int(fields[procfs.CSTIME])
    return reaped / procfs.CLOCK_TICKS + sum(
        procfs.own_seconds(child)
        for _, child in procfs.processes()
        if int(child[procfs.PPID]) == postmaster
    )
