"""``inmail serve`` as a real process for the tests: migrate, start, wait until healthy, stop, kill.

The server listens on a free port of 127.0.0.1, with its settings in the
environment (``INMAIL_*``), its output in a log file that a failure prints.
It runs in a session of its own (``start_new_session``), so its worker
processes share its process group: ``stop`` and ``kill`` reach all of them,
and none outlives the test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import processes
from tests.conftest import PG_ADMIN_URL

ADMIN_TOKEN = "real-server-operator"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
MIGRATE_TIMEOUT_S = 60.0
PORT_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it


def inmail_script() -> str:
    """The console script of the interpreter running the tests (the project's venv)."""
    script = Path(sys.executable).with_name("inmail")
    if not script.exists():
        pytest.fail(f"no inmail console script next to {sys.executable}")
    return str(script)


def server_env(database_url: str, test_clock: str | None = None) -> dict[str, str]:
    """This process's environment without its ``INMAIL_*`` settings, plus the server's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INMAIL_")}
    env |= {"INMAIL_DATABASE_URL": database_url, "INMAIL_ADMIN_TOKEN": ADMIN_TOKEN}
    if test_clock is not None:
        env["INMAIL_TEST_CLOCK"] = test_clock
    return env


def migrate(env: dict[str, str]) -> None:
    """``inmail db upgrade``: the newest schema and the default catalog."""
    done = subprocess.run(
        [inmail_script(), "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServeProcess:
    """``inmail serve`` on one database; started again (on a new port) after a stop or a kill.

    ``base_url`` is the running server's. Each start writes its own log file
    in ``log_dir`` (``serve-1.log``, ``serve-2.log``, ...).
    """

    def __init__(self, env: dict[str, str], log_dir: Path, workers: int = 1) -> None:
        self.env = env
        self.log_dir = log_dir
        self.workers = workers
        self.base_url = ""
        self.log = log_dir / "serve-0.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def start(self) -> None:
        """Start on a free port and wait until /healthz answers; fails the test if it cannot."""
        assert self._proc is None, "already running"
        for _attempt in range(PORT_ATTEMPTS):
            if self._start_once(free_port()):
                return
            if "address already in use" not in self.log.read_text().lower():
                break  # not a lost race for the port: report it
        pytest.fail(f"inmail serve did not start:\n{self.log.read_text()}")

    def _start_once(self, port: int) -> bool:
        self._starts += 1
        self.log = self.log_dir / f"serve-{self._starts}.log"
        self.base_url = f"http://127.0.0.1:{port}"
        command = [inmail_script(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(
                [*command, "--workers", str(self.workers)],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, workers included
            )
        if self._wait_healthy(self._proc):
            return True
        self.stop()
        return False

    def _wait_healthy(self, proc: subprocess.Popen[bytes]) -> bool:
        """True once /healthz answers; False if the server exited first."""
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx2.Client(base_url=self.base_url, timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    return False
                with suppress(httpx2.TransportError):
                    if client.get("/healthz").status_code == 200:
                        return True
                time.sleep(0.05)
        self.kill()
        pytest.fail(
            f"inmail serve not healthy after {START_TIMEOUT_S:g} s:\n{self.log.read_text()}"
        )

    def kill(self) -> None:
        """``kill -9`` the whole process group at once, as a crash or a power cut would."""
        proc, self._proc = self._proc, None
        if proc is not None:
            processes.kill_group(proc, STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts its workers down); SIGKILL the process group if that hangs."""
        proc, self._proc = self._proc, None
        if proc is not None:
            processes.stop(proc, STOP_TIMEOUT_S)  # a hung server, or a worker that outlived it


@contextmanager
def serving(env: dict[str, str], log_dir: Path, workers: int = 1) -> Iterator[ServeProcess]:
    """A started ``ServeProcess``; whatever is running when the block ends is stopped."""
    server = ServeProcess(env, log_dir, workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def own_postgres_database(postgres_url: str) -> Iterator[str]:
    """An empty database next to the session's (same server), dropped afterwards."""
    name = f"inmail_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
