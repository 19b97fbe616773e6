"""Migration 0029 keys ``spends`` by its reference on both engines, with the id a plain column;
it goes down and up again with the rows kept.

tests/integration/test_sqlite_pages.py holds what this is for: one b-tree fewer per spend.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from inmail.store import schema
from inmail.store.db import Database
from inmail.store.tables import spends
from tests.migrations import ENGINES, database_at, downgrade

AT = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
def at_0028(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0028") as db:
        yield db


def _spend(conn: Connection, spend_id: str, reference: str, *, seat: str | None = None) -> None:
    conn.execute(
        insert(spends).values(
            id=spend_id, member_id="m1", reference=reference, cost=1, at=AT, seat_member_id=seat
        )
    )


def _rows(db: Database) -> list[tuple[str, str, str | None]]:
    with db.engine.connect() as conn:
        found = conn.execute(
            select(spends.c.reference, spends.c.id, spends.c.seat_member_id).order_by(
                spends.c.reference
            )
        )
        return [(r.reference, r.id, r.seat_member_id) for r in found]


def _key(db: Database) -> list[str]:
    return list(inspect(db.engine).get_pk_constraint("spends")["constrained_columns"])


def _unique(db: Database) -> list[list[str]]:
    return [list(u["column_names"]) for u in inspect(db.engine).get_unique_constraints("spends")]


def _refused(db: Database, spend_id: str, reference: str) -> bool:
    try:
        with db.engine.begin() as conn:
            _spend(conn, spend_id, reference)
    except IntegrityError:
        return True
    return False


def test_the_reference_becomes_the_key_and_rows_survive_down_and_up(at_0028: Database) -> None:
    db = at_0028
    with db.engine.begin() as conn:
        _spend(conn, "sp_1", "inmail:msg_1")
        _spend(conn, "sp_2", "inmail:msg_2", seat="m2")
    before = [("inmail:msg_1", "sp_1", None), ("inmail:msg_2", "sp_2", "m2")]
    assert (_key(db), _unique(db)) == (["id"], [["reference"]])

    schema.upgrade(db.engine, "0029")
    assert (_key(db), _unique(db)) == (["reference"], [])
    assert _rows(db) == before
    assert _refused(db, "sp_3", "inmail:msg_1")  # one spend per reference, as before

    downgrade(db.engine, "0028")
    assert (_key(db), _unique(db)) == (["id"], [["reference"]])
    assert _rows(db) == before
    assert _refused(db, "sp_1", "inmail:msg_9")  # the id is the key again
    assert _refused(db, "sp_9", "inmail:msg_2")

    schema.upgrade(db.engine, "0029")
    assert _key(db) == ["reference"]
    assert _rows(db) == before


@pytest.fixture(params=["sqlite"])
def sqlite_at_0028(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0028") as db:
        yield db


def test_sqlite_spends_stay_without_rowid_with_their_check_and_seat_index(
    sqlite_at_0028: Database,
) -> None:
    db = sqlite_at_0028
    schema.upgrade(db.engine, "0029")
    with db.engine.connect() as conn:
        defined = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'spends'")
        ).scalar_one()
        autoindexes = conn.execute(
            text("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'spends' AND sql IS NULL")
        ).scalar_one()
    assert " ".join(str(defined).split()).upper().endswith("WITHOUT ROWID")
    assert autoindexes == 0  # the key is the table itself: no b-tree beside it
    seats = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("spends")}
    assert seats["ix_spends_seat_member_id_at"]["column_names"] == ["seat_member_id", "at"]
    assert "seat_member_id IS NOT NULL" in str(
        seats["ix_spends_seat_member_id_at"]["dialect_options"]["sqlite_where"]
    )
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            insert(spends).values(id="sp_n", member_id="m1", reference="r", cost=-1, at=AT)
        )
    assert _rows(db) == []
