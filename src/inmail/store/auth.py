"""Member bearer tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from inmail.store.tables import member_tokens


def insert_token(conn: Connection, token_hash: str, member_id: str, at: datetime) -> None:
    conn.execute(
        member_tokens.insert().values(token_hash=token_hash, member_id=member_id, created_at=at)
    )


def member_for_token(conn: Connection, token_hash: str) -> str | None:
    query = select(member_tokens.c.member_id).where(member_tokens.c.token_hash == token_hash)
    return conn.execute(query).scalar_one_or_none()
