"""``inmail serve`` in a subprocess for the HTTP benchmarks: start, call, load, measure, stop.

The server listens on a free port of 127.0.0.1 only. Its output goes to a log
file next to its database (printed if it fails to start). It is always
stopped when the block ends, even on failure. :func:`load` runs the load
generator (``benchmarks.loadgen``, its own process) against it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import procfs
from benchmarks.report import Comparison
from benchmarks.timing import Sample

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
ROOT = Path(__file__).resolve().parent.parent
# The loadgen stops itself; this only bounds a hung process (startup and connecting included).
LOADGEN_GRACE_S = 60.0
# The HTTP comparisons: each side warms up, then they alternate rounds of about a second.
MIN_ROUNDS = 3
ROUND_SECONDS = 1.0
WARMUP_SECONDS = 0.5


def inmail_script() -> str:
    """The ``inmail`` console script of this interpreter's environment (the project venv)."""
    script = Path(sys.executable).with_name("inmail")
    if not script.exists():
        raise RuntimeError(f"no inmail console script next to {sys.executable}")
    return str(script)


@dataclass(frozen=True, slots=True)
class Server:
    port: int
    pid: int
    admin_token: str
    workers: int = 1

    def call(
        self, method: str, path: str, token: str | None = None, body: object = None
    ) -> tuple[int, Any]:
        """One request on a fresh connection; the status and the decoded JSON answer."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            payload = None if body is None else json.dumps(body)
            conn.request(method, path, body=payload, headers=headers)
            answer = conn.getresponse()
            return answer.status, json.loads(answer.read() or b"null")
        finally:
            conn.close()

    def ok(self, method: str, path: str, token: str | None = None, body: object = None) -> Any:
        """``call`` that must succeed (2xx)."""
        status, answer = self.call(method, path, token, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path} answered {status}: {answer}")
        return answer

    def cpu_seconds(self) -> float | None:
        """The server's CPU time so far (Linux /proc), or None where unavailable.

        With ``--workers N`` the server is a supervisor and N worker processes, all in
        the process group the server was started in: their times are summed.
        """
        total = procfs.cpu_seconds(self.pid)
        if total is None or self.workers == 1:
            return total
        return total + sum(
            procfs.own_seconds(fields)
            for pid, fields in procfs.processes()
            # the server's own process group (its session): the supervisor's workers
            if pid != self.pid and int(fields[procfs.PGRP]) == self.pid
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(
    database_url: str,
    workdir: Path,
    admin_token: str,
    test_clock: str | None,
    *,
    workers: int = 1,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Migrate with ``inmail db upgrade``, then ``inmail serve --workers N`` until the block
    ends. ``settings``: more ``INMAIL_*`` variables for both commands."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INMAIL_")}
    env |= {"INMAIL_DATABASE_URL": database_url, "INMAIL_ADMIN_TOKEN": admin_token}
    env |= dict(settings or {})
    if test_clock is not None:
        env["INMAIL_TEST_CLOCK"] = test_clock
    migrated = subprocess.run(
        [inmail_script(), "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"inmail db upgrade failed:\n{migrated.stdout}{migrated.stderr}")
    port = free_port()
    log = workdir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [inmail_script(), "serve", "--host", HOST, "--port", str(port)]
            + (["--workers", str(workers)] if workers > 1 else []),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    try:
        server = Server(port, proc.pid, admin_token, workers)
        _wait_healthy(proc, server, log)
        yield server
    finally:
        _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], server: Server, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"inmail serve exited with {proc.returncode}:\n{log.read_text()}")
        with suppress(OSError, http.client.HTTPException):
            if server.call("GET", "/healthz")[0] == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"inmail serve not healthy after {START_TIMEOUT_S:g} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the server's own process group (new session)
        proc.wait(timeout=STOP_TIMEOUT_S)


@dataclass(frozen=True, slots=True)
class Request:
    """What every load-generator connection sends over and over, and the status it expects."""

    path: str
    token: str
    method: str = "GET"
    body: object = None  # sent as JSON (with method POST)
    expect: int = 200
    pool: Path | None = None  # or a file of JSON bodies, each sent once (see benchmarks.loadgen)
    rotate_tokens: tuple[str, ...] = ()  # with a pool: request k is sent with token k mod n


@dataclass(slots=True)
class ServerCpu:
    """Server CPU seconds spent while one side's load ran, summed over the rounds."""

    seconds: float = 0.0
    ops: int = 0
    known: bool = True

    def add(self, cpu: float | None, ops: int) -> None:
        if cpu is None:
            self.known = False
        else:
            self.seconds += cpu
            self.ops += ops

    @property
    def ms_per_op(self) -> float | None:
        return round(1000 * self.seconds / self.ops, 3) if self.known and self.ops else None


@dataclass(slots=True)
class Sides:
    ours: ServerCpu = field(default_factory=ServerCpu)
    baseline: ServerCpu = field(default_factory=ServerCpu)


def load(
    server: Server, request: Request, connections: int, seconds: float
) -> tuple[Sample, float | None]:
    """Run the load generator with ``request``; its Sample and the server CPU seconds meanwhile."""
    sample, cpu, _ = timed_load(server, request, connections, seconds)
    return sample, cpu


def timed_load(
    server: Server, request: Request, connections: int, seconds: float
) -> tuple[Sample, float | None, list[int]]:
    """:func:`load`, and each counted request's latency in microseconds (sorted)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.loadgen",
        "--port",
        str(server.port),
        "--path",
        request.path,
        "--method",
        request.method,
        "--expect",
        str(request.expect),
        "--connections",
        str(connections),
        "--seconds",
        f"{seconds:.3f}",
    ]
    if not request.rotate_tokens:
        # The same header on both sides of a comparison, so both requests are alike.
        command += ["--header", f"Authorization: Bearer {request.token}"]
    if request.body is not None:
        command += ["--body", json.dumps(request.body)]
    if request.pool is not None:
        command += ["--bodies", str(request.pool)]
    for token in request.rotate_tokens:
        command += ["--rotate-header", f"Authorization: Bearer {token}"]
    before = server.cpu_seconds()
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + LOADGEN_GRACE_S,
        check=False,
    )
    after = server.cpu_seconds()
    if done.returncode != 0:
        raise RuntimeError(
            f"loadgen on {request.method} {request.path} failed ({done.returncode}):\n"
            f"{done.stdout}\n{done.stderr}"
        )
    result = json.loads(done.stdout)
    cpu = None if before is None or after is None else after - before
    sample = Sample(result["ops"], result["seconds"], result["cpu_seconds"])
    return sample, cpu, list(result["latencies_us"])


def alternate(
    server: Server,
    sides: tuple[Request, Request],
    connections: int,
    seconds: float,
    result: Comparison,
    latencies: list[int] | None = None,
) -> Sides:
    """Ours (``sides[0]``) against the baseline (``sides[1]``) on ``server``: both warm up
    (plan and statement caches, the thread pool, the database's pages), then rounds of about
    ROUND_SECONDS alternate the two for ``seconds`` in all, so that a noisy moment of a shared
    machine falls on both sides alike. Each round goes into ``result``; with ``latencies``,
    ours' latencies (microseconds) are appended to it. Returns the server CPU of each side."""
    ours_request, base_request = sides
    load(server, ours_request, connections, WARMUP_SECONDS)
    load(server, base_request, connections, WARMUP_SECONDS)
    rounds = max(MIN_ROUNDS, round(seconds / ROUND_SECONDS))
    cpu = Sides()
    for _ in range(rounds):
        ours, ours_cpu, took = timed_load(server, ours_request, connections, seconds / rounds)
        base, base_cpu = load(server, base_request, connections, seconds / rounds)
        if latencies is not None:
            latencies += took
        cpu.ours.add(ours_cpu, ours.ops)
        cpu.baseline.add(base_cpu, base.ops)
        result.add_round(ours, base)
    return cpu
