"""An app that has shut down is freed, with its runtime and engine.

FastAPI keeps the endpoints it has seen in a process-wide cache (4,096 of them). An endpoint
defined per app that closed over the app (``/docs`` did, for its title) kept every app the
process ever made alive: 3 MB each, 4.8 GB by the end of the test suite, and minutes of
garbage collection at exit. A process that builds apps (the tests; a server that reloads)
must not grow with each one.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.store import schema
from inmail.store.db import make_engine

TOKEN = "o" * 32


def _served_once(url: str) -> tuple[weakref.ref[object], weakref.ref[object]]:
    """Build an app, serve every page kind it has once (an API route, the docs, a web page),
    shut it down; weak references to the app and its engine."""
    runtime = build(Settings(database_url=url, admin_token=TOKEN))
    app = create_app(runtime=runtime)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/docs").status_code == 200
        assert "inmail" in client.get("/docs").text
        assert client.get("/v1/me/credits").status_code == 401
        assert client.get("/login").status_code == 200
    return weakref.ref(app), weakref.ref(runtime.deps.db.engine)


def test_an_app_that_shut_down_is_freed_with_its_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'freed.db'}"
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    made = [_served_once(url) for _ in range(3)]
    gc.collect()
    assert [(app() is None, engine() is None) for app, engine in made] == [(True, True)] * 3
