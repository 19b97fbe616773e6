"""What is true between one member and many others, read for all of them at once.

The batch form of the reads behind a quote (``store.network``, ``store.messaging``,
``store.social``), for a page of results: the recipients in one query, every
fact between the viewer and them in another (:func:`facts`). And the sets of
members a search of someone's network looks among or leaves out, over a bound
``viewer`` (``store.search.SETS``). Each statement is built once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    func,
    select,
    union,
    union_all,
)

from inmail.domain.messaging import AwaitingInmail
from inmail.store.batch import bound_ids, constant, id_list, nothing
from inmail.store.members import MemberRecord, member_record
from inmail.store.tables import (
    AWAITING_INMAIL,
    UTCDateTime,
    accounts,
    blocks,
    connections,
    contact_info,
    group_members,
    groups,
    members,
    threads,
)


def _viewer() -> BindParameter[str]:
    return bindparam("viewer", type_=String)


def _ids(dialect: str) -> Select[Any]:
    """The bound ``ids`` (one value: ``batch.bound_ids``), for a statement built per engine."""
    return id_list(dialect, "ids")


def _neighbours() -> Select[Any]:
    """The viewer's 1st-degree connections (each pair is stored once, a < b)."""
    near = union_all(
        select(connections.c.b.label("id")).where(connections.c.a == _viewer()),
        select(connections.c.a.label("id")).where(connections.c.b == _viewer()),
    ).subquery()
    return select(near.c.id)


def _around(near: Select[Any]) -> Any:
    """Everyone connected to one of ``near`` (the viewer and ``near`` themselves included)."""
    return union_all(
        select(connections.c.b.label("id")).where(connections.c.a.in_(near)),
        select(connections.c.a.label("id")).where(connections.c.b.in_(near)),
    ).subquery()


CONNECTIONS = _neighbours()
_second = _around(_neighbours())
SECOND_DEGREE = select(_second.c.id).where(
    _second.c.id != _viewer(), _second.c.id.not_in(_neighbours())
)
# Everyone connected to one of the viewer's connections: with CONNECTIONS and the viewer
# (HIDDEN), the viewer's network. Kept apart (no UNION to sort): each NOT IN is a set anyway.
_near_of_near = _around(_neighbours())
AROUND = select(_near_of_near.c.id)
HIDDEN = (
    union(
        select(_viewer()),
        select(blocks.c.blocked_id).where(blocks.c.blocker_id == _viewer()),
        select(blocks.c.blocker_id).where(blocks.c.blocked_id == _viewer()),
    )
    .subquery()
    .select()
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A member as the send rules need them: profile, settings and the plan they were on."""

    record: MemberRecord  # ``plan_due_at``: past it, the plan may be stale (catch up first)
    inmail_open: bool
    open_profile: bool
    group_messages_open: bool
    plan_version: int


@cache
def _recipients(dialect: str) -> Select[Any]:
    return (
        select(members, accounts.c.plan_code, accounts.c.plan_version, accounts.c.next_due_at)
        .join(accounts, accounts.c.member_id == members.c.id)
        .where(members.c.id.in_(_ids(dialect)))
    )


def recipients(conn: Connection, ids: Sequence[str]) -> dict[str, Recipient]:
    """The members among ``ids`` (unknown ids left out), in one query."""
    if not ids:
        return {}
    dialect = conn.dialect.name
    found = conn.execute(_recipients(dialect), {"ids": bound_ids(dialect, ids)}).all()
    return {
        r.id: Recipient(
            member_record(r), r.inmail_open, r.open_profile, r.group_messages_open, r.plan_version
        )
        for r in found
    }


@dataclass(slots=True)
class Facts:
    """What is true between the viewer and each of some members (keyed by their id)."""

    connected: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)  # either way
    you_blocked: set[str] = field(default_factory=set)  # the viewer blocked them (in blocked too)
    conversing: set[str] = field(default_factory=set)  # an open conversation, either started it
    # The connections both have, as (id, name, handle), by id.
    mutuals: defaultdict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # The groups both are members of, by name (then id).
    groups: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Their contact fields as (field, value, visibility), by field.
    contact: defaultdict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # The viewer's InMail to them still awaiting a response (as messaging.awaiting_inmail).
    awaiting: dict[str, AwaitingInmail] = field(default_factory=dict)


OPEN_STATUSES = ("answered", "open")  # as store.messaging.has_open_conversation


def _none() -> Any:
    return nothing()  # typed by the union's first part (_facts)


def _name_of(member_id: Any) -> Any:
    return select(members.c.name).where(members.c.id == member_id).scalar_subquery()


def _handle_of(member_id: Any) -> Any:
    return select(members.c.handle).where(members.c.id == member_id).scalar_subquery()


@cache
def _facts(dialect: str) -> Any:
    """One row per fact: (kind, member, x, y, z, at, n), for the engine ``dialect``."""
    me, ids = _viewer(), _ids(dialect)
    mine = _neighbours()
    member = constant("member")
    my_groups = select(group_members.c.group_id).where(
        group_members.c.member_id == me, group_members.c.status == member
    )
    is_open = threads.c.status.in_([constant(s) for s in OPEN_STATUSES])
    link = connections
    t = threads.c
    # "w": the viewer's InMail to them still awaiting a response, with what
    # messaging.awaiting_inmail reads, in the page's own statement (one round trip fewer).
    awaiting = select(
        constant("w"),
        t.recipient_id,
        t.id,
        cast(t.followups_sent, String),
        _none(),
        func.coalesce(t.last_inmail_at, t.created_at),
        t.duplicate_rank,
    ).where(t.initiator_id == me, t.recipient_id.in_(ids), AWAITING_INMAIL)
    rows = [
        # The first part types the union's columns: its NULLs say what they hold.
        select(constant("c"), link.c.b, *(nothing(String) for _ in range(3))).where(
            link.c.a == me, link.c.b.in_(ids)
        ),
        select(constant("c"), link.c.a, _none(), _none(), _none()).where(
            link.c.b == me, link.c.a.in_(ids)
        ),
        # The mutual's name and handle are looked up per mutual found (few), so the
        # connections of the page's members drive the search, not the viewer's.
        select(constant("m"), link.c.a, link.c.b, _name_of(link.c.b), _handle_of(link.c.b)).where(
            link.c.a.in_(ids), _unindexed(dialect, link.c.b).in_(mine)
        ),
        select(constant("m"), link.c.b, link.c.a, _name_of(link.c.a), _handle_of(link.c.a)).where(
            link.c.b.in_(ids), _unindexed(dialect, link.c.a).in_(mine)
        ),
        # "y": the viewer blocked them; "b": they blocked the viewer.
        select(constant("y"), blocks.c.blocked_id, _none(), _none(), _none()).where(
            blocks.c.blocker_id == me, blocks.c.blocked_id.in_(ids)
        ),
        select(constant("b"), blocks.c.blocker_id, _none(), _none(), _none()).where(
            blocks.c.blocked_id == me, blocks.c.blocker_id.in_(ids)
        ),
        select(constant("t"), threads.c.recipient_id, _none(), _none(), _none()).where(
            threads.c.initiator_id == me, threads.c.recipient_id.in_(ids), is_open
        ),
        select(constant("t"), threads.c.initiator_id, _none(), _none(), _none()).where(
            threads.c.recipient_id == me, threads.c.initiator_id.in_(ids), is_open
        ),
        select(constant("g"), group_members.c.member_id, groups.c.name, groups.c.id, _none())
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(
            group_members.c.member_id.in_(ids),
            group_members.c.status == member,
            group_members.c.group_id.in_(my_groups),
        ),
        select(
            constant("i"),
            contact_info.c.member_id,
            contact_info.c.field,
            contact_info.c.value,
            contact_info.c.visibility,
        ).where(contact_info.c.member_id.in_(ids)),
    ]
    # The last two columns are the awaiting InMail's; typed on the first row, which types all.
    first, *others = rows
    untimed = [
        first.add_columns(nothing(UTCDateTime), nothing(Integer)),
        *(r.add_columns(nothing(), nothing()) for r in others),
    ]
    return union_all(*untimed, awaiting)


def _unindexed(dialect: str, column: Any) -> Any:
    """``column``, kept from driving an index on SQLite (``column || ''``).

    Given ``a IN (page) AND b IN (my connections)``, SQLite probes the (b, a) index once
    per pair of the two lists (50 x 50 lookups); reading each page member's connections
    from the (a, b) index and checking them against the list is two to three times
    faster. PostgreSQL's planner weighs the two itself.
    """
    return column.concat("") if dialect == "sqlite" else column


def facts(conn: Connection, member_id: str, ids: Sequence[str]) -> Facts:
    """Every fact between ``member_id`` and each of ``ids``, in one query."""
    found = Facts()
    if not ids:
        return found
    groups_of: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    dialect = conn.dialect.name
    bound = {"viewer": member_id, "ids": bound_ids(dialect, ids)}
    ranks: dict[str, int] = {}
    for kind, other, x, y, z, at, n in conn.execute(_facts(dialect), bound).all():
        if kind == "w":  # of a pair's duplicates, the newest (rank 0) is the one
            if other not in ranks or n < ranks[other]:
                ranks[other] = n
                found.awaiting[other] = AwaitingInmail(x, at, int(y))
        elif kind == "c":
            found.connected.add(other)
        elif kind == "b":
            found.blocked.add(other)
        elif kind == "y":
            found.blocked.add(other)
            found.you_blocked.add(other)
        elif kind == "t":
            found.conversing.add(other)
        elif kind == "m":
            found.mutuals[other].append((x, y, z))
        elif kind == "g":
            groups_of[other].append((x, y))
        else:
            found.contact[other].append((x, y, z))
    for shared in found.mutuals.values():
        shared.sort()
    for other, named in groups_of.items():
        found.groups[other] = [name for name, _ in sorted(named)]
    for fields in found.contact.values():
        fields.sort()
    return found
