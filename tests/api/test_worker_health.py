"""``inmail worker``: what ``--once`` prints, the health file and ``--check-health``, and a
SIGTERM in the middle of a pass (a real process): the pass finishes, the process exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from inmail.bootstrap import Runtime, build
from inmail.cli import app
from inmail.config import Settings
from inmail.domain.sequences import FollowUpRequest
from inmail.services.inmail import send_inmail
from inmail.services.members import create_member
from inmail.store.tables import scheduled_followups
from inmail.worker import write_health
from tests import processes
from tests.api.served import inmail_script, migrate, own_postgres_database, server_env

START = "2026-01-31T09:00:00Z"
START_AT = datetime.fromisoformat(START)  # the same moment, typed for Settings


def _invoke(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> Result:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, ["worker", *args])


def test_once_prints_the_pass_and_writes_a_health_file_the_check_accepts(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    health = tmp_path / "health.json"
    env = {
        "INMAIL_DATABASE_URL": db_url,
        "INMAIL_TEST_CLOCK": START,
        "INMAIL_WORKER_HEALTH_FILE": str(health),
    }
    ran = _invoke(monkeypatch, env, "--once")
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.startswith("pass at 2026-01-31T09:00:00Z: renewed 0 cycle(s)")
    assert "notices: 0 written (0 member(s) checked); idempotency keys pruned: 0" in ran.stdout
    written = json.loads(health.read_text())
    assert written["pid"] == os.getpid()
    assert (written["ok"], written["pass_at"], written["error"]) == (True, START, None)
    assert written["did"]["notices"] == {"checked": 0, "written": 0}
    assert written["did"]["idempotency_keys_pruned"] == 0
    assert written["report"] == ran.stdout.strip()
    checked = _invoke(monkeypatch, env, "--check-health")
    assert checked.exit_code == 0, checked.output
    assert f"healthy: {health}" in checked.stdout


def test_the_check_fails_on_a_stale_failed_missing_or_unset_health_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    health = tmp_path / "health.json"
    env = {"INMAIL_WORKER_HEALTH_FILE": str(health)}
    missing = _invoke(monkeypatch, env, "--check-health")
    assert missing.exit_code == 1
    assert "unhealthy: cannot read" in missing.stderr
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    write_health(health, {"written_at": an_hour_ago, "pid": 1, "ok": True, "error": None})
    stale = _invoke(monkeypatch, env, "--check-health", "--max-age", "600")
    assert stale.exit_code == 1
    assert "unhealthy: the last pass ended 3600 s ago (more than 600 s)" in stale.stderr
    assert _invoke(monkeypatch, env, "--check-health", "--max-age", "7200").exit_code == 0
    health.write_text("not json")
    garbled = _invoke(monkeypatch, env, "--check-health")
    assert garbled.exit_code == 1
    assert "not one inmail worker wrote" in garbled.stderr
    monkeypatch.delenv("INMAIL_WORKER_HEALTH_FILE")
    unset = CliRunner().invoke(app, ["worker", "--check-health"])
    assert unset.exit_code == 1
    assert "INMAIL_WORKER_HEALTH_FILE is not set" in unset.stderr


def test_a_failed_pass_is_written_and_the_check_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    health = tmp_path / "health.json"
    env = {  # a database never migrated: the pass fails on its first query
        "INMAIL_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "INMAIL_WORKER_HEALTH_FILE": str(health),
    }
    ran = _invoke(monkeypatch, env, "--once")
    assert ran.exit_code == 1
    written = json.loads(health.read_text())
    assert (written["ok"], written["did"]) == (False, None)
    assert written["error"].startswith("OperationalError")
    checked = _invoke(monkeypatch, env, "--check-health")
    assert checked.exit_code == 1
    assert "unhealthy: the last pass failed: OperationalError" in checked.stderr


SENDERS = 6
RECIPIENTS = 25  # 150 scheduled follow-ups: a pass long enough to be stopped in


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.db'}"
        return
    with own_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


def _seed(rt: Runtime) -> None:
    """SENDERS x RECIPIENTS InMails with a follow-up after 7 days; the clock then 8 days on."""
    now = rt.clock.now()
    senders = [
        create_member(rt.deps, handle=f"s{i}", name="Sender", plan="recruiter_corporate", now=now)
        for i in range(SENDERS)
    ]
    for r in range(RECIPIENTS):
        recipient = create_member(rt.deps, handle=f"r{r}", name="R", plan="basic", now=now)
        for sender in senders:
            send_inmail(
                rt.deps,
                sender_id=sender.id,
                to=recipient.id,
                subject="Hello",
                body="About the role?",
                now=now,
                follow_up=FollowUpRequest(7, "Any news?"),
            )
    assert rt.test_clock is not None
    rt.test_clock.advance(timedelta(days=8))


def _statuses(rt: Runtime) -> Counter[str]:
    query = select(scheduled_followups.c.status, func.count()).group_by(
        scheduled_followups.c.status
    )
    with rt.deps.db.read() as conn:
        return Counter({row[0]: int(row[1]) for row in conn.execute(query)})


def test_sigterm_mid_pass_finishes_the_pass_reports_it_and_exits_0(
    database_url: str, tmp_path: Path
) -> None:
    health = tmp_path / "health.json"
    env = server_env(database_url, test_clock=START) | {"INMAIL_WORKER_HEALTH_FILE": str(health)}
    migrate(env)
    rt = build(Settings(database_url=database_url, test_clock=START_AT))
    log = tmp_path / "worker.log"
    try:
        _seed(rt)
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [inmail_script(), "worker", "--interval", "30"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 120
            while _statuses(rt)["sent"] < 1:  # the first pass is under way
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.01)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, log.read_text()
        finally:
            if worker.poll() is None:
                processes.kill_group(worker)
        statuses = _statuses(rt)
        text = log.read_text()
        # What it had begun, it finished; what it had claimed but not begun, it gave back.
        assert set(statuses) <= {"sent", "pending"}, statuses
        assert statuses["pending"] > 0, "the pass was over before the signal"
        assert "SIGTERM: stopping after the job in hand" in text
        assert text.count("pass at 2026-02-08T09:00:00Z") == 1, text  # the pass was reported
        assert f"scheduled follow-ups: {statuses['sent']} sent" in text
        assert "notices: not swept this pass; idempotency keys pruned: 0" in text
        assert text.rstrip().endswith("inmail.worker: worker stopped")
        written = json.loads(health.read_text())
        assert (written["ok"], written["pass_at"]) == (True, "2026-02-08T09:00:00Z")
        assert written["did"]["follow_ups"]["sent"] == statuses["sent"]
    finally:
        rt.close()
