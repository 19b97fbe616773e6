"""The facts targeting ranks by, read in batch: every fact about all candidates in one statement.

Every function takes the caller (``me``) and the candidate ids and answers for all of
them at once: ranking 200 candidates costs two statements (their profiles, then
:func:`facts`), never a round trip per candidate nor one per kind of fact (on a busy
server each round trip waits its turn twice, which is most of a ranking's time). Each
statement is built once per engine (``@cache`` on the dialect's name) and run with bound
values: the ids as one value (``store.batch``), ``me`` and the times.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Row,
    Select,
    String,
    bindparam,
    func,
    select,
    union_all,
)

from inmail.store.batch import among, bound_ids, constant, id_list, nothing
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


def _ids(dialect: str) -> Select[Any]:
    return id_list(dialect, "ids")


def _run(conn: Connection, build: Any, ids: Sequence[str], **values: Any) -> Any:
    """The rows of the statement ``build`` makes for ``conn``'s engine, with ``ids`` and
    ``values``: all fetched at once (row by row, psycopg's fetches cost a ranking's
    hundreds of rows about 1 ms more)."""
    dialect = conn.dialect.name
    return conn.execute(build(dialect), {"ids": bound_ids(dialect, ids), **values}).all()


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


@dataclass(frozen=True, slots=True)
class ThreadBetween:
    """A thread between me and a candidate, as targeting needs it."""

    other: str
    mine: bool  # I started it
    kind: str
    status: str
    created_at: datetime
    responded_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReceivedRow:
    recipient: str
    sent_at: datetime
    status: str
    responded_at: datetime | None


@dataclass(slots=True)
class Facts:
    """Every fact targeting ranks by, between me and the candidates, keyed by candidate id."""

    connected: set[str] = field(default_factory=set)  # my 1st-degree connections
    blocked: set[str] = field(default_factory=set)  # either way
    you_blocked: set[str] = field(default_factory=set)  # I blocked them (in blocked too)
    # (mutual connection id, their name) for every connection a candidate shares with me, by id
    mutuals: defaultdict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # The names of the groups both I and the candidate are members of, by name (then id)
    groups: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    between: list[ThreadBetween] = field(default_factory=list)  # every thread between us
    received: list[ReceivedRow] = field(default_factory=list)  # InMails they received
    active: dict[str, datetime] = field(default_factory=dict)  # their latest activity


def facts(
    conn: Connection, me: str, ids: Sequence[str], *, history: datetime, active: datetime
) -> Facts:
    """Every fact about ``ids`` that targeting ranks by, in one statement (one round trip):

    my connections among them, blocks either way, the connections each shares with me (with
    their names), the groups each shares with me, the threads between me and each, the
    InMail threads each received from anyone active at or after ``history`` (an index
    range: a thread's last activity is never before it was sent), and each one's latest
    message sent or post written at or after ``active``.
    """
    found = Facts()
    if not ids:
        return found
    groups_of: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    rows = _run(conn, _facts, ids, me=me, history=history, active=active)
    for kind, who, s1, s2, t1, t2 in rows:
        if kind == "c":
            found.connected.add(who)
        elif kind == "m":
            found.mutuals[who].append((s1, s2))
        elif kind == "g":
            groups_of[who].append((s1, s2))
        elif kind == "r":
            found.received.append(ReceivedRow(who, t1, s2, t2))
        elif kind in ("i", "o"):  # a thread I started (i), or they did (o)
            found.between.append(ThreadBetween(who, kind == "i", s1, s2, t1, t2))
        elif kind == "a":
            if who not in found.active or t1 > found.active[who]:
                found.active[who] = t1
        else:  # "y": I blocked them; "b": they blocked me
            found.blocked.add(who)
            if kind == "y":
                found.you_blocked.add(who)
    for shared in found.mutuals.values():
        shared.sort()
    for who, named in groups_of.items():
        found.groups[who] = [name for name, _ in sorted(named)]
    return found


def _fact(
    kind: str, who: Any, *texts: Any, at: Any = None, then: Any = None, first: bool = False
) -> Any:
    """The columns of one fact row: (kind, candidate, 2 texts, 2 times), the unused NULL.

    The ``first`` part of the union types its columns (its NULLs say what they hold); the
    others' NULLs are written bare, which keeps the statement short (``store.batch``)."""
    text = [*texts, *(nothing(String if first else None) for _ in range(2 - len(texts)))]
    none = nothing(UTCDateTime if first else None)
    times = [t if t is not None else none for t in (at, then)]
    return (constant(kind), who, *text, *times)


@cache
def _facts(dialect: str) -> Any:
    """One row per fact (see :func:`facts`): ``(kind, candidate, s1, s2, t1, t2)``."""
    ids, me = _ids(dialect), _me()
    mine = select(neighbours(me).c.id)
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
        # It walks out from my connections (a few dozen index lookups) and keeps the
        # candidates, walked once, then filtered: SQLite would otherwise look every
        # candidate up next to every one of my connections (200 x 50 probes, not 50 walks).
        # PostgreSQL walks that way by itself, and storing the walk's ~2,500 rows to read
        # them back cost it more than the walk (0.3 to 0.6 ms a ranking, issue 10).
        .prefix_with("MATERIALIZED" if dialect == "sqlite" else "NOT MATERIALIZED")
    )
    name_of = select(members.c.name).where(members.c.id == reached.c.via).scalar_subquery()
    my_groups = select(group_members.c.group_id).where(
        group_members.c.member_id == me, group_members.c.status == constant("member")
    )
    t = threads.c
    thread = (t.kind, t.status)
    history = bindparam("history", type_=UTCDateTime)
    active = bindparam("active", type_=UTCDateTime)
    return union_all(
        select(*_fact("c", connections.c.b, first=True)).where(
            connections.c.a == me, connections.c.b.in_(ids)
        ),
        select(*_fact("c", connections.c.a)).where(connections.c.b == me, connections.c.a.in_(ids)),
        select(*_fact("m", reached.c.cand, reached.c.via, name_of)).where(reached.c.cand.in_(ids)),
        select(*_fact("g", group_members.c.member_id, groups.c.name, groups.c.id))
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(
            group_members.c.member_id.in_(ids),
            group_members.c.status == constant("member"),
            group_members.c.group_id.in_(my_groups),
        ),
        select(*_fact("i", t.recipient_id, *thread, at=t.created_at, then=t.responded_at)).where(
            t.initiator_id == me, t.recipient_id.in_(ids)
        ),
        select(*_fact("o", t.initiator_id, *thread, at=t.created_at, then=t.responded_at)).where(
            t.recipient_id == me, t.initiator_id.in_(ids)
        ),
        # From ix_threads_inmails_to alone on PostgreSQL: its columns (the kind is its
        # condition, so it is not read).
        select(
            *_fact("r", t.recipient_id, nothing(), t.status, at=t.created_at, then=t.responded_at)
        ).where(
            t.recipient_id.in_(ids), t.last_message_at >= history, t.kind == constant("inmail")
        ),
        select(*_fact("y", blocks.c.blocked_id)).where(
            blocks.c.blocker_id == me, blocks.c.blocked_id.in_(ids)
        ),
        select(*_fact("b", blocks.c.blocker_id)).where(
            blocks.c.blocked_id == me, blocks.c.blocker_id.in_(ids)
        ),
        select(*_fact("a", messages.c.sender_id, at=func.max(messages.c.created_at)))
        .where(messages.c.sender_id.in_(ids), messages.c.created_at >= active)
        .group_by(messages.c.sender_id),
        select(*_fact("a", posts.c.author_id, at=func.max(posts.c.created_at)))
        .where(posts.c.author_id.in_(ids), posts.c.created_at >= active)
        .group_by(posts.c.author_id),
    )


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
