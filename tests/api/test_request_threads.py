"""Requests' blocking work runs on as many threads as the database can use at once
(config.Settings.threads): anyio's default of 40 only made threads wait, for the one
SQLite writer or for a pooled connection, and contend for Python's GIL meanwhile."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import event

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import SQLITE_THREADS, Settings

ADMIN = "a" * 32


def _threads_of(settings: Settings) -> int:
    """The thread limit the app's event loop runs sync routes and dependencies under."""
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.portal is not None
        tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
        return int(tokens)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "inmail.db")
    return f"sqlite:///{tmp_path / 'inmail.db'}"


def test_sqlite_runs_requests_on_one_thread_by_default(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url)
    assert settings.request_threads == SQLITE_THREADS == 1
    assert _threads_of(settings) == 1


def test_the_setting_overrides_the_default(sqlite_url: str) -> None:
    assert _threads_of(Settings(database_url=sqlite_url, threads=7)) == 7


def test_postgresql_runs_as_many_threads_as_its_pool_has_connections() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1/none"
    assert Settings(database_url=url, pool_size=6).request_threads == 6
    assert Settings(database_url=url, pool_size=6, threads=12).request_threads == 12


@pytest.mark.parametrize("threads", [0, -1, 1001])
def test_a_thread_count_out_of_range_is_refused_naming_it(threads: int) -> None:
    with pytest.raises(ValidationError, match="threads"):
        Settings(threads=threads)


def _threads_running_database_work(settings: Settings) -> tuple[set[int], int]:
    """The threads that ran the statements of a credits read and of a send, and the event
    loop's thread."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    runtime = build(settings)
    seen: set[int] = set()

    def note(*_: Any) -> None:
        seen.add(threading.get_ident())

    with TestClient(create_app(runtime=runtime)) as client:
        assert client.portal is not None
        loop_thread = client.portal.call(threading.get_ident)
        ids = []
        for handle, plan in (("sender", "premium_business"), ("reader", "basic")):
            made = client.post(
                "/v1/admin/members",
                json={"handle": handle, "name": handle.title(), "plan": plan},
                headers=admin,
            )
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        token = client.post(f"/v1/admin/members/{ids[0]}/tokens", headers=admin).json()["token"]
        member = {"Authorization": f"Bearer {token}"}
        event.listen(runtime.deps.db.engine, "before_cursor_execute", note)
        assert client.get("/v1/me/credits", headers=member).status_code == 200
        body = {"to": ids[1], "subject": "Hello", "body": "A role you might like?"}
        sent = client.post("/v1/inmails", json=body, headers=member)
        assert sent.status_code == 201, sent.text
        event.remove(runtime.deps.db.engine, "before_cursor_execute", note)
    return seen, loop_thread


def test_with_one_thread_the_busiest_requests_use_the_database_on_the_event_loop(
    sqlite_url: str,
) -> None:
    """No hop to the one request thread and back: it cost more than a credits read itself."""
    settings = Settings(database_url=sqlite_url, admin_token=ADMIN)
    seen, loop_thread = _threads_running_database_work(settings)
    assert seen == {loop_thread}


def test_with_more_threads_they_use_the_database_on_the_pool(sqlite_url: str) -> None:
    """The loop never waits on the database when requests have threads to run on."""
    settings = Settings(database_url=sqlite_url, admin_token=ADMIN, threads=2)
    seen, loop_thread = _threads_running_database_work(settings)
    assert seen
    assert loop_thread not in seen
