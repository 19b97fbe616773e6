"""First-degree connections, one row per pair (a < b)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from inmail.store.tables import connections


def _pair(x: str, y: str) -> tuple[str, str]:
    return (x, y) if x < y else (y, x)


def are_connected(conn: Connection, x: str, y: str) -> bool:
    a, b = _pair(x, y)
    query = select(connections.c.a).where(connections.c.a == a, connections.c.b == b)
    return conn.execute(query).first() is not None


def insert_connection(conn: Connection, x: str, y: str, at: datetime) -> None:
    a, b = _pair(x, y)
    conn.execute(connections.insert().values(a=a, b=b, created_at=at))
