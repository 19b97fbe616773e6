"""Invitation (password-set) links: only each token's SHA-256 is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from inmail.store.tables import member_invitation_links as links


@dataclass(frozen=True, slots=True)
class InvitationLinkRecord:
    member_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


def replace_link(
    conn: Connection, token_hash: str, member_id: str, at: datetime, expires_at: datetime
) -> None:
    """The member's new link; their earlier unused links stop working (the newest one counts)."""
    conn.execute(delete(links).where(links.c.member_id == member_id, links.c.used_at.is_(None)))
    conn.execute(
        links.insert().values(
            token_hash=token_hash, member_id=member_id, created_at=at, expires_at=expires_at
        )
    )


def find_link(conn: Connection, token_hash: str) -> InvitationLinkRecord | None:
    query = select(links.c.member_id, links.c.created_at, links.c.expires_at, links.c.used_at)
    row = conn.execute(query.where(links.c.token_hash == token_hash)).first()
    return None if row is None else InvitationLinkRecord(*row)


def mark_used(conn: Connection, token_hash: str, at: datetime) -> bool:
    """Mark the link used, once: False when another request used it first."""
    done = conn.execute(
        update(links)
        .where(links.c.token_hash == token_hash, links.c.used_at.is_(None))
        .values(used_at=at)
    )
    return done.rowcount == 1
