"""Posts and comments with @mentions, the feed and a member's mentions (SPEC §7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotFound
from inmail.domain.network import POST, mentioned_handles
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write
from inmail.store import messaging as message_store
from inmail.store import social
from inmail.store.social import Post
from inmail.store.tables import members


def create_post(
    deps: Deps,
    *,
    author_id: str,
    body: str,
    now: datetime,
    parent_id: str | None = None,
    idempotency_key: str | None = None,
) -> Post:
    """A post (or a comment on one); each member it @mentions is notified once.

    A retry with the same ``idempotency_key`` answers the first post.
    """
    require_utc(now)
    request = {"body": body, "parent": parent_id}
    write = keyed(Post, f"post:{author_id}", idempotency_key, request)

    def effect(conn: Connection) -> Post:
        POST.check(body, field="body")
        if parent_id is not None:
            parent = social.get_post(conn, parent_id)
            if parent is None or parent.parent_id is not None:
                raise NotFound(f"there is no post {parent_id!r}")
        author = conn.execute(select(members.c.handle).where(members.c.id == author_id)).first()
        if author is None:
            raise NotFound(f"there is no member {author_id!r}")
        author_handle = author[0]
        handles = mentioned_handles(body)
        found = conn.execute(
            select(members.c.handle, members.c.id).where(members.c.handle.in_(handles))
        ).all()
        by_handle = dict(found)
        mentioned = tuple(by_handle[h] for h in handles if h in by_handle)
        post = Post(new_id("p"), author_id, parent_id, body, now, mentioned)
        social.insert_post(conn, post)
        for member_id in mentioned:
            if member_id != author_id:
                message_store.notify(
                    conn,
                    member_id=member_id,
                    at=now,
                    kind="mention",
                    text=f"@{author_handle} mentioned you: {body[:100]}",
                    reference=f"post:{post.id}",
                )
        return Post(post.id, author_id, parent_id, body, now, tuple(sorted(mentioned)))

    return keyed_write(deps, write, now=now, effect=effect)


def feed(
    deps: Deps, *, member_id: str, before: int | None = None, limit: int = 50
) -> list[tuple[int, Post]]:
    with deps.db.read_stale() as conn:  # may lag the primary (docs/rules.md)
        return social.feed(conn, member_id, before=before, limit=limit)


def mentions(
    deps: Deps, *, member_id: str, before: int | None = None, limit: int = 50
) -> list[tuple[int, Post]]:
    with deps.db.read() as conn:
        return social.mentions_of(conn, member_id, before=before, limit=limit)


def comments_on(deps: Deps, *, post_ids: list[str]) -> dict[str, list[Post]]:
    with deps.db.read() as conn:
        return social.comments_on(conn, post_ids)
