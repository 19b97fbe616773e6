"""Idempotency keys: stored in the same transaction as the effect they guard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, tuple_

from inmail.store.tables import idempotency_keys


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    response: str


def find_key(conn: Connection, scope: str, key: str) -> StoredResponse | None:
    row = conn.execute(
        select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
            idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
        )
    ).first()
    return None if row is None else StoredResponse(row.fingerprint, row.response)


def insert_key(
    conn: Connection, scope: str, key: str, fingerprint: str, response: str, at: datetime
) -> None:
    conn.execute(
        idempotency_keys.insert().values(
            scope=scope, key=key, fingerprint=fingerprint, response=response, created_at=at
        )
    )


def prune_keys(conn: Connection, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` keys stored before ``before``, oldest first: how many.

    By the index on ``created_at`` (migration 0017), so a batch reads only what it deletes.
    """
    oldest = (
        select(idempotency_keys.c.scope, idempotency_keys.c.key)
        .where(idempotency_keys.c.created_at < before)
        .order_by(idempotency_keys.c.created_at)
        .limit(limit)
    )
    gone = conn.execute(
        delete(idempotency_keys).where(
            tuple_(idempotency_keys.c.scope, idempotency_keys.c.key).in_(oldest)
        )
    )
    return gone.rowcount
