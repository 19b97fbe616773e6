"""`kill -9` of `inmail worker` mid-pass: no scheduled follow-up lost, none sent or charged twice.

Per engine, one database: senders each send InMails with a scheduled follow-up
(through the services), the test clock moves past their due time, and a real
``inmail worker`` process starts sending them. Twice, when a share of them is
sent, the worker's whole process group is SIGKILLed (it holds claimed follow-ups
it has not sent); right after each kill every follow-up is all or nothing (sent
with its message and its one spend, or pending with neither). A new worker is
started after the first kill; after the second, two ``inmail worker --once``
processes run at once while the dead worker's claims still hold (they take the
rest, not those), then two more once the lease has run out on the test clock.
Then every follow-up was sent exactly once, each with one spend, the balances
are the grant minus two credits per recipient, and the audit is clean.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.domain.sequences import FollowUpRequest
from inmail.services.audit import run_audit
from inmail.services.inmail import send_inmail
from inmail.services.members import create_member
from inmail.store.tables import ledger_entries, messages, scheduled_followups
from tests import processes
from tests.api.served import inmail_script, migrate, own_postgres_database, server_env
from tests.helpers import balance

SENDERS = 6
RECIPIENTS = 25  # 150 follow-ups
PLAN = "recruiter_corporate"  # 75 credits: an InMail and a follow-up to each recipient
CREDITS = 75
START = "2026-01-31T09:00:00Z"
START_AT = datetime.fromisoformat(START)  # the same moment, typed for Settings
KILL_AT = (0.25, 0.6)  # shares of the follow-ups sent when the worker is killed
LEASE_S = 120
WAIT_S = 120.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.db'}"
        return
    with own_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


def _seed(rt: Runtime) -> list[str]:
    """SENDERS x RECIPIENTS InMails with a follow-up after 7 days; the clock then 8 days on."""
    now = rt.clock.now()
    senders = [
        create_member(rt.deps, handle=f"s{i}", name="Sender", plan=PLAN, now=now).id
        for i in range(SENDERS)
    ]
    recipients = [
        create_member(rt.deps, handle=f"r{i}", name="Recipient", plan="basic", now=now).id
        for i in range(RECIPIENTS)
    ]
    for recipient in recipients:
        for sender in senders:
            send_inmail(
                rt.deps,
                sender_id=sender,
                to=recipient,
                subject="Hello",
                body="About the role?",
                now=now,
                follow_up=FollowUpRequest(7, "Any news?"),
            )
    assert rt.test_clock is not None
    rt.test_clock.advance(timedelta(days=8))
    return senders


def _statuses(rt: Runtime) -> Counter[str]:
    query = select(scheduled_followups.c.status, func.count()).group_by(
        scheduled_followups.c.status
    )
    with rt.deps.db.read() as conn:
        return Counter({row[0]: int(row[1]) for row in conn.execute(query)})


def _start_worker(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [inmail_script(), "worker", "--interval", "0.05", *extra],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill reaches all of it
        )


def _kill_when_sent(rt: Runtime, worker: subprocess.Popen[bytes], sent: int, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while _statuses(rt)["sent"] < sent:
        assert worker.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"fewer than {sent} sent:\n{log.read_text()}"
        time.sleep(0.01)
    processes.kill_group(worker)


def _run_once_twice_at_once(env: dict[str, str], log: Path) -> None:
    runs = [_start_worker(env, log, "--once") for _ in range(2)]
    for run in runs:
        assert run.wait(timeout=WAIT_S) == 0, log.read_text()


def _check_all_or_nothing(rt: Runtime) -> None:
    """Each follow-up: sent with its one message and one spend, or pending with neither."""
    with rt.deps.db.read() as conn:
        schedules = list(conn.execute(select(scheduled_followups)))
        followups = Counter(
            conn.execute(select(messages.c.id).where(messages.c.kind == "followup")).scalars()
        )
        spends = Counter(
            conn.execute(
                select(ledger_entries.c.reference).where(ledger_entries.c.kind == "spend")
            ).scalars()
        )
    assert sum(followups.values()) == sum(1 for s in schedules if s.status == "sent")
    for s in schedules:
        assert s.status in ("sent", "pending"), (s.status, s.reason)
        if s.status == "sent":
            assert followups[s.message_id] == 1
            assert spends[f"inmail:{s.message_id}"] == 1
        else:
            assert s.message_id is None
    assert all(count == 1 for count in spends.values())


def test_kill_9_of_the_worker_mid_pass_loses_no_follow_up_and_charges_none_twice(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, test_clock=START) | {"INMAIL_JOB_LEASE_SECONDS": str(LEASE_S)}
    migrate(env)
    rt = build(Settings(database_url=database_url, test_clock=START_AT, job_lease_seconds=LEASE_S))
    log = tmp_path / "worker.log"
    try:
        senders = _seed(rt)
        total = SENDERS * RECIPIENTS
        for share in KILL_AT:
            _kill_when_sent(rt, _start_worker(env, log), int(total * share), log)
            _check_all_or_nothing(rt)
            assert _statuses(rt)["pending"] > 0, "the worker was done before the kill"
        _run_once_twice_at_once(env, log)  # the claims of the killed worker still hold
        _check_all_or_nothing(rt)
        assert rt.test_clock is not None
        rt.test_clock.advance(timedelta(seconds=LEASE_S))
        _run_once_twice_at_once(env, log)
        assert _statuses(rt) == Counter({"sent": total}), log.read_text()
        _check_all_or_nothing(rt)
        now = rt.clock.now()
        for sender in senders:
            assert balance(rt.deps, sender, now) == CREDITS - 2 * RECIPIENTS
        assert run_audit(rt.deps) == []
    finally:
        rt.close()
