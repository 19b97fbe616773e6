"""Migration 0027 rebuilds two tables on SQLite and leaves PostgreSQL as it was; it goes down
and up again with the rows kept:

- ``spends`` becomes a ``WITHOUT ROWID`` table (its rows in its key's b-tree), keeping its
  unique reference, its CHECK and its partial index of seats' spends;
- ``outbox_events`` loses ``AUTOINCREMENT``: a new event still takes the next position
  after the newest, which is never given twice while no event is deleted (docs/events.md).

tests/integration/test_sqlite_pages.py holds what this is for: the b-trees a spend writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, inspect, select, text

from inmail.domain.events import Event
from inmail.store import outbox, schema
from inmail.store.db import Database
from inmail.store.tables import outbox_events, spends
from tests.migrations import ENGINES, database_at, downgrade

AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
def at_0026(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0026") as db:
        yield db


def _table_sql(db: Database, table: str) -> str:
    with db.engine.connect() as conn:
        found = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
        ).scalar_one()
    return " ".join(str(found).split()).upper()


def _spend(conn: Connection, n: int, *, seat: str | None = None) -> None:
    conn.execute(
        insert(spends).values(
            id=f"sp_m27_{n}",
            member_id="m1",
            reference=f"ref-{n}",
            cost=1,
            at=AT,
            seat_member_id=seat,
        )
    )


def _events(conn: Connection, *names: str) -> None:
    outbox.append(conn, [Event("test.happened", "m1", AT, {"n": n}, id=f"evt_{n}") for n in names])


def _positions(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(outbox_events.c.id, outbox_events.c.seq)).all()
    return {r.id: r.seq for r in rows}


def _spend_ids(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(spends.c.id).order_by(spends.c.id)).scalars())


def test_rows_survive_down_and_up_and_positions_continue(at_0026: Database) -> None:
    with at_0026.engine.begin() as conn:
        _spend(conn, 1)
        _spend(conn, 2, seat="m2")
        _events(conn, "a", "b", "c")
    schema.upgrade(at_0026.engine, "0027")
    assert _spend_ids(at_0026) == ["sp_m27_1", "sp_m27_2"]
    assert _positions(at_0026) == {"evt_a": 1, "evt_b": 2, "evt_c": 3}
    with at_0026.engine.begin() as conn:
        _events(conn, "d")
    assert _positions(at_0026)["evt_d"] == 4

    downgrade(at_0026.engine, "0026")
    assert _spend_ids(at_0026) == ["sp_m27_1", "sp_m27_2"]
    with at_0026.engine.begin() as conn:
        _events(conn, "e")
    assert _positions(at_0026) == {"evt_a": 1, "evt_b": 2, "evt_c": 3, "evt_d": 4, "evt_e": 5}

    schema.upgrade(at_0026.engine, "0027")
    with at_0026.engine.begin() as conn:
        _events(conn, "f")
    assert _positions(at_0026)["evt_f"] == 6


@pytest.fixture(params=["sqlite"])
def sqlite_at_0026(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request, tmp_path, "0026") as db:
        yield db


def test_sqlite_spends_have_no_rowid_and_the_outbox_no_counter(sqlite_at_0026: Database) -> None:
    db = sqlite_at_0026
    assert not _table_sql(db, "spends").endswith("WITHOUT ROWID")
    assert "AUTOINCREMENT" in _table_sql(db, "outbox_events")
    schema.upgrade(db.engine, "0027")
    assert _table_sql(db, "spends").endswith("WITHOUT ROWID")
    outbox_sql = _table_sql(db, "outbox_events")
    assert "AUTOINCREMENT" not in outbox_sql
    assert "SEQ INTEGER NOT NULL" in outbox_sql
    assert "PRIMARY KEY (SEQ)" in outbox_sql
    with db.engine.begin() as conn:
        _events(conn, "a")
        # seq is still the rowid itself (an INTEGER PRIMARY KEY), not a column beside it.
        assert conn.execute(text("SELECT rowid = seq FROM outbox_events")).scalar_one() == 1
        counters = conn.execute(
            text("SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox_events'")
        ).scalar_one()
    assert counters == 0
    downgrade(db.engine, "0026")
    assert not _table_sql(db, "spends").endswith("WITHOUT ROWID")
    assert "AUTOINCREMENT" in _table_sql(db, "outbox_events")


def test_sqlite_rebuilt_spends_keep_their_constraints_and_index(sqlite_at_0026: Database) -> None:
    db = sqlite_at_0026
    schema.upgrade(db.engine, "0027")
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("spends")}
    seats = indexes["ix_spends_seat_member_id_at"]
    assert seats["column_names"] == ["seat_member_id", "at"]
    assert "seat_member_id IS NOT NULL" in str(seats["dialect_options"]["sqlite_where"])
    with db.engine.begin() as conn:
        _spend(conn, 1)
    for bad in (
        "INSERT INTO spends (id, member_id, reference, cost, at) "
        "VALUES ('sp_other', 'm1', 'ref-1', 1, '2026-12-01 01:00:00.000000')",  # reference
        "INSERT INTO spends (id, member_id, reference, cost, at) "
        "VALUES ('sp_m27_1', 'm1', 'ref-9', 1, '2026-12-01 01:00:00.000000')",  # id
        "INSERT INTO spends (id, member_id, reference, cost, at) "
        "VALUES ('sp_neg', 'm1', 'ref-8', -1, '2026-12-01 01:00:00.000000')",  # cost >= 0
    ):
        with pytest.raises(sqlite3.IntegrityError), db.engine.connect() as conn:
            conn.connection.driver_connection.execute(bad)  # type: ignore[union-attr]
    assert _spend_ids(db) == ["sp_m27_1"]


def test_sqlite_keeps_the_counter_where_the_newest_events_were_deleted(
    sqlite_at_0026: Database,
) -> None:
    db = sqlite_at_0026
    with db.engine.begin() as conn:
        _events(conn, "a", "b", "c")
        conn.execute(text("DELETE FROM outbox_events WHERE id = 'evt_c'"))
    schema.upgrade(db.engine, "0027")
    assert "AUTOINCREMENT" in _table_sql(db, "outbox_events")
    assert _table_sql(db, "spends").endswith("WITHOUT ROWID")
    with db.engine.begin() as conn:
        _events(conn, "d")
    assert _positions(db) == {"evt_a": 1, "evt_b": 2, "evt_d": 4}  # 3 is never given again
    downgrade(db.engine, "0026")
    assert "AUTOINCREMENT" in _table_sql(db, "outbox_events")
    assert _positions(db) == {"evt_a": 1, "evt_b": 2, "evt_d": 4}
