"""`kill -9` of a real server mid-load: no acknowledged send lost, none charged twice.

SPEC §3 (durability: a spend acknowledged to a client survives a crash) and
§4 (the message and its spend exist together or not at all; a retried send
with its ``Idempotency-Key`` returns the first result). Per engine, one
database (PostgreSQL also through pgbouncer in transaction pooling mode) and ``inmail
serve`` with two worker processes; three rounds, each:

1. new senders (on a paid plan) and recipients, so every (sender, recipient)
   pair gets at most one InMail (SPEC §4: one awaiting InMail per pair);
2. ``THREADS`` threads send InMails, each with its own key, until a share of
   the round's sends is acknowledged (201), then the server's whole process
   group is SIGKILLed while requests are in flight;
3. the server starts again on the same database, and the checks run:
   every acknowledged send is there with one spend and the balances are the
   grant minus the persisted sends; every unanswered request retried with
   its key, then every key has one thread and one spend, an acknowledged
   key answers its first body, and the audit is clean.

The next round runs on the restarted server, so later rounds also check
that the earlier crashes left nothing behind that the audit would see.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.api.served import (
    ADMIN_TOKEN,
    ServeProcess,
    migrate,
    own_postgres_database,
    server_env,
    serving,
)
from tests.conftest import WITH_PGBOUNCER, through_pgbouncer

WORKERS = 2
THREADS = 16
SENDERS = 12
RECIPIENTS = 12  # SENDERS x RECIPIENTS sends a round, at most one per pair
PLAN = "recruiter_corporate"  # 75 credits a cycle: more than a sender's RECIPIENTS sends
KILL_AFTER = (0.25, 0.45, 0.65)  # a round's share of sends acknowledged before its kill
REQUEST_TIMEOUT_S = 10.0
LOAD_TIMEOUT_S = 60.0  # bounds the wait for the kill point; the load itself takes seconds
RETRY_ATTEMPTS = 3  # a retry may itself meet a 503 `busy` (docs/rules.md: retry with the key)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass(frozen=True)
class Member:
    id: str
    auth: dict[str, str]


@dataclass(frozen=True)
class Send:
    """One ``POST /v1/inmails`` and its key, the same on every retry."""

    sender: Member
    to: str
    key: str

    @property
    def body(self) -> dict[str, str]:
        return {"to": self.to, "subject": f"Hello ({self.key})", "body": "About the role?"}

    @property
    def headers(self) -> dict[str, str]:
        return {**self.sender.auth, "Idempotency-Key": self.key}


@dataclass
class Outcome:
    """What the clients saw of one round's load."""

    acknowledged: list[tuple[Send, Any]] = field(default_factory=list)  # a 201 and its body
    unanswered: list[Send] = field(default_factory=list)  # reset, refused or timed out
    refused: list[tuple[Send, int, str]] = field(default_factory=list)  # any other status

    @property
    def finished(self) -> int:
        return len(self.acknowledged) + len(self.unanswered) + len(self.refused)


@pytest.fixture(params=WITH_PGBOUNCER)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file, or a throwaway PostgreSQL database,
    directly or through pgbouncer in transaction pooling mode (the production shape,
    docs/rules.md: its URL ends in ``?pgbouncer=true``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    with own_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url if request.param == "postgres" else through_pgbouncer(request, url)


def test_kill_9_mid_load_loses_no_acknowledged_send_and_charges_none_twice(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url)
    migrate(env)
    with serving(env, tmp_path, workers=WORKERS) as server:
        for round_no, share in enumerate(KILL_AFTER):
            _crash_round(server, round_no, share)


def _crash_round(server: ServeProcess, round_no: int, share: float) -> None:
    with _client(server) as client:
        senders, recipients = _members(client, round_no)
        grants = {s.id: _balance(client, s) for s in senders}
    sends = [
        Send(sender, to.id, f"r{round_no}-{sender.id}-{to.id}")
        for to in recipients
        for sender in senders  # recipient by recipient: every sender is busy all along
    ]
    outcome = _load_until_killed(server, sends, kill_after=int(len(sends) * share))
    assert outcome.refused == [], outcome.refused
    assert outcome.unanswered, "nothing was in flight when the server was killed"
    server.start()
    with _client(server) as client:
        _check_acknowledged_and_balances(client, senders, grants, outcome)
        answers = _retry_every_key(client, outcome)
        _check_one_send_per_key(client, senders, grants, answers)
        _assert_audit_clean(client)


def _client(server: ServeProcess) -> httpx2.Client:
    return httpx2.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False)


def _members(client: httpx2.Client, round_no: int) -> tuple[list[Member], list[Member]]:
    senders = [_member(client, f"r{round_no}-s{i}", PLAN) for i in range(SENDERS)]
    recipients = [_member(client, f"r{round_no}-r{i}", "basic") for i in range(RECIPIENTS)]
    return senders, recipients


def _member(client: httpx2.Client, handle: str, plan: str) -> Member:
    body = {"handle": handle, "name": "Crash Tester", "plan": plan}
    created = client.post("/v1/admin/members", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    token = client.post(f"/v1/admin/members/{member_id}/tokens", headers=ADMIN)
    assert token.status_code == 201, token.text
    return Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})


def _load_until_killed(server: ServeProcess, sends: list[Send], kill_after: int) -> Outcome:
    """``THREADS`` threads send ``sends`` in order; at ``kill_after`` 201s the server is killed.

    The threads stop taking new sends as the server is killed: the requests
    then in flight (being read, run or answered) get no answer.
    """
    outcome = Outcome()
    pending = iter(sends)
    progress = threading.Condition()
    killed = threading.Event()

    def next_send() -> Send | None:
        with progress:
            return None if killed.is_set() else next(pending, None)

    def sender_thread() -> None:
        with _client(server) as client:
            while (send := next_send()) is not None:
                _send_once(client, send, outcome, progress)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        threads = [pool.submit(sender_thread) for _ in range(THREADS)]
        with progress:
            reached = progress.wait_for(
                lambda: len(outcome.acknowledged) >= kill_after or outcome.finished == len(sends),
                timeout=LOAD_TIMEOUT_S,
            )
        killed.set()
        server.kill()
        for thread in threads:
            thread.result()
    assert reached, f"only {len(outcome.acknowledged)} sends acknowledged in {LOAD_TIMEOUT_S:g} s"
    return outcome


def _send_once(
    client: httpx2.Client, send: Send, outcome: Outcome, progress: threading.Condition
) -> None:
    try:
        answer = client.post("/v1/inmails", json=send.body, headers=send.headers)
    except httpx2.TransportError:
        with progress:
            outcome.unanswered.append(send)
            progress.notify_all()
        return
    with progress:
        if answer.status_code == 201:
            outcome.acknowledged.append((send, answer.json()))
        else:
            outcome.refused.append((send, answer.status_code, answer.text))
        progress.notify_all()


def _check_acknowledged_and_balances(
    client: httpx2.Client, senders: list[Member], grants: dict[str, int], outcome: Outcome
) -> None:
    """After the restart: each acknowledged send has its thread and one spend; balances add up."""
    acknowledged = {
        (send.sender.id, body["thread_id"], body["id"]) for send, body in outcome.acknowledged
    }
    for sender in senders:
        threads = _sent_threads(client, sender)
        spends = _spend_references(client, sender)
        mine = [(t, m) for s, t, m in acknowledged if s == sender.id]
        assert {t for t, _ in mine} <= set(threads), "an acknowledged InMail was lost"
        assert all(spends.count(f"inmail:{m}") == 1 for _, m in mine), spends
        # Each persisted send (acknowledged or not) has its one spend, and nothing else was spent.
        assert len(spends) == len(threads) == len(set(spends))
        assert _balance(client, sender) == grants[sender.id] - len(threads)


def _retry_every_key(client: httpx2.Client, outcome: Outcome) -> list[tuple[Send, Any]]:
    """Every key sent again with its request: each answers 201; an acknowledged one, its first body.

    Returns each send with the answer to its retry.
    """
    answers = [(send, _retry(client, send)) for send in outcome.unanswered]
    for send, first in outcome.acknowledged:
        again = _retry(client, send)
        assert again == first, f"{send.key}: a retry of an acknowledged send changed its answer"
        answers.append((send, again))
    return answers


def _retry(client: httpx2.Client, send: Send) -> Any:
    for _attempt in range(RETRY_ATTEMPTS):
        answer = client.post("/v1/inmails", json=send.body, headers=send.headers)
        if answer.status_code != 503:
            break
    assert answer.status_code == 201, (send.key, answer.status_code, answer.text)
    return answer.json()


def _check_one_send_per_key(
    client: httpx2.Client,
    senders: list[Member],
    grants: dict[str, int],
    answers: list[tuple[Send, Any]],
) -> None:
    """Each key sent: exactly one thread and one spend; nothing else was sent or spent."""
    by_sender: dict[str, list[Any]] = {s.id: [] for s in senders}
    for send, body in answers:
        by_sender[send.sender.id].append(body)
    for sender in senders:
        bodies = by_sender[sender.id]
        assert Counter(_sent_threads(client, sender)) == Counter(b["thread_id"] for b in bodies)
        assert Counter(_spend_references(client, sender)) == Counter(
            f"inmail:{b['id']}" for b in bodies
        )
        assert _balance(client, sender) == grants[sender.id] - len(bodies)


def _get_all(client: httpx2.Client, path: str, member: Member) -> list[Any]:
    """Every item of a paged list (``{items, next_cursor}``)."""
    items: list[Any] = []
    params: dict[str, str] = {"limit": "200"}
    while True:
        page = client.get(path, params=params, headers=member.auth)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items
        params["cursor"] = cursor


def _sent_threads(client: httpx2.Client, sender: Member) -> list[str]:
    threads = _get_all(client, "/v1/threads", sender)
    return [t["id"] for t in threads if t["kind"] == "inmail" and t["participants"][0] == sender.id]


def _spend_references(client: httpx2.Client, member: Member) -> list[str]:
    entries = _get_all(client, "/v1/me/credits/ledger", member)
    return [e["reference"] for e in entries if e["kind"] == "spend"]


def _balance(client: httpx2.Client, member: Member) -> int:
    credits = client.get("/v1/me/credits", headers=member.auth)
    assert credits.status_code == 200, credits.text
    balance: int = credits.json()["balance"]
    return balance


def _assert_audit_clean(client: httpx2.Client) -> None:
    audit = client.get("/v1/admin/audit", headers=ADMIN)
    assert audit.status_code == 200, audit.text
    assert audit.json() == {"ok": True, "problems": []}
