"""The API served for real: ``inmail serve`` in a subprocess, hit from many threads at once.

The in-process TestClient runs one request at a time, so it cannot show what
happens when requests really overlap. Here the server is the real command:
``inmail db upgrade`` then ``inmail serve`` on a free port of 127.0.0.1, with
its settings in the environment, on SQLite and on PostgreSQL. Threads released
together by a barrier race each other over their own keep-alive connections.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text

from inmail.store.tables import metadata
from tests.api import served
from tests.api.served import ADMIN_TOKEN, START_TIMEOUT_S, own_postgres_database

TEST_CLOCK = "2026-01-31T09:00:00Z"
REQUEST_TIMEOUT_S = 30.0
PLAN = "premium_business"  # 25 credits a month, packs allowed
KEEP_ALIVE_DELAY_S = 0.040  # Linux's shortest delayed ACK
_handles = itertools.count(1)


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
    env = served.server_env(database_url, TEST_CLOCK)
    served.migrate(env)
    with served.serving(env, tmp_path, workers) as process:
        yield Server(process.base_url, process.log)


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


def test_concurrent_inmails_to_one_recipient_answer_one_201_and_the_rest_409(
    server: Server,
) -> None:
    """SPEC §4: one InMail awaiting a response per pair; the losers are charged nothing."""
    sender, recipient = server.member(), server.member()
    body = {"to": server.get("/v1/me", recipient)["id"], "subject": "Hi", "body": "A chat?"}
    answers = race(server, 8, lambda c: c.post("/v1/inmails", json=body, headers=sender))
    assert sorted(status for status, _ in answers) == [201] + [409] * 7, answers
    sent = next(answer for status, answer in answers if status == 201)
    refused = [answer for status, answer in answers if status == 409]
    assert {(r["code"], r["thread_id"]) for r in refused} == {
        ("inmail-already-awaiting-response", sent["thread_id"])
    }
    ledger = server.get("/v1/me/credits/ledger", sender)["items"]
    assert [(e["kind"], e["reference"]) for e in ledger if e["kind"] == "spend"] == [
        ("spend", f"inmail:{sent['id']}")
    ]
    assert server.get("/v1/me/credits", sender)["balance"] == 25 - 1
    assert len(server.get("/v1/threads", sender)["items"]) == 1
    server.assert_audit_clean()


@pytest.mark.postgres
def test_two_worker_processes_share_one_idempotency_key(postgres_url: str, tmp_path: Path) -> None:
    # Its own database: the module's one-worker server may still be serving the session's.
    with own_postgres_database(postgres_url) as url, serving(url, tmp_path, workers=2) as two:
        _idempotent_purchases(two, threads=16)


def test_keep_alive_requests_to_several_workers_are_not_delayed(tmp_path: Path) -> None:
    # With --workers, uvicorn left Nagle's algorithm on (see inmail.serving): every request
    # after the first on a connection waited for the client's delayed ACK, 40 ms or more.
    url = f"sqlite:///{tmp_path / 'nodelay.db'}"
    with serving(url, tmp_path, workers=2) as two, two.client() as client:
        seconds = [_timed_health_check(client) for _ in range(21)]
    assert statistics.median(seconds) < KEEP_ALIVE_DELAY_S / 2, seconds


def _timed_health_check(client: httpx2.Client) -> float:
    start = time.perf_counter()
    answer = client.get("/healthz")
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - start
