"""First-degree connections, one row per pair (a < b)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    or_,
    select,
    union_all,
    update,
)

from inmail.store.tables import blocks, connections, invitations


def _pair(x: str, y: str) -> tuple[str, str]:
    return (x, y) if x < y else (y, x)


def are_connected(conn: Connection, x: str, y: str) -> bool:
    a, b = _pair(x, y)
    query = select(connections.c.a).where(connections.c.a == a, connections.c.b == b)
    return conn.execute(query).first() is not None


def insert_connection(conn: Connection, x: str, y: str, at: datetime) -> None:
    a, b = _pair(x, y)
    conn.execute(connections.insert().values(a=a, b=b, created_at=at))


def neighbours(member_id: str | ColumnElement[str]) -> Any:
    """A subquery of the member's 1st-degree connections (column ``id``); ``member_id`` is
    an id or a bound parameter (for a statement built once)."""
    return union_all(
        select(connections.c.b.label("id")).where(connections.c.a == member_id),
        select(connections.c.a.label("id")).where(connections.c.b == member_id),
    ).subquery()


def _neighbours_of(param: str) -> Any:
    return union_all(
        select(connections.c.b.label("id")).where(connections.c.a == bindparam(param)),
        select(connections.c.a.label("id")).where(connections.c.b == bindparam(param)),
    ).subquery()


# Built once: the mutual-connections join is on every quote and profile view, and building
# the statement costs more than running it.
_MINE, _THEIRS = _neighbours_of("x"), _neighbours_of("y")
_MUTUALS = (
    select(_MINE.c.id)
    .join(_THEIRS, _THEIRS.c.id == _MINE.c.id)
    .order_by(_MINE.c.id)
    .limit(bindparam("limit"))
)


def share_a_connection(conn: Connection, x: str, y: str) -> bool:
    """2nd degree: one indexed join of two neighbour lists, never a graph walk."""
    return conn.execute(_MUTUALS, {"x": x, "y": y, "limit": 1}).first() is not None


def degree(conn: Connection, viewer: str, other: str) -> int:
    """1, 2, or 3 for "3rd or further"."""
    if are_connected(conn, viewer, other):
        return 1
    return 2 if share_a_connection(conn, viewer, other) else 3


def is_blocked_either_way(conn: Connection, x: str, y: str) -> bool:
    query = select(blocks.c.blocker_id).where(
        or_(
            and_(blocks.c.blocker_id == x, blocks.c.blocked_id == y),
            and_(blocks.c.blocker_id == y, blocks.c.blocked_id == x),
        )
    )
    return conn.execute(query.limit(1)).first() is not None


def has_blocked(conn: Connection, blocker: str, blocked: str) -> bool:
    """Whether ``blocker`` blocked ``blocked`` (this way round only)."""
    query = select(blocks.c.blocker_id).where(
        blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked
    )
    return conn.execute(query).first() is not None


def block(conn: Connection, blocker: str, blocked: str, at: datetime) -> None:
    exists = select(blocks.c.blocker_id).where(
        blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked
    )
    if conn.execute(exists).first() is None:
        conn.execute(blocks.insert().values(blocker_id=blocker, blocked_id=blocked, created_at=at))


def unblock(conn: Connection, blocker: str, blocked: str) -> None:
    conn.execute(
        delete(blocks).where(blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked)
    )


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    from_id: str
    to_id: str
    status: str
    note: str
    created_at: datetime
    answered_at: datetime | None


def insert_invitation(conn: Connection, invitation: Invitation) -> None:
    conn.execute(invitations.insert().values(**asdict(invitation)))


def get_invitation(conn: Connection, invitation_id: str) -> Invitation | None:
    row = conn.execute(select(invitations).where(invitations.c.id == invitation_id)).first()
    return None if row is None else Invitation(**row._mapping)


def pending_invitation(conn: Connection, x: str, y: str) -> Invitation | None:
    query = select(invitations).where(
        invitations.c.status == "pending",
        or_(
            and_(invitations.c.from_id == x, invitations.c.to_id == y),
            and_(invitations.c.from_id == y, invitations.c.to_id == x),
        ),
    )
    row = conn.execute(query.limit(1)).first()
    return None if row is None else Invitation(**row._mapping)


def answer_invitation(conn: Connection, invitation_id: str, status: str, at: datetime) -> bool:
    result = conn.execute(
        update(invitations)
        .where(invitations.c.id == invitation_id, invitations.c.status == "pending")
        .values(status=status, answered_at=at)
    )
    return result.rowcount == 1


def invitations_for(
    conn: Connection,
    member_id: str,
    *,
    before: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[Invitation]:
    """Pending invitations to or from the member, newest first (then by id, descending)."""
    query = (
        select(invitations)
        .where(
            or_(invitations.c.to_id == member_id, invitations.c.from_id == member_id),
            invitations.c.status == "pending",
        )
        .order_by(invitations.c.created_at.desc(), invitations.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        at, invitation_id = before
        query = query.where(
            or_(
                invitations.c.created_at < at,
                and_(invitations.c.created_at == at, invitations.c.id < invitation_id),
            )
        )
    return [Invitation(**r._mapping) for r in conn.execute(query)]


_MUTUALS_AFTER = _MUTUALS.where(_MINE.c.id > bindparam("after"))


def mutual_connections(
    conn: Connection, x: str, y: str, limit: int = 200, after: str | None = None
) -> list[str]:
    """Members connected to both, by id (those after ``after``): one join of two indexed
    neighbour lists."""
    if after is None:
        return list(conn.execute(_MUTUALS, {"x": x, "y": y, "limit": limit}).scalars())
    values = {"x": x, "y": y, "limit": limit, "after": after}
    return list(conn.execute(_MUTUALS_AFTER, values).scalars())
