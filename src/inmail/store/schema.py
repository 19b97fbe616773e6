"""Migrations: the only way the schema reaches a database."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Made by migrations for one engine only, so not in ``tables.metadata``: the search index's
# FTS5 tables (and their shadow tables) on SQLite and its GIN indexes on PostgreSQL; the
# outbox's (tx, seq) index on PostgreSQL (migration 0024).
ENGINE_SPECIFIC = (
    "member_search_fts",
    "group_search_fts",
    "ix_member_search_document",
    "ix_group_search_document",
    "ix_outbox_events_tx",
)


def include_object(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter when comparing the tables with a database: the engine's own objects
    (:data:`ENGINE_SPECIFIC`) are left out."""
    return not (name and name.startswith(ENGINE_SPECIFIC))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision id (read from the migration files once a process)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    return MigrationContext.configure(conn).get_current_revision()
