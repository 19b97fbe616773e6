"""Webhook endpoints and deliveries (migration 0018): the SQL behind services/webhooks.py.

Two steps move an event to a receiver, each safe with any number of workers:

* **dispatch**: per endpoint, under its row lock (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL: a worker skips an endpoint another is dispatching), read the
  outbox after the endpoint's cursor (store/outbox.read_after), insert one
  delivery per wanted event and move the cursor, in one transaction;
* **claim**: take pending, due, unleased deliveries that are first in their
  (endpoint, member) group (``FOR UPDATE SKIP LOCKED`` again), lease them and
  count the attempt; the result is recorded afterwards. SQLite's write
  transactions (``BEGIN IMMEDIATE``) serialise both steps anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from inmail.domain.webhooks import DeliveryStatus, Outcome
from inmail.store.outbox import Position, commit_order
from inmail.store.tables import outbox_events, webhook_deliveries, webhook_endpoints

E = webhook_endpoints.c
D = webhook_deliveries.c
PENDING = DeliveryStatus.PENDING.value

# As store/outbox.py: events of transactions at or above the oldest one running may still be
# joined by others that commit later, so a new endpoint's cursor starts below them.
_PG_HORIZON: ColumnElement[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
)


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    """An endpoint as stored; ``cursor`` is None before its first event."""

    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: datetime
    cursor: Position | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A delivery as stored (``member_id`` None for the operator's own events)."""

    seq: int
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    member_id: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed delivery with what sending it needs: the endpoint's address and secret, and
    the event (``event_at`` and ``payload`` None when the outbox no longer holds it)."""

    seq: int
    id: str
    endpoint_id: str
    url: str
    secret: str
    attempts: int
    event_id: str
    event_type: str
    member_id: str | None
    event_at: datetime | None
    payload: str | None


def _endpoint(row: Row[Any]) -> EndpointRecord:
    cursor = None if row.cursor_tx is None else Position(row.cursor_tx, row.cursor_seq)
    return EndpointRecord(row.id, row.url, tuple(row.events), row.secret, row.created_at, cursor)


def _delivery(row: Row[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        row.seq,
        row.id,
        row.endpoint_id,
        row.event_id,
        row.event_type,
        row.member_key or None,
        DeliveryStatus(row.status),
        row.attempts,
        row.next_attempt_at,
        row.last_attempt_at,
        row.last_status_code,
        row.last_error,
        row.delivered_at,
        row.created_at,
    )


def outbox_head(conn: Connection) -> Position | None:
    """Where a reader that has read every event visible now stands (None: the outbox is
    empty). A new endpoint starts there: it gets the events committed after it."""
    query = select(outbox_events.c.tx, outbox_events.c.seq).order_by(
        *(c.desc() for c in commit_order(conn))
    )
    if conn.dialect.name != "sqlite":
        query = query.where(outbox_events.c.tx < _PG_HORIZON)
    row = conn.execute(query.limit(1)).first()
    return None if row is None else Position(row.tx, row.seq)


def insert_endpoint(conn: Connection, endpoint: EndpointRecord) -> None:
    cursor = endpoint.cursor
    conn.execute(
        insert(webhook_endpoints).values(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            secret=endpoint.secret,
            created_at=endpoint.created_at,
            cursor_tx=None if cursor is None else cursor.tx,
            cursor_seq=None if cursor is None else cursor.seq,
        )
    )


def list_endpoints(conn: Connection) -> list[EndpointRecord]:
    """Every endpoint, oldest first."""
    rows = conn.execute(select(webhook_endpoints).order_by(E.created_at, E.id))
    return [_endpoint(r) for r in rows]


def get_endpoint(conn: Connection, endpoint_id: str) -> EndpointRecord | None:
    row = conn.execute(select(webhook_endpoints).where(E.id == endpoint_id)).first()
    return None if row is None else _endpoint(row)


def lock_endpoint(conn: Connection, endpoint_id: str) -> EndpointRecord | None:
    """The endpoint, locked for this write transaction; None when it is gone or (on
    PostgreSQL) another worker holds it: that one is dispatching it."""
    query = select(webhook_endpoints).where(E.id == endpoint_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = conn.execute(query).first()
    return None if row is None else _endpoint(row)


def delete_endpoint(conn: Connection, endpoint_id: str) -> bool:
    """Remove the endpoint and all its deliveries; False when there was none."""
    conn.execute(delete(webhook_deliveries).where(D.endpoint_id == endpoint_id))
    return conn.execute(delete(webhook_endpoints).where(E.id == endpoint_id)).rowcount > 0


def counts(conn: Connection) -> dict[tuple[str, str], int]:
    """Deliveries per (endpoint id, status)."""
    query = select(D.endpoint_id, D.status, func.count()).group_by(D.endpoint_id, D.status)
    return {(r[0], r[1]): int(r[2]) for r in conn.execute(query)}


def set_cursor(conn: Connection, endpoint_id: str, position: Position) -> None:
    conn.execute(
        update(webhook_endpoints)
        .where(E.id == endpoint_id)
        .values(cursor_tx=position.tx, cursor_seq=position.seq)
    )


def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """New pending deliveries: each row has id, endpoint_id, event_id, event_type,
    member_key, next_attempt_at and created_at."""
    if rows:
        conn.execute(
            insert(webhook_deliveries),
            [row | {"status": PENDING, "attempts": 0} for row in rows],
        )


def _first_in_group() -> ColumnElement[bool]:
    """No earlier pending delivery for the same endpoint and member (the ordering rule)."""
    earlier = webhook_deliveries.alias("earlier")
    return ~exists().where(
        earlier.c.endpoint_id == D.endpoint_id,
        earlier.c.member_key == D.member_key,
        earlier.c.status == PENDING,
        earlier.c.seq < D.seq,
    )


def claim_due(conn: Connection, now: datetime, until: datetime, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` deliveries that may be sent at ``now``: pending, due, not held
    by another worker's lease, first in their (endpoint, member) group. Each is leased until
    ``until`` and counts one more attempt. Call in a write transaction."""
    query = (
        select(D.seq)
        .where(
            D.status == PENDING,
            D.next_attempt_at <= now,
            or_(D.leased_until.is_(None), D.leased_until <= now),
            _first_in_group(),
        )
        .order_by(D.next_attempt_at, D.seq)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
    seqs = list(conn.execute(query).scalars())
    if not seqs:
        return []
    conn.execute(
        update(webhook_deliveries)
        .where(D.seq.in_(seqs))
        .values(leased_until=until, attempts=D.attempts + 1)
    )
    read = (
        select(
            D.seq,
            D.id,
            D.endpoint_id,
            E.url,
            E.secret,
            D.attempts,
            D.event_id,
            D.event_type,
            D.member_key,
            outbox_events.c.at,
            outbox_events.c.payload,
        )
        .join(webhook_endpoints, E.id == D.endpoint_id)
        .outerjoin(outbox_events, outbox_events.c.id == D.event_id)
        .where(D.seq.in_(seqs))
        .order_by(D.seq)
    )
    return [
        Claimed(
            r.seq,
            r.id,
            r.endpoint_id,
            r.url,
            r.secret,
            r.attempts,
            r.event_id,
            r.event_type,
            r.member_key or None,
            r.at,
            r.payload,
        )
        for r in conn.execute(read)
    ]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try's result to record: its delivery, when it ended, the answer's status code
    (None without one) and what the rules made of it."""

    seq: int
    at: datetime
    status_code: int | None
    outcome: Outcome


def record(conn: Connection, attempts: Sequence[Attempt]) -> None:
    """Store each try's result and end its lease (a delivery the operator deleted, or that
    is no longer pending, is left as it is)."""
    if not attempts:
        return
    statement = (
        update(webhook_deliveries)
        .where(D.seq == bindparam("b_seq"), D.status == PENDING)
        .values(
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next", type_=D.next_attempt_at.type),
            leased_until=None,
            last_attempt_at=bindparam("b_at", type_=D.last_attempt_at.type),
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
            delivered_at=bindparam("b_delivered", type_=D.delivered_at.type),
        )
    )
    conn.execute(
        statement,
        [
            {
                "b_seq": a.seq,
                "b_status": a.outcome.status.value,
                # A delivered or dead delivery keeps its last due time: the column is required.
                "b_next": a.outcome.next_attempt_at or a.at,
                "b_at": a.at,
                "b_code": a.status_code,
                "b_error": a.outcome.error,
                "b_delivered": a.at if a.outcome.status is DeliveryStatus.DELIVERED else None,
            }
            for a in attempts
        ],
    )


def release(conn: Connection, seqs: Sequence[int]) -> None:
    """Give back claimed deliveries a stopping worker did not try (not counted as attempts)."""
    if seqs:
        conn.execute(
            update(webhook_deliveries)
            .where(D.seq.in_(seqs), D.status == PENDING)
            .values(leased_until=None, attempts=D.attempts - 1)
        )


def list_deliveries(
    conn: Connection,
    endpoint_id: str,
    *,
    status: DeliveryStatus | None,
    before: int | None,
    limit: int,
) -> list[DeliveryRecord]:
    """An endpoint's deliveries, newest first, only ``status``'s when given, before the
    delivery ``before`` (a seq) when given."""
    query = select(webhook_deliveries).where(D.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(D.status == status.value)
    if before is not None:
        query = query.where(D.seq < before)
    rows = conn.execute(query.order_by(D.seq.desc()).limit(limit))
    return [_delivery(r) for r in rows]


def get_delivery(conn: Connection, endpoint_id: str, delivery_id: str) -> DeliveryRecord | None:
    query = select(webhook_deliveries).where(
        and_(D.endpoint_id == endpoint_id, D.id == delivery_id)
    )
    row = conn.execute(query).first()
    return None if row is None else _delivery(row)


def retry_now(conn: Connection, seq: int, now: datetime) -> None:
    """Make a delivery pending and due at ``now``, its attempts counted from zero again."""
    conn.execute(
        update(webhook_deliveries)
        .where(D.seq == seq)
        .values(status=PENDING, attempts=0, next_attempt_at=now, leased_until=None)
    )
