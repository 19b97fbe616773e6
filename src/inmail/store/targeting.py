"""The facts targeting ranks by, read in batch: one query per kind of fact for all candidates.

Every function takes the caller (``me``) and the candidate ids and answers for all of
them at once, so ranking 200 candidates costs a fixed handful of statements, never a
round trip per candidate. Each statement is built once per engine (``@cache`` on the
dialect's name) and run with bound values: the ids as one value (``store.batch``),
``me`` and ``since``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Row,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)

from inmail.store.batch import among, bound_ids, id_list
from inmail.store.members import MemberRecord, MessagingSettings
from inmail.store.network import neighbours
from inmail.store.tables import (
    UTCDateTime,
    accounts,
    blocks,
    connections,
    group_members,
    groups,
    members,
    messages,
    posts,
    threads,
)


@dataclass(frozen=True, slots=True)
class Profiled:
    """A member's profile with their plan, and their messaging settings."""

    member: MemberRecord
    settings: MessagingSettings


def _me() -> BindParameter[str]:
    return bindparam("me", type_=String)


def _since() -> BindParameter[datetime]:
    return bindparam("since", type_=UTCDateTime)


def _ids(dialect: str) -> Select[Any]:
    return id_list(dialect, "ids")


def _run(conn: Connection, build: Any, ids: Sequence[str], **values: Any) -> Any:
    """Run the statement ``build`` makes for ``conn``'s engine, with ``ids`` and ``values``."""
    dialect = conn.dialect.name
    return conn.execute(build(dialect), {"ids": bound_ids(dialect, ids), **values})


@cache
def _profiles(dialect: str) -> Select[Any]:
    return (
        select(members, accounts.c.plan_code, accounts.c.next_due_at)
        .join(accounts, accounts.c.member_id == members.c.id)
        .where(members.c.id.in_(_ids(dialect)))
    )


def profiles(conn: Connection, ids: Sequence[str]) -> dict[str, Profiled]:
    """The members of ``ids`` that exist, by id, with their plan and settings."""
    return {row.id: _profiled(row) for row in _run(conn, _profiles, ids)}


def _profiled(row: Row[Any]) -> Profiled:
    member = MemberRecord(
        id=row.id,
        handle=row.handle,
        name=row.name,
        headline=row.headline,
        company=row.company,
        school=row.school,
        interests=tuple(row.interests),
        plan=row.plan_code,
        created_at=row.created_at,
        plan_due_at=row.next_due_at,
    )
    settings = MessagingSettings(row.inmail_open, row.open_profile, row.group_messages_open)
    return Profiled(member, settings)


@cache
def _connected_to(dialect: str) -> Any:
    ids = _ids(dialect)
    return union_all(
        select(connections.c.b).where(connections.c.a == _me(), connections.c.b.in_(ids)),
        select(connections.c.a).where(connections.c.b == _me(), connections.c.a.in_(ids)),
    )


def connected_to(conn: Connection, me: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` who are my 1st-degree connections."""
    return set(_run(conn, _connected_to, ids, me=me).scalars())


def mutual_pairs(conn: Connection, me: str, ids: Sequence[str]) -> list[tuple[str, str]]:
    """(candidate, mutual connection) for every connection a candidate shares with me,
    ordered by candidate then mutual id. It walks out from my connections (a few dozen
    index lookups) and keeps the candidates, rather than walking in from each candidate."""
    return [(row.cand, row.via) for row in _run(conn, _mutual_pairs, ids, me=me)]


@cache
def _mutual_pairs(dialect: str) -> Select[Any]:
    mine = select(neighbours(_me()).c.id)
    reached = (
        union_all(
            select(connections.c.b.label("cand"), connections.c.a.label("via")).where(
                connections.c.a.in_(mine)
            ),
            select(connections.c.a.label("cand"), connections.c.b.label("via")).where(
                connections.c.b.in_(mine)
            ),
        )
        .cte("reached")
        # Walked once, then filtered: SQLite would otherwise look every candidate up
        # next to every one of my connections (200 x 50 probes instead of 50 walks).
        .prefix_with("MATERIALIZED")
    )
    return (
        select(reached.c.cand, reached.c.via)
        .where(reached.c.cand.in_(_ids(dialect)))
        .order_by(reached.c.cand, reached.c.via)
    )


def names(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    query = select(members.c.id, members.c.name).where(among(conn, members.c.id, ids))
    return {row.id: row.name for row in conn.execute(query)}


def shared_groups(conn: Connection, me: str, ids: Sequence[str]) -> list[tuple[str, str]]:
    """(candidate, group name) for each group both I and the candidate are members of,
    by candidate, then group name."""
    return [(row.member_id, row.name) for row in _run(conn, _shared_groups, ids, me=me)]


@cache
def _shared_groups(dialect: str) -> Select[Any]:
    mine = select(group_members.c.group_id).where(
        group_members.c.member_id == _me(), group_members.c.status == "member"
    )
    return (
        select(group_members.c.member_id, groups.c.name)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(
            group_members.c.member_id.in_(_ids(dialect)),
            group_members.c.status == "member",
            group_members.c.group_id.in_(mine),
        )
        .order_by(group_members.c.member_id, groups.c.name, groups.c.id)
    )


def blocks_with(conn: Connection, me: str, ids: Sequence[str]) -> tuple[set[str], set[str]]:
    """(those of ``ids`` blocked either way, those of them I blocked), in one statement."""
    either: set[str] = set()
    mine: set[str] = set()
    for member_id, i_blocked in _run(conn, _blocks_with, ids, me=me):
        either.add(member_id)
        if i_blocked:
            mine.add(member_id)
    return either, mine


@cache
def _blocks_with(dialect: str) -> Any:
    ids = _ids(dialect)
    return union_all(
        select(blocks.c.blocked_id, literal(True)).where(
            blocks.c.blocker_id == _me(), blocks.c.blocked_id.in_(ids)
        ),
        select(blocks.c.blocker_id, literal(False)).where(
            blocks.c.blocked_id == _me(), blocks.c.blocker_id.in_(ids)
        ),
    )


@dataclass(frozen=True, slots=True)
class ThreadBetween:
    """A thread between me and a candidate, as targeting needs it."""

    other: str
    mine: bool  # I started it
    kind: str
    status: str
    created_at: datetime
    responded_at: datetime | None


def threads_between(conn: Connection, me: str, ids: Sequence[str]) -> list[ThreadBetween]:
    """Every thread between me and any of ``ids``, either of us having started it."""
    return [
        ThreadBetween(
            other=row.recipient_id if row.initiator_id == me else row.initiator_id,
            mine=row.initiator_id == me,
            kind=row.kind,
            status=row.status,
            created_at=row.created_at,
            responded_at=row.responded_at,
        )
        for row in _run(conn, _threads_between, ids, me=me)
    ]


@cache
def _threads_between(dialect: str) -> Select[Any]:
    ids = _ids(dialect)
    return select(
        threads.c.initiator_id,
        threads.c.recipient_id,
        threads.c.kind,
        threads.c.status,
        threads.c.created_at,
        threads.c.responded_at,
    ).where(
        or_(
            and_(threads.c.initiator_id == _me(), threads.c.recipient_id.in_(ids)),
            and_(threads.c.recipient_id == _me(), threads.c.initiator_id.in_(ids)),
        )
    )


@dataclass(frozen=True, slots=True)
class ReceivedRow:
    recipient: str
    sent_at: datetime
    status: str
    responded_at: datetime | None


def inmails_received(conn: Connection, ids: Sequence[str], *, since: datetime) -> list[ReceivedRow]:
    """The InMail threads each of ``ids`` received, from anyone, active at or after ``since``
    (an index range: a thread's last activity is never before it was sent)."""
    return [
        ReceivedRow(row.recipient_id, row.created_at, row.status, row.responded_at)
        for row in _run(conn, _inmails_received, ids, since=since)
    ]


@cache
def _inmails_received(dialect: str) -> Select[Any]:
    return select(
        threads.c.recipient_id, threads.c.created_at, threads.c.status, threads.c.responded_at
    ).where(
        threads.c.recipient_id.in_(_ids(dialect)),
        threads.c.last_message_at >= _since(),
        threads.c.kind == "inmail",
    )


def last_active(conn: Connection, ids: Sequence[str], *, since: datetime) -> dict[str, datetime]:
    """Each member's latest message sent, post or comment written at or after ``since``."""
    latest: dict[str, datetime] = {}
    for row in _run(conn, _last_active, ids, since=since):
        if row.id not in latest or row.at > latest[row.id]:
            latest[row.id] = row.at
    return latest


@cache
def _last_active(dialect: str) -> Any:
    ids = _ids(dialect)
    sent = (
        select(messages.c.sender_id.label("id"), func.max(messages.c.created_at).label("at"))
        .where(messages.c.sender_id.in_(ids), messages.c.created_at >= _since())
        .group_by(messages.c.sender_id)
    )
    written = (
        select(posts.c.author_id.label("id"), func.max(posts.c.created_at).label("at"))
        .where(posts.c.author_id.in_(ids), posts.c.created_at >= _since())
        .group_by(posts.c.author_id)
    )
    return union_all(sent, written)


def second_degree(conn: Connection, me: str, *, limit: int) -> list[str]:
    """Members connected to my connections but not to me (nor me, nor anyone blocked either
    way), most mutual connections first, then by id: the default pool to rank."""
    mine = select(neighbours(me).c.id)
    reached = union_all(
        select(connections.c.b.label("id")).where(connections.c.a.in_(mine)),
        select(connections.c.a.label("id")).where(connections.c.b.in_(mine)),
    ).subquery()
    blocked = union_all(
        select(blocks.c.blocked_id).where(blocks.c.blocker_id == me),
        select(blocks.c.blocker_id).where(blocks.c.blocked_id == me),
    )
    count = func.count().label("n")
    query = (
        select(reached.c.id, count)
        .where(reached.c.id != me, reached.c.id.not_in(mine), reached.c.id.not_in(blocked))
        .group_by(reached.c.id)
        .order_by(count.desc(), reached.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def ids_by_handle(conn: Connection, handles: Sequence[str]) -> dict[str, str]:
    """Member ids by handle, for the handles that exist."""
    query = select(members.c.handle, members.c.id).where(among(conn, members.c.handle, handles))
    return {row.handle: row.id for row in conn.execute(query)}
