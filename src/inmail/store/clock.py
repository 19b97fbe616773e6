"""The persisted test clock's single row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from inmail.store.tables import test_clock


def read_test_clock(conn: Connection) -> datetime | None:
    return conn.execute(select(test_clock.c.now).where(test_clock.c.id == 1)).scalar_one_or_none()


def write_test_clock(conn: Connection, moment: datetime) -> None:
    updated = conn.execute(update(test_clock).where(test_clock.c.id == 1).values(now=moment))
    if updated.rowcount == 0:
        conn.execute(test_clock.insert().values(id=1, now=moment))
