"""The API served for real: ``inmail serve`` in a subprocess, hit from many threads at once.

The in-process TestClient runs one request at a time, so it cannot show what
happens when requests really overlap. Here the server is the real command:
``inmail db upgrade`` then ``inmail serve`` on a free port of 127.0.0.1, with
its settings in the environment, on SQLite and on PostgreSQL. Threads released
together by a barrier race each other over their own keep-alive connections.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from inmail.store.tables import metadata
from tests.conftest import PG_ADMIN_URL

ADMIN_TOKEN = "real-server-operator"
TEST_CLOCK = "2026-01-31T09:00:00Z"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 30.0
PLAN = "premium_business"  # 25 credits a month, packs allowed
_handles = itertools.count(1)


def _inmail() -> str:
    """The console script of the interpreter running the tests (the project's venv)."""
    script = Path(sys.executable).with_name("inmail")
    if not script.exists():
        pytest.fail(f"no inmail console script next to {sys.executable}")
    return str(script)


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INMAIL_")}
    env |= {
        "INMAIL_DATABASE_URL": database_url,
        "INMAIL_ADMIN_TOKEN": ADMIN_TOKEN,
        "INMAIL_TEST_CLOCK": TEST_CLOCK,
    }
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    base_url: str
    log: Path

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False)

    def member(self, plan: str = PLAN) -> dict[str, str]:
        """A new member on ``plan``; returns the headers that act as them."""
        body = {"handle": f"racer{next(_handles)}", "name": "Racer", "plan": plan}
        with self.client() as client:
            created = client.post("/v1/admin/members", json=body, headers=self.admin)
            assert created.status_code == 201, created.text
            member_id = created.json()["id"]
            token = client.post(f"/v1/admin/members/{member_id}/tokens", headers=self.admin)
            assert token.status_code == 201, token.text
        return {"Authorization": f"Bearer {token.json()['token']}"}

    def get(self, path: str, headers: dict[str, str]) -> Any:
        with self.client() as client:
            answer = client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def advance(self, days: int) -> None:
        with self.client() as client:
            moved = client.post("/v1/admin/clock", json={"advance_days": days}, headers=self.admin)
        assert moved.status_code == 200, moved.text

    def assert_audit_clean(self) -> None:
        assert self.get("/v1/admin/audit", self.admin) == {"ok": True, "problems": []}


@contextmanager
def serving(database_url: str, tmp_path: Path, workers: int = 1) -> Iterator[Server]:
    """Migrate the database, start ``inmail serve`` on it, wait for /healthz; stop it after."""
    env = _env(database_url)
    migrated = subprocess.run(
        [_inmail(), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    log = tmp_path / f"serve-{workers}w.log"
    workers_arg = ("--workers", str(workers))
    for _attempt in range(3):
        port = _free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [_inmail(), "serve", "--host", "127.0.0.1", "--port", str(port), *workers_arg],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its worker processes share its group: see _stop
            )
        try:
            server = Server(f"http://127.0.0.1:{port}", log)
            if _wait_healthy(proc, server):
                yield server
                return
        finally:
            _stop(proc)
        if "address already in use" not in log.read_text().lower():
            break  # not a lost race for the port: report it
    pytest.fail(f"inmail serve did not start:\n{log.read_text()}")


def _wait_healthy(proc: subprocess.Popen[bytes], server: Server) -> bool:
    """True once /healthz answers; False if the server exited first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx2.Client(base_url=server.base_url, timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if client.get("/healthz").status_code == 200:
                    return True
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
    pytest.fail(f"inmail serve not healthy after {START_TIMEOUT_S:g} s:\n{server.log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts its workers down); SIGKILL the process group if that hangs."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)
    # Workers of a multi-process server are in the group: none may outlive the test.
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _reset_postgres(url: str) -> None:
    """Empty every table, like tests/conftest.py's ``_fresh_postgres``; ``db upgrade`` seeds it."""
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server per engine for the module's races; each test makes its own member.

    Starting a server is most of a test's time, so the tests share it. The SQLite
    file starts empty and the PostgreSQL database is emptied (the server's
    ``db upgrade`` migrates and seeds them).
    """
    tmp_path = tmp_path_factory.mktemp(f"served-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'served.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
    with serving(url, tmp_path) as running:
        yield running


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


Answer = tuple[int, Any]


def race(
    server: Server, threads: int, call: Callable[[httpx2.Client], httpx2.Response]
) -> list[Answer]:
    """``call`` from ``threads`` threads released together, each on its own connection.

    Returns ``(status, body)`` per thread. Every client connects before the
    barrier, so the requests reach the server as close together as possible.
    """
    barrier = threading.Barrier(threads)

    def one(_: int) -> Answer:
        with server.client() as client:
            client.get("/healthz")  # open the keep-alive connection before the start
            barrier.wait(timeout=START_TIMEOUT_S)
            answer = call(client)
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))


def _charge_kinds(server: Server, member: dict[str, str]) -> list[str]:
    page = server.get("/v1/me/charges?limit=200", member)
    assert page["next_cursor"] is None
    return [charge["kind"] for charge in page["items"]]


def _idempotent_purchases(server: Server, threads: int) -> None:
    member = server.member()
    headers = {**member, "Idempotency-Key": "buy-once"}
    answers = race(
        server,
        threads,
        lambda c: c.post("/v1/me/purchases", json={"pack": "pack_5"}, headers=headers),
    )
    assert {status for status, _ in answers} == {201}, answers
    first = answers[0][1]
    assert all(body == first for _, body in answers), answers
    assert first["credits"] == 5
    assert _charge_kinds(server, member).count("pack") == 1
    assert server.get("/v1/me/credits", member)["balance"] == 25 + 5
    server.assert_audit_clean()


def test_concurrent_purchases_with_one_idempotency_key_charge_once(server: Server) -> None:
    _idempotent_purchases(server, threads=16)


def test_concurrent_purchases_without_a_key_each_charge(server: Server) -> None:
    member = server.member()
    answers = race(
        server, 8, lambda c: c.post("/v1/me/purchases", json={"pack": "pack_5"}, headers=member)
    )
    assert [status for status, _ in answers] == [201] * 8, answers
    assert len({body["lot_id"] for _, body in answers}) == 8
    assert _charge_kinds(server, member).count("pack") == 8
    assert server.get("/v1/me/credits", member)["balance"] == 25 + 8 * 5
    server.assert_audit_clean()


def test_concurrent_plan_changes_with_one_key_prorate_once(server: Server) -> None:
    member = server.member()
    server.advance(days=5)  # into the cycle, so the upgrade's proration is not zero
    headers = {**member, "Idempotency-Key": "upgrade-once"}
    answers = race(
        server,
        8,
        lambda c: c.put("/v1/me/subscription", json={"plan": "recruiter"}, headers=headers),
    )
    assert {status for status, _ in answers} == {200}, answers
    first = answers[0][1]
    assert all(body == first for _, body in answers), answers
    assert (first["plan"], first["pending_plan"]) == ("recruiter", None)
    assert _charge_kinds(server, member) == ["subscription", "proration"]
    charges = server.get("/v1/me/charges", member)["items"]
    assert charges[1]["price"]["amount_minor"] > 0
    server.assert_audit_clean()


@pytest.mark.postgres
def test_two_worker_processes_share_one_idempotency_key(postgres_url: str, tmp_path: Path) -> None:
    # Its own database: the module's one-worker server may still be serving the session's.
    with own_postgres_database(postgres_url) as url, serving(url, tmp_path, workers=2) as two:
        _idempotent_purchases(two, threads=16)
