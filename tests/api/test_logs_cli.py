"""Log lines as operators' collectors read them: ``inmail worker --log-format json``, and
the JSON formatter's fields (observe/logs.py)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from inmail.observe.logs import JsonFormatter, RequestIdFilter, request_id
from tests.api.served import inmail_script, migrate, server_env


def test_the_worker_logs_one_json_object_a_line_when_asked(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 'worker.db'}", test_clock="2026-01-31T09:00:00Z")
    migrate(env)
    done = subprocess.run(
        [inmail_script(), "worker", "--once", "--verbose", "--log-format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    worker = [line for line in lines if line["logger"] == "inmail.worker"]
    assert worker[0]["message"] == "worker started for one pass"
    assert any(line["message"].startswith("pass at 2026-01-31T09:00:00Z") for line in worker)
    assert all(line["request_id"] is None and line["time"].endswith("Z") for line in worker)


def test_the_setting_chooses_the_format_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 'worker.db'}") | {"INMAIL_LOG_FORMAT": "json"}
    migrate(env)
    ran = subprocess.run(
        [inmail_script(), "worker", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stderr.splitlines()[0])["logger"] == "inmail.worker"
    wrong = subprocess.run(
        [inmail_script(), "worker", "--once", "--log-format", "xml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 2
    told = " ".join(wrong.stderr.replace("│", " ").split())
    assert "Invalid value for '--log-format'" in told
    assert "'xml' is not one of 'text', 'json'" in told


def test_a_json_line_carries_the_request_id_extra_fields_and_the_exception() -> None:
    record = logging.LogRecord("inmail.api", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
    record.thread_id = "th_1"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    token = request_id.set("req-9")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("ERROR", "inmail.api", "failed x")
    assert (line["request_id"], line["thread_id"]) == ("req-9", "th_1")
    assert "ValueError: boom" in line["exception"]
