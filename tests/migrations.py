"""What every migration test needs: a database of its own at an older revision, on each
engine, and a way down (each migration is tested down and up again on both engines)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine

from inmail.store import schema
from inmail.store.db import Database, make_engine
from tests.api.served import own_postgres_database

ENGINES: list[Any] = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""A fixture's params: each migration test runs on a SQLite file and a PostgreSQL database."""


@contextmanager
def database_at(
    request: pytest.FixtureRequest, tmp_path: Path, revision: str
) -> Iterator[Database]:
    """A new database on the engine ``request.param`` names, migrated up to ``revision``.

    On PostgreSQL it is a database of its own (the session's is at the newest migration),
    dropped afterwards; on SQLite a file in ``tmp_path``.
    """
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(
                own_postgres_database(request.getfixturevalue("postgres_url"))
            )
        db = Database(make_engine(url))
        stack.callback(db.dispose)
        schema.upgrade(db.engine, revision)
        yield db


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate ``engine``'s database down to ``revision`` (Alembic, in one transaction)."""
    config = schema.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
