"""Groups, posts with mentions, contact info and introductions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update

from inmail.domain.search import group_document
from inmail.store import search
from inmail.store.network import neighbours
from inmail.store.tables import (
    contact_info,
    group_members,
    groups,
    introductions,
    mentions,
    posts,
)


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    description: str
    closed: bool
    owner_id: str
    created_at: datetime


def insert_group(conn: Connection, group: Group) -> None:
    """The group, and its words in the search index."""
    conn.execute(insert(groups).values(**asdict(group)))
    document = group_document(name=group.name, description=group.description)
    search.write_document(conn, search.GROUPS, group.id, document)


def get_group(conn: Connection, group_id: str) -> Group | None:
    row = conn.execute(select(groups).where(groups.c.id == group_id)).first()
    return None if row is None else Group(**row._mapping)


def membership(conn: Connection, group_id: str, member_id: str) -> str | None:
    """'member', 'pending' or None."""
    query = select(group_members.c.status).where(
        group_members.c.group_id == group_id, group_members.c.member_id == member_id
    )
    return conn.execute(query).scalar_one_or_none()


def set_membership(
    conn: Connection, group_id: str, member_id: str, status: str, at: datetime
) -> None:
    key = and_(group_members.c.group_id == group_id, group_members.c.member_id == member_id)
    if conn.execute(update(group_members).where(key).values(status=status)).rowcount == 0:
        conn.execute(
            insert(group_members).values(
                group_id=group_id, member_id=member_id, status=status, since=at
            )
        )


def remove_membership(conn: Connection, group_id: str, member_id: str) -> bool:
    result = conn.execute(
        delete(group_members).where(
            group_members.c.group_id == group_id, group_members.c.member_id == member_id
        )
    )
    return result.rowcount == 1


def group_member_page(
    conn: Connection, group_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[tuple[datetime, str]]:
    """(since, member id) of the group's members, longest-standing first, after ``after``."""
    query = (
        select(group_members.c.since, group_members.c.member_id)
        .where(group_members.c.group_id == group_id, group_members.c.status == "member")
        .order_by(group_members.c.since, group_members.c.member_id)
        .limit(limit)
    )
    if after is not None:
        since, member_id = after
        query = query.where(
            or_(
                group_members.c.since > since,
                and_(group_members.c.since == since, group_members.c.member_id > member_id),
            )
        )
    return [(row.since, row.member_id) for row in conn.execute(query)]


def group_member_ids(
    conn: Connection, group_id: str, status: str = "member", limit: int = 500
) -> list[str]:
    query = (
        select(group_members.c.member_id)
        .where(group_members.c.group_id == group_id, group_members.c.status == status)
        .order_by(group_members.c.since, group_members.c.member_id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def shared_groups(conn: Connection, x: str, y: str) -> list[Group]:
    mine = select(group_members.c.group_id).where(
        group_members.c.member_id == x, group_members.c.status == "member"
    )
    theirs = select(group_members.c.group_id).where(
        group_members.c.member_id == y, group_members.c.status == "member"
    )
    query = select(groups).where(groups.c.id.in_(mine), groups.c.id.in_(theirs))
    return [Group(**r._mapping) for r in conn.execute(query.order_by(groups.c.name, groups.c.id))]


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    author_id: str
    parent_id: str | None
    body: str
    created_at: datetime
    mentions: tuple[str, ...] = ()


def insert_post(conn: Connection, post: Post) -> None:
    conn.execute(
        insert(posts).values(
            id=post.id,
            author_id=post.author_id,
            parent_id=post.parent_id,
            body=post.body,
            created_at=post.created_at,
        )
    )
    if post.mentions:
        conn.execute(
            insert(mentions),
            [
                {"post_id": post.id, "member_id": m, "created_at": post.created_at}
                for m in post.mentions
            ],
        )


def get_post(conn: Connection, post_id: str) -> Post | None:
    row = conn.execute(select(posts).where(posts.c.id == post_id)).first()
    return None if row is None else _posts(conn, [row])[0]


def _posts(conn: Connection, rows: list[Row[Any]]) -> list[Post]:
    ids = [r.id for r in rows]
    mentioned: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        query = select(mentions.c.post_id, mentions.c.member_id).where(mentions.c.post_id.in_(ids))
        for post_id, member_id in conn.execute(query):
            mentioned[post_id].append(member_id)
    return [
        Post(r.id, r.author_id, r.parent_id, r.body, r.created_at, tuple(sorted(mentioned[r.id])))
        for r in rows
    ]


def feed(
    conn: Connection, member_id: str, *, before: int | None, limit: int
) -> list[tuple[int, Post]]:
    """Posts (not comments) by the member, their connections, or mentioning them; newest first."""
    mentioning = select(mentions.c.post_id).where(mentions.c.member_id == member_id)
    query = (
        select(posts)
        .where(
            posts.c.parent_id.is_(None),
            or_(
                posts.c.author_id == member_id,
                posts.c.author_id.in_(select(neighbours(member_id).c.id)),
                posts.c.id.in_(mentioning),
            ),
        )
        .order_by(posts.c.seq.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(posts.c.seq < before)
    rows = list(conn.execute(query))
    return list(zip([r.seq for r in rows], _posts(conn, rows), strict=True))


def mentions_of(
    conn: Connection, member_id: str, *, before: int | None, limit: int
) -> list[tuple[int, Post]]:
    query = (
        select(posts)
        .join(mentions, mentions.c.post_id == posts.c.id)
        .where(mentions.c.member_id == member_id)
        .order_by(posts.c.seq.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(posts.c.seq < before)
    rows = list(conn.execute(query))
    return list(zip([r.seq for r in rows], _posts(conn, rows), strict=True))


def contact_fields(conn: Connection, member_id: str) -> dict[str, tuple[str, str]]:
    """field -> (value, visibility)."""
    query = select(contact_info).where(contact_info.c.member_id == member_id)
    query = query.order_by(contact_info.c.field)  # the free routes list them in this order
    return {r.field: (r.value, r.visibility) for r in conn.execute(query)}


def put_contact_field(
    conn: Connection, member_id: str, field: str, value: str, visibility: str
) -> None:
    key = and_(contact_info.c.member_id == member_id, contact_info.c.field == field)
    changed = conn.execute(
        update(contact_info).where(key).values(value=value, visibility=visibility)
    )
    if changed.rowcount == 0:
        conn.execute(
            insert(contact_info).values(
                member_id=member_id, field=field, value=value, visibility=visibility
            )
        )


def delete_contact_field(conn: Connection, member_id: str, field: str) -> None:
    conn.execute(
        delete(contact_info).where(
            contact_info.c.member_id == member_id, contact_info.c.field == field
        )
    )


@dataclass(frozen=True, slots=True)
class Introduction:
    id: str
    requester_id: str
    via_id: str
    target_id: str
    note: str
    status: str
    forward_note: str | None
    thread_id: str | None
    created_at: datetime
    answered_at: datetime | None


def insert_introduction(conn: Connection, intro: Introduction) -> None:
    conn.execute(insert(introductions).values(**asdict(intro)))


def get_introduction(conn: Connection, intro_id: str) -> Introduction | None:
    row = conn.execute(select(introductions).where(introductions.c.id == intro_id)).first()
    return None if row is None else Introduction(**row._mapping)


def answer_introduction(conn: Connection, intro_id: str, **values: Any) -> bool:
    result = conn.execute(
        update(introductions)
        .where(introductions.c.id == intro_id, introductions.c.status == "pending")
        .values(**values)
    )
    return result.rowcount == 1


def introductions_via(
    conn: Connection, member_id: str, *, status: str = "pending", limit: int = 100
) -> list[Introduction]:
    """Introductions the member was asked to make, newest first."""
    query = (
        select(introductions)
        .where(introductions.c.via_id == member_id, introductions.c.status == status)
        .order_by(introductions.c.created_at.desc(), introductions.c.id)
        .limit(limit)
    )
    return [Introduction(**r._mapping) for r in conn.execute(query)]


def groups_of(conn: Connection, member_id: str, limit: int = 200) -> list[tuple[Group, str]]:
    """The member's groups with their status in each ('member' or 'pending'), by name."""
    query = (
        select(groups, group_members.c.status)
        .join(group_members, group_members.c.group_id == groups.c.id)
        .where(group_members.c.member_id == member_id)
        .order_by(groups.c.name, groups.c.id)
        .limit(limit)
    )
    return [
        (Group(r.id, r.name, r.description, r.closed, r.owner_id, r.created_at), r.status)
        for r in conn.execute(query)
    ]


def connection_ids(conn: Connection, member_id: str, limit: int = 500) -> list[str]:
    """The member's 1st-degree connections, by id."""
    theirs = neighbours(member_id)
    return list(conn.execute(select(theirs.c.id).order_by(theirs.c.id).limit(limit)).scalars())


def comments_on(conn: Connection, post_ids: list[str]) -> dict[str, list[Post]]:
    """The comments on each of these posts, oldest first."""
    if not post_ids:
        return {}
    query = select(posts).where(posts.c.parent_id.in_(post_ids)).order_by(posts.c.seq)
    found: dict[str, list[Post]] = {post_id: [] for post_id in post_ids}
    for comment in _posts(conn, list(conn.execute(query))):
        assert comment.parent_id is not None
        found[comment.parent_id].append(comment)
    return found


def groups_by_id(conn: Connection, ids: list[str]) -> dict[str, Group]:
    found = conn.execute(select(groups).where(groups.c.id.in_(ids)))
    return {r.id: Group(**r._mapping) for r in found}


def member_counts(conn: Connection, ids: list[str]) -> dict[str, int]:
    """How many members (not requests to join) each of the groups has; 0s left out."""
    query = (
        select(group_members.c.group_id, func.count())
        .where(group_members.c.group_id.in_(ids), group_members.c.status == "member")
        .group_by(group_members.c.group_id)
    )
    return dict(conn.execute(query).all())


def memberships_in(conn: Connection, member_id: str, ids: list[str]) -> dict[str, str]:
    """The member's status ('member' or 'pending') in each of the groups they are in."""
    query = select(group_members.c.group_id, group_members.c.status).where(
        group_members.c.member_id == member_id, group_members.c.group_id.in_(ids)
    )
    return dict(conn.execute(query).all())
