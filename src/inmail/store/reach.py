"""What is true between one member and many others, each fact in one query for all of them.

The batch form of the reads behind a quote (``store.network``, ``store.messaging``,
``store.social``), for a page of results; and the sets of members a search of
someone's network looks among or leaves out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, literal, select, union, union_all

from inmail.store.network import neighbours
from inmail.store.tables import (
    accounts,
    blocks,
    connections,
    contact_info,
    group_members,
    groups,
    members,
    threads,
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the send rules need of a recipient: their settings and the plan they were on."""

    id: str
    handle: str
    inmail_open: bool
    open_profile: bool
    group_messages_open: bool
    plan_code: str
    plan_version: int
    next_due_at: datetime | None  # past it, the plan may be stale (catch up first)


def recipients(conn: Connection, ids: Sequence[str]) -> dict[str, Recipient]:
    query = select(
        members.c.id,
        members.c.handle,
        members.c.inmail_open,
        members.c.open_profile,
        members.c.group_messages_open,
        accounts.c.plan_code,
        accounts.c.plan_version,
        accounts.c.next_due_at,
    ).join(accounts, accounts.c.member_id == members.c.id)
    return {r.id: Recipient(*r) for r in conn.execute(query.where(members.c.id.in_(ids)))}


def connected_among(conn: Connection, member_id: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` who are the member's 1st-degree connections."""
    query = union_all(
        select(connections.c.b).where(connections.c.a == member_id, connections.c.b.in_(ids)),
        select(connections.c.a).where(connections.c.b == member_id, connections.c.a.in_(ids)),
    )
    return set(conn.execute(query).scalars())


def mutuals_among(conn: Connection, member_id: str, ids: Sequence[str]) -> dict[str, list[str]]:
    """For each of ``ids`` with any, the connections they share with the member, by id."""
    mine = select(neighbours(member_id).c.id)
    query = union_all(
        select(connections.c.a, connections.c.b).where(
            connections.c.a.in_(ids), connections.c.b.in_(mine)
        ),
        select(connections.c.b, connections.c.a).where(
            connections.c.b.in_(ids), connections.c.a.in_(mine)
        ),
    )
    shared: defaultdict[str, list[str]] = defaultdict(list)
    for other, mutual in conn.execute(query):
        shared[other].append(mutual)
    return {other: sorted(found) for other, found in shared.items()}


def blocked_among(conn: Connection, member_id: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` who blocked the member, or whom the member blocked."""
    query = union_all(
        select(blocks.c.blocked_id).where(
            blocks.c.blocker_id == member_id, blocks.c.blocked_id.in_(ids)
        ),
        select(blocks.c.blocker_id).where(
            blocks.c.blocked_id == member_id, blocks.c.blocker_id.in_(ids)
        ),
    )
    return set(conn.execute(query).scalars())


OPEN_STATUSES = ("answered", "open")  # as store.messaging.has_open_conversation


def conversing_among(conn: Connection, member_id: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` with whom the member has an open conversation (either started it)."""
    open_ = threads.c.status.in_(OPEN_STATUSES)
    query = union_all(
        select(threads.c.recipient_id).where(
            threads.c.initiator_id == member_id, threads.c.recipient_id.in_(ids), open_
        ),
        select(threads.c.initiator_id).where(
            threads.c.recipient_id == member_id, threads.c.initiator_id.in_(ids), open_
        ),
    )
    return set(conn.execute(query).scalars())


def shared_groups_among(
    conn: Connection, member_id: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    """For each of ``ids`` with any, the names of the groups both are members of, by name."""
    mine = select(group_members.c.group_id).where(
        group_members.c.member_id == member_id, group_members.c.status == "member"
    )
    query = (
        select(group_members.c.member_id, groups.c.name)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(
            group_members.c.member_id.in_(ids),
            group_members.c.status == "member",
            group_members.c.group_id.in_(mine),
        )
        .order_by(group_members.c.member_id, groups.c.name, groups.c.id)
    )
    shared: defaultdict[str, list[str]] = defaultdict(list)
    for other, name in conn.execute(query):
        shared[other].append(name)
    return dict(shared)


def contact_fields_among(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[tuple[str, str, str]]]:
    """Each member's contact fields as (field, value, visibility), by field."""
    query = (
        select(contact_info.c.member_id, contact_info.c.field, contact_info.c.value)
        .add_columns(contact_info.c.visibility)
        .where(contact_info.c.member_id.in_(ids))
        .order_by(contact_info.c.member_id, contact_info.c.field)
    )
    found: defaultdict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for member_id, field, value, visibility in conn.execute(query):
        found[member_id].append((field, value, visibility))
    return dict(found)


def names_of(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Members' (name, handle) by id."""
    query = select(members.c.id, members.c.name, members.c.handle).where(members.c.id.in_(ids))
    return {i: (name, handle) for i, name, handle in conn.execute(query)}


# --- The sets a search of someone's network looks among or leaves out ---------------------


def connection_ids(member_id: str) -> Select[Any]:
    """The member's 1st-degree connections."""
    return select(neighbours(member_id).c.id)


def second_degree_ids(member_id: str) -> Select[Any]:
    """Members who share a connection with the member and are not connected to them."""
    near = connection_ids(member_id)
    query = union_all(
        select(connections.c.b).where(connections.c.a.in_(near)),
        select(connections.c.a).where(connections.c.b.in_(near)),
    ).subquery()
    return select(query.c.b).where(query.c.b != member_id, query.c.b.not_in(near))


def in_network_ids(member_id: str) -> Select[Any]:
    """The member's 1st- and 2nd-degree network (and the member)."""
    near = connection_ids(member_id)
    return (
        union(
            near,
            select(connections.c.b).where(connections.c.a.in_(near)),
            select(connections.c.a).where(connections.c.b.in_(near)),
            select(literal(member_id)),
        )
        .subquery()
        .select()
    )


def hidden_from(member_id: str) -> Select[Any]:
    """Who a member's search never finds: themself, and members blocked either way."""
    return (
        union(
            select(literal(member_id)),
            select(blocks.c.blocked_id).where(blocks.c.blocker_id == member_id),
            select(blocks.c.blocker_id).where(blocks.c.blocked_id == member_id),
        )
        .subquery()
        .select()
    )
