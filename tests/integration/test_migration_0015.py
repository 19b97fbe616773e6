"""Migration 0015 on a database holding members and tokens from before it (SQLite and
PostgreSQL): each old token gets a public id named after its hash, each member the UTC time
zone; the invitation links' table is there; and the downgrade undoes it all."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from inmail.store import schema
from inmail.store.db import make_engine
from tests.api.served import own_postgres_database
from tests.conftest import T0

OLD_HASH = hashlib.sha256(b"imt_an old token").hexdigest()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated only to 0013, with one member and one token, as that app wrote them."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:  # a database of its own: the session's is at the newest migration
            url = stack.enter_context(
                own_postgres_database(request.getfixturevalue("postgres_url"))
            )
        engine = make_engine(url)
        stack.callback(engine.dispose)
        schema.upgrade(engine, "0013")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO members (id, handle, name, interests, created_at) "
                    "VALUES ('m_old', 'old', 'Old Member', '[]', :at)"
                ),
                {"at": T0},
            )
            conn.execute(
                text(
                    "INSERT INTO member_tokens (token_hash, member_id, created_at) "
                    "VALUES (:hash, 'm_old', :at)"
                ),
                {"hash": OLD_HASH, "at": T0},
            )
        yield engine


def test_old_tokens_get_ids_and_members_the_utc_time_zone(at_0013: Engine) -> None:
    schema.upgrade(at_0013, "0015")
    with at_0013.connect() as conn:
        token_id = conn.execute(text("SELECT id FROM member_tokens")).scalar_one()
        zone = conn.execute(text("SELECT time_zone FROM members")).scalar_one()
    assert token_id == "tok_" + OLD_HASH[:16]
    assert zone == "UTC"
    tables = inspect(at_0013).get_table_names()
    assert "member_invitation_links" in tables
    with at_0013.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(  # a second token with the same id is refused
            text(
                "INSERT INTO member_tokens (token_hash, member_id, created_at, id) "
                "VALUES ('other', 'm_old', :at, :id)"
            ),
            {"at": T0, "id": token_id},
        )


def test_the_downgrade_undoes_it(at_0013: Engine) -> None:
    schema.upgrade(at_0013, "0015")
    _downgrade(at_0013)
    inspector = inspect(at_0013)
    assert "member_invitation_links" not in inspector.get_table_names()
    assert "id" not in {c["name"] for c in inspector.get_columns("member_tokens")}
    assert "time_zone" not in {c["name"] for c in inspector.get_columns("members")}
    with at_0013.connect() as conn:
        assert conn.execute(text("SELECT token_hash FROM member_tokens")).scalar_one() == OLD_HASH


def _downgrade(engine: Engine) -> None:
    with engine.begin() as conn:
        config = schema.alembic_config(engine)
        config.attributes["connection"] = conn
        command.downgrade(config, "0013")
