"""Requests' blocking work runs on as many threads as the database can use at once
(config.Settings.threads): anyio's default of 40 only made threads wait, for the one
SQLite writer or for a pooled connection, and contend for Python's GIL meanwhile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from pydantic import ValidationError

from inmail.api.app import create_app
from inmail.config import SQLITE_THREADS, Settings


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
