"""The operator's member list: members in a chosen order, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from inmail.store.tables import accounts, members

# The orders the operator can pick, each a column; the member id breaks ties so pages are stable.
SORT_COLUMNS: dict[str, Any] = {
    "name": func.lower(members.c.name),
    "handle": members.c.handle,
    "plan": accounts.c.plan_code,
    "balance": accounts.c.balance,
    "joined": members.c.created_at,
}


def _ordered(sort: str, descending: bool) -> Any:
    column = SORT_COLUMNS[sort]
    key = column.desc() if descending else column.asc()
    tie = members.c.id.desc() if descending else members.c.id.asc()
    query = select(members.c.id).join(accounts, accounts.c.member_id == members.c.id)
    return query.order_by(key, tie)


def member_ids_page(
    conn: Connection, *, sort: str, descending: bool, offset: int, limit: int
) -> list[str]:
    """The ids of ``limit`` members from ``offset`` in the order ``sort`` (a SORT_COLUMNS key)."""
    query = _ordered(sort, descending).offset(offset).limit(limit)
    return [row.id for row in conn.execute(query)]


def order_ids(conn: Connection, ids: Sequence[str], *, sort: str, descending: bool) -> list[str]:
    """``ids`` (a bounded list: search hits) in the order ``sort``."""
    if not ids:
        return []
    query = _ordered(sort, descending).where(members.c.id.in_(list(ids)))
    return [row.id for row in conn.execute(query)]


def count_members(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(members)).scalar_one())
