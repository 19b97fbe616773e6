"""``inmail worker``: one pass with ``--once``, and a clean stop on SIGTERM and Ctrl-C."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inmail.bootstrap import build
from inmail.cli import app
from inmail.config import Settings
from inmail.domain.sequences import FollowUpRequest
from inmail.services.inmail import send_inmail
from inmail.services.members import create_member
from inmail.services.sequences import schedule_of_thread
from inmail.services.statements import get_credits
from tests.api.served import inmail_script, migrate, server_env

START = "2026-01-31T09:00:00Z"
START_AT = datetime.fromisoformat(START)  # the same moment, typed for Settings


def test_worker_once_renews_due_accounts_and_sends_due_follow_ups(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rt = build(Settings(database_url=db_url, test_clock=START_AT))
    try:
        now = rt.clock.now()
        sender = create_member(rt.deps, handle="ada", name="Ada", plan="premium_business", now=now)
        recipient = create_member(rt.deps, handle="bob", name="Bob", plan="basic", now=now)
        sent = send_inmail(
            rt.deps,
            sender_id=sender.id,
            to=recipient.id,
            subject="Hello",
            body="About the role?",
            now=now,
            follow_up=FollowUpRequest(7, "Any news?"),
        )
        assert rt.test_clock is not None
        rt.test_clock.advance(timedelta(days=30))  # past the follow-up and the Feb 28 renewal
        monkeypatch.setenv("INMAIL_DATABASE_URL", db_url)
        monkeypatch.setenv("INMAIL_TEST_CLOCK", START)
        with caplog.at_level(logging.INFO, logger="inmail"):
            ran = CliRunner().invoke(app, ["worker", "--once"])
        assert ran.exit_code == 0, ran.output
        assert (
            "renewed 1 cycle(s); scheduled follow-ups: 1 sent, 0 failed, 0 cancelled" in caplog.text
        )
        found = schedule_of_thread(rt.deps, member_id=sender.id, thread_id=sent.thread_id)
        assert found is not None
        assert (found.status, found.attempts) == ("sent", 1)
        # 25 granted, the InMail and its follow-up spent, then the renewal: min(75, 23 + 25)
        assert get_credits(rt.deps, member_id=sender.id, now=rt.clock.now()).balance == 48
    finally:
        rt.close()


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_stops_cleanly_on_sigterm_and_ctrl_c(
    tmp_path: Path, stop_with: signal.Signals
) -> None:
    env = server_env(f"sqlite:///{tmp_path / 'worker.db'}", test_clock=START)
    migrate(env)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [inmail_script(), "worker", "--interval", "0.05", "--verbose"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("pass at") < 2:  # it loops, pass after pass
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        worker.send_signal(stop_with)
        assert worker.wait(timeout=30) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    text = log.read_text()
    assert f"{stop_with.name}: stopping after the job in hand" in text
    assert text.rstrip().endswith("inmail.worker: worker stopped")
