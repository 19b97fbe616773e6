"""The served app is out of the garbage collector's reach (``create_app_from_env``).

Under 32 connections a full collection that walked every module, route and model of the
app paused all requests for about 100 ms once in a ten-second run: the tail of
``http_send_inmail_c32``. The cause is checked here (what a full collection must walk),
not a timing: in the process ``inmail serve`` builds, the app's objects are frozen and a
full collection walks only what requests made since.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from inmail.api.app import create_app
from inmail.config import Settings
from inmail.store import schema
from inmail.store.db import make_engine

PROBE = """
import gc, json
from inmail.api.app import create_app_from_env

app = create_app_from_env()
tracked = {id(o) for o in gc.get_objects()}  # the generations a collection walks
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "walked": len(tracked),
    "app_walked": id(app) in tracked,
    "router_walked": id(app.router) in tracked,
}))
"""


def _migrated(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()
    return url


def _probe(tmp_path: Path) -> dict[str, object]:
    env = os.environ | {
        "INMAIL_DATABASE_URL": _migrated(tmp_path / "served.db"),
        "INMAIL_ADMIN_TOKEN": "o" * 32,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_served_app_is_frozen_out_of_full_collections(tmp_path: Path) -> None:
    found = _probe(tmp_path)
    assert found["app_walked"] is False
    assert found["router_walked"] is False
    frozen, walked = found["frozen"], found["walked"]
    assert isinstance(frozen, int)
    assert isinstance(walked, int)
    # Nearly everything the process holds is frozen; a collection walks a small rest.
    assert frozen > 50_000
    assert walked < frozen / 10


def test_apps_built_in_a_process_are_not_frozen(tmp_path: Path) -> None:
    """The tests' own apps (create_app) stay collectable: see test_app_freed.py."""
    url = _migrated(tmp_path / "built.db")
    before = gc.get_freeze_count()
    app = create_app(Settings(database_url=url, admin_token="o" * 32))
    assert gc.get_freeze_count() == before
    assert any(o is app for o in gc.get_objects())
