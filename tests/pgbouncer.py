"""A private pgbouncer for tests and benchmarks: started on a free port, stopped and removed.

``make pgbouncer`` installs Debian's package (``/usr/sbin/pgbouncer``); this module never
uses its systemd service or its ``/etc/pgbouncer`` files. Each :class:`Pgbouncer` writes a
config, an auth file, a log and a pid file into a temporary directory of its own, runs
pgbouncer in the foreground as a child process, waits until it answers a query, and on
``stop()`` (or leaving the ``with`` block) terminates it and deletes the directory.

Under root, pgbouncer refuses to run unless told which user to become (``-u``): it then
runs as ``postgres`` and the directory is handed to that user.

Usage (also from benchmarks, and from a test that builds hosts in network namespaces)::

    with Pgbouncer(listen_addr="127.0.0.1", port=0, pool_mode="transaction") as bouncer:
        url = bouncer.url("inmail_test_abc")  # postgresql+psycopg://postgres@127.0.0.1:PORT/...
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import psycopg

from tests import processes

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


def unavailable() -> str | None:
    """Why no pgbouncer can be started here (``make pgbouncer`` installs it), or None."""
    if not os.access(PGBOUNCER, os.X_OK):
        return "pgbouncer is not installed (make pgbouncer installs Debian's package)"
    return None


def version() -> str:
    """The installed pgbouncer's version, e.g. ``"1.18.0"``."""
    out = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def free_port(addr: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``addr`` right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((addr, 0))
        port: int = sock.getsockname()[1]
        return port


class Pgbouncer:
    """One pgbouncer process with its own config in a temporary directory.

    ``listen_addr``/``port``: where clients connect (``port=0``: a free one).
    ``server_host``/``server_port``/``server_user``: the PostgreSQL behind it; every
    database name a client asks for is forwarded there (``* =`` in ``[databases]``).
    ``pool_mode``: ``transaction`` (what inmail is built for), ``session`` or ``statement``.
    ``pool_size``: server connections per database and user. ``settings``: any other
    ``[pgbouncer]`` settings, written as given (e.g. ``{"max_prepared_statements": "100"}``
    on pgbouncer 1.21 or newer).

    Authentication is ``trust`` for the users in ``users`` (the server's own
    authentication still applies to pgbouncer's connections).
    """

    def __init__(
        self,
        *,
        listen_addr: str = "127.0.0.1",
        port: int = 0,
        server_host: str = "127.0.0.1",
        server_port: int = 5432,
        server_user: str | None = None,
        users: tuple[str, ...] = ("postgres",),
        pool_mode: str = "transaction",
        pool_size: int = 20,
        max_client_conn: int = 500,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.listen_addr = listen_addr
        self.port = port or free_port(listen_addr)
        self.server_host = server_host
        self.server_port = server_port
        self.server_user = server_user
        self.users = users
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.settings = dict(settings or {})
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- where to connect ------------------------------------------------------------

    def url(self, database: str, user: str = "postgres") -> str:
        """A SQLAlchemy URL for ``database`` through this pgbouncer."""
        return f"postgresql+psycopg://{user}@{self.listen_addr}:{self.port}/{database}"

    def conninfo(self, database: str, user: str = "postgres") -> str:
        """A libpq connection string for ``database`` through this pgbouncer."""
        return f"host={self.listen_addr} port={self.port} dbname={database} user={user}"

    @property
    def log(self) -> str:
        """What pgbouncer has logged so far (for a failure message)."""
        if self._dir is None or not (self._dir / "pgbouncer.log").exists():
            return ""
        return (self._dir / "pgbouncer.log").read_text(errors="replace")

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> Pgbouncer:
        """Write the config, start pgbouncer and wait until it answers (RuntimeError if not)."""
        problem = unavailable()
        if problem is not None:
            raise RuntimeError(problem)
        self._dir = Path(tempfile.mkdtemp(prefix="inmail-pgbouncer-"))
        config = self._write_config(self._dir)
        command = [PGBOUNCER]
        if os.geteuid() == 0:  # pgbouncer will not run as root
            owner = pwd.getpwnam("postgres")
            for path in [self._dir, *self._dir.iterdir()]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
            command += ["-u", "postgres"]
        self._proc = subprocess.Popen(
            [*command, str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of the test run reaches it only through stop()
        )
        try:
            self._wait_until_ready()
        except BaseException:
            log = self.log
            self.stop()
            raise RuntimeError(f"pgbouncer did not start on port {self.port}:\n{log}") from None
        return self

    def stop(self) -> None:
        """Terminate pgbouncer (immediate shutdown) and remove its directory. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            processes.stop(proc, STOP_TIMEOUT_S)
        directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> Pgbouncer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _write_config(self, directory: Path) -> Path:
        users = "".join(f'"{user}" ""\n' for user in self.users)
        (directory / "userlist.txt").write_text(users)
        server = f"host={self.server_host} port={self.server_port}"
        if self.server_user is not None:
            server += f" user={self.server_user}"
        settings = {
            "listen_addr": self.listen_addr,
            "listen_port": str(self.port),
            "unix_socket_dir": "",  # TCP only: nothing is left behind in /tmp
            "auth_type": "trust",
            "auth_file": str(directory / "userlist.txt"),
            "pool_mode": self.pool_mode,
            "default_pool_size": str(self.pool_size),
            "max_client_conn": str(self.max_client_conn),
            "logfile": str(directory / "pgbouncer.log"),
            "pidfile": str(directory / "pgbouncer.pid"),
            "admin_users": ",".join(self.users),
            # pgbench and libpq clients may send "options" (PGOPTIONS); pgbouncer 1.18
            # refuses any startup parameter it does not track unless listed here, and then
            # drops it: what they set must come from the server's own settings.
            "ignore_startup_parameters": "extra_float_digits,options",
            **self.settings,
        }
        lines = ["[databases]", f"* = {server}", "", "[pgbouncer]"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        config = directory / "pgbouncer.ini"
        config.write_text("\n".join(lines) + "\n")
        return config

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with status {self._proc.returncode}")
            try:
                with psycopg.connect(
                    self.conninfo("pgbouncer", self.users[0]), connect_timeout=2, autocommit=True
                ) as conn:
                    conn.execute("SHOW VERSION")
                return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
