"""Member bearer tokens, stored only as SHA-256 hashes, each with a public id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select

from inmail.store.tables import member_tokens


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token as its owner may see it: its id and when it was made (never the token)."""

    id: str
    created_at: datetime


def insert_token(
    conn: Connection, token_hash: str, member_id: str, at: datetime, token_id: str
) -> None:
    conn.execute(
        member_tokens.insert().values(
            token_hash=token_hash, member_id=member_id, created_at=at, id=token_id
        )
    )


def member_for_token(conn: Connection, token_hash: str) -> str | None:
    query = select(member_tokens.c.member_id).where(member_tokens.c.token_hash == token_hash)
    return conn.execute(query).scalar_one_or_none()


def tokens_of(conn: Connection, member_id: str) -> list[TokenRecord]:
    """The member's tokens, newest first."""
    query = (
        select(member_tokens.c.id, member_tokens.c.created_at)
        .where(member_tokens.c.member_id == member_id)
        .order_by(member_tokens.c.created_at.desc(), member_tokens.c.id)
    )
    return [TokenRecord(row.id, row.created_at) for row in conn.execute(query)]


def delete_token(conn: Connection, member_id: str, token_id: str) -> str | None:
    """Delete the member's token ``token_id``; its hash, or None when they have no such token."""
    key = (member_tokens.c.member_id == member_id) & (member_tokens.c.id == token_id)
    found = conn.execute(select(member_tokens.c.token_hash).where(key)).scalar_one_or_none()
    if found is not None:
        conn.execute(delete(member_tokens).where(key))
    return found
