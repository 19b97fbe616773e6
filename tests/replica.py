"""A private PostgreSQL primary and its streaming replica, for tests: made, started, removed.

The machine's own server (127.0.0.1:5432) allows no replication connections, and its
configuration is not the tests' to change, so this builds a primary of its own with
``initdb`` (trust authentication, replication allowed from 127.0.0.1), copies it with
``pg_basebackup -R -X stream`` and starts the copy as a hot standby on another port. Both
run from a temporary directory with ``pg_ctl`` from the newest
``/usr/lib/postgresql/*/bin``, as the ``postgres`` user when started by root, listen on
``listen_addr`` only and have their sockets in that directory. ``stop()`` shuts both down
(immediate mode) and deletes the directory.

Usage (tests; also a multi-host test that wants a replica)::

    with StreamingPair() as pair:
        pair.primary_url("postgres"), pair.replica_url("postgres")
        pair.wait_for_replay()   # the replica has replayed everything committed so far
        pair.pause_replay()      # the replica now stays behind until resume_replay()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

from tests.pgbouncer import free_port

START_TIMEOUT_S = 60
CATCH_UP_TIMEOUT_S = 30.0


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's programs (``initdb``, ``pg_ctl``...), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    return Path(found[-1]) if found else None


def unavailable() -> str | None:
    """Why no primary and replica can be made here, or None."""
    programs = bin_dir()
    if programs is None or not (programs / "initdb").exists():
        return "PostgreSQL's server programs are not installed (/usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the servers as"
    return None


class StreamingPair:
    """A primary on ``primary_port`` and its streaming replica on ``replica_port``
    (0: free ports), both on ``listen_addr``; superuser ``postgres``, trust."""

    def __init__(
        self, *, listen_addr: str = "127.0.0.1", primary_port: int = 0, replica_port: int = 0
    ) -> None:
        self.listen_addr = listen_addr
        self.primary_port = primary_port or free_port(listen_addr)
        self.replica_port = replica_port or free_port(listen_addr)
        self._dir: Path | None = None
        self._started: list[Path] = []

    def primary_url(self, database: str) -> str:
        """A SQLAlchemy URL of ``database`` on the primary."""
        return f"postgresql+psycopg://postgres@{self.listen_addr}:{self.primary_port}/{database}"

    def replica_url(self, database: str) -> str:
        """A SQLAlchemy URL of ``database`` on the replica (read-only)."""
        return f"postgresql+psycopg://postgres@{self.listen_addr}:{self.replica_port}/{database}"

    def start(self) -> StreamingPair:
        """initdb, start the primary, base-backup it, start the replica (RuntimeError if not)."""
        problem = unavailable()
        if problem is not None:
            raise RuntimeError(problem)
        self._dir = Path(tempfile.mkdtemp(prefix="inmail-replica-"))
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
        primary, replica = self._dir / "primary", self._dir / "replica"
        try:
            self._run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--no-sync")  # fmt: skip
            self._configure(primary, self.primary_port)
            self._start(primary)
            self._run("pg_basebackup", "-h", self.listen_addr, "-p", str(self.primary_port),
                      "-U", "postgres", "-D", str(replica), "-R", "-X", "stream",
                      "--no-sync")  # fmt: skip
            self._configure(replica, self.replica_port)
            self._start(replica)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers (immediate shutdown) and delete their files. Idempotent."""
        while self._started:
            data = self._started.pop()
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> StreamingPair:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- replication ------------------------------------------------------------------

    def wait_for_replay(self) -> None:
        """Return once the replica has replayed all the primary has written so far."""
        with self._connect(self.primary_port) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert row is not None
            target = row[0]
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        with self._connect(self.replica_port) as replica:
            while True:
                row = replica.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
                ).fetchone()
                if row is not None and row[0]:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the replica did not reach {target} in time")
                time.sleep(0.05)

    def pause_replay(self) -> None:
        """Stop applying WAL on the replica (it still receives it): it now lags."""
        with self._connect(self.replica_port) as replica:
            replica.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self._connect(self.replica_port) as replica:
            replica.execute("SELECT pg_wal_replay_resume()")

    # -- internals --------------------------------------------------------------------

    def _connect(self, port: int) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.listen_addr, port=port, user="postgres", dbname="postgres", autocommit=True
        )

    def _configure(self, data: Path, port: int) -> None:
        assert self._dir is not None
        settings = {
            "port": str(port),
            "listen_addresses": f"'{self.listen_addr}'",
            "unix_socket_directories": f"'{self._dir}'",
            "max_connections": "40",
            "shared_buffers": "'32MB'",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "hot_standby": "on",
        }
        # The base backup copies the primary's file; later lines win.
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))

    def _start(self, data: Path) -> None:
        self._run("pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-w",
                  "-t", str(START_TIMEOUT_S), "start")  # fmt: skip
        self._started.append(data)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        programs = bin_dir()
        assert programs is not None
        done = subprocess.run(
            [str(programs / program), *args],
            user="postgres" if os.geteuid() == 0 else None,
            cwd=self._dir,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S * 2,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stderr}")
