"""Idempotency keys: stored in the same transaction as the effect they guard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

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
