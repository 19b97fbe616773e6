"""Bulk sends and their recipients, and the facts a bulk send reads for many members at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, String, bindparam, func, insert, or_, select, update

from inmail.store.fast_spend import Guard
from inmail.store.tables import bulk_send_recipients, bulk_sends, members

UNFINISHED = ("pending", "running")


@dataclass(frozen=True, slots=True)
class BulkRecord:
    id: str
    owner_id: str
    template_id: str
    connections: str
    status: str
    recipients: int
    max_credits: int
    max_overage_minor: int | None
    credits_spent: int
    overage_minor: int
    overage_currency: str | None
    stop: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    bulk_id: str
    position: int
    member_id: str
    status: str
    channel: str | None
    variant: str | None
    subject: str | None  # the text confirmed, to send (None: not sent, or a free message)
    body: str | None
    cost_credits: int
    overage_minor: int
    message_id: str | None
    thread_id: str | None
    reason: dict[str, Any] | None
    updated_at: datetime
    handle: str | None = None  # of the member listed, when there is one
    name: str | None = None


_BULK = BulkRecord.__slots__
_RECIPIENT = tuple(n for n in RecipientRecord.__slots__ if n not in ("handle", "name"))


def _bulk(row: Row[Any]) -> BulkRecord:
    return BulkRecord(**{name: row._mapping[name] for name in _BULK})


def insert_bulk(conn: Connection, bulk: BulkRecord, recipients: Sequence[RecipientRecord]) -> None:
    conn.execute(insert(bulk_sends).values({n: getattr(bulk, n) for n in _BULK}))
    rows = [{n: getattr(r, n) for n in _RECIPIENT} for r in recipients]
    conn.execute(insert(bulk_send_recipients), rows)


def get_bulk(conn: Connection, bulk_id: str) -> BulkRecord | None:
    row = conn.execute(select(bulk_sends).where(bulk_sends.c.id == bulk_id)).first()
    return None if row is None else _bulk(row)


def list_bulks(
    conn: Connection, owner_id: str, *, before: int | None, limit: int
) -> list[tuple[int, BulkRecord]]:
    """(seq, bulk send) of the owner's bulk sends, newest first, those before ``before``."""
    query = (
        select(bulk_sends)
        .where(bulk_sends.c.owner_id == owner_id)
        .order_by(bulk_sends.c.seq.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(bulk_sends.c.seq < before)
    return [(row.seq, _bulk(row)) for row in conn.execute(query)]


def status_counts(conn: Connection, bulk_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """For each bulk send, how many of its recipients are pending, sent and not sent."""
    r = bulk_send_recipients
    query = (
        select(r.c.bulk_id, r.c.status, func.count())
        .where(r.c.bulk_id.in_(list(bulk_ids)))
        .group_by(r.c.bulk_id, r.c.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for bulk_id, status, count in conn.execute(query):
        counts.setdefault(bulk_id, {})[status] = int(count)
    return counts


def recipients(
    conn: Connection,
    bulk_id: str,
    *,
    after: int | None = None,
    limit: int | None = None,
    status: str | None = None,
) -> list[RecipientRecord]:
    """The bulk send's recipients in list order (after position ``after``), each with the
    handle and name of the member listed (None for an id that names nobody)."""
    r = bulk_send_recipients
    query = (
        select(r, members.c.handle, members.c.name)
        .outerjoin(members, members.c.id == r.c.member_id)
        .where(r.c.bulk_id == bulk_id)
        .order_by(r.c.position)
        .limit(limit)
    )
    if after is not None:
        query = query.where(r.c.position > after)
    if status is not None:
        query = query.where(r.c.status == status)
    return [RecipientRecord(**row._mapping) for row in conn.execute(query)]


# ---- a run's writes: each a conditional UPDATE, so two runs of one bulk send agree -------


def mark_running(conn: Connection, bulk_id: str, at: datetime) -> None:
    conn.execute(
        update(bulk_sends)
        .where(bulk_sends.c.id == bulk_id, bulk_sends.c.status == "pending")
        .values(status="running", updated_at=at)
    )


_b, _r = bulk_sends, bulk_send_recipients
# Built once with bind parameters (p_..., apart from the columns' names): every send of
# every bulk send runs the same two statements, which the spend's hot path compiles once
# (store.fast_spend.Guard).
_COUNT_SPENT = (
    update(_b)
    .where(
        _b.c.id == bindparam("p_bulk_id"),
        _b.c.status != "done",
        _b.c.status != "stopped",
        _b.c.credits_spent + bindparam("p_credits") <= _b.c.max_credits,
        or_(
            _b.c.max_overage_minor.is_(None),
            _b.c.overage_minor + bindparam("p_overage") <= _b.c.max_overage_minor,
        ),
    )
    .values(
        credits_spent=_b.c.credits_spent + bindparam("p_credits"),
        overage_minor=_b.c.overage_minor + bindparam("p_overage"),
        overage_currency=func.coalesce(
            bindparam("p_currency", type_=String), _b.c.overage_currency
        ),
        updated_at=bindparam("p_at"),
    )
)
_MARK_SENT = (
    update(_r)
    .where(
        _r.c.bulk_id == bindparam("p_bulk_id"),
        _r.c.position == bindparam("p_pos"),
        _r.c.status == "pending",
    )
    .values(
        status="sent",
        channel=bindparam("p_channel"),
        cost_credits=bindparam("p_cost"),
        overage_minor=bindparam("p_overage"),
        message_id=bindparam("p_message_id"),
        thread_id=bindparam("p_thread_id"),
        updated_at=bindparam("p_at"),
    )
)


def count_spent(
    bulk_id: str, *, credits: int, overage_minor: int, currency: str | None, at: datetime
) -> Guard:
    """Count one send's credits and overage into the bulk send, only while it is running
    and both stay within what the member confirmed: the lock and the check at once, run
    in the send's own transaction (it must change one row, or the send rolls back)."""
    params = {"p_bulk_id": bulk_id, "p_credits": credits, "p_overage": overage_minor}
    return Guard(_COUNT_SPENT, params | {"p_currency": currency, "p_at": at})


def mark_sent(
    bulk_id: str,
    position: int,
    at: datetime,
    *,
    channel: str,
    cost: int,
    overage_minor: int,
    message_id: str,
    thread_id: str,
) -> Guard:
    """A pending recipient marked sent, in the send's own transaction (it must change one
    row: no other run settled them first)."""
    params = {"p_bulk_id": bulk_id, "p_pos": position, "p_channel": channel, "p_cost": cost}
    params |= {"p_overage": overage_minor, "p_message_id": message_id, "p_thread_id": thread_id}
    return Guard(_MARK_SENT, params | {"p_at": at})


def get_recipient(conn: Connection, bulk_id: str, position: int) -> RecipientRecord | None:
    r = bulk_send_recipients
    row = conn.execute(select(r).where(r.c.bulk_id == bulk_id, r.c.position == position)).first()
    return None if row is None else RecipientRecord(**row._mapping)


def settle(conn: Connection, bulk_id: str, position: int, at: datetime, **values: Any) -> bool:
    """Write a pending recipient's outcome (sent or not sent); False if it was settled."""
    r = bulk_send_recipients
    moved = conn.execute(
        update(r)
        .where(r.c.bulk_id == bulk_id, r.c.position == position, r.c.status == "pending")
        .values(updated_at=at, **values)
    )
    return moved.rowcount == 1


def stop(
    conn: Connection, bulk_id: str, stop: dict[str, Any], rest: dict[str, Any], at: datetime
) -> bool:
    """Stop the bulk send: every recipient still pending is not sent for ``rest``."""
    moved = conn.execute(
        update(bulk_sends)
        .where(bulk_sends.c.id == bulk_id, bulk_sends.c.status.in_(UNFINISHED))
        .values(status="stopped", stop=stop, finished_at=at, updated_at=at)
    )
    if moved.rowcount != 1:
        return False
    r = bulk_send_recipients
    conn.execute(
        update(r)
        .where(r.c.bulk_id == bulk_id, r.c.status == "pending")
        .values(status="not_sent", reason=rest, updated_at=at)
    )
    return True


def finish(conn: Connection, bulk_id: str, at: datetime) -> bool:
    """Done, once no recipient is pending; False while one is (or if it was finished)."""
    r = bulk_send_recipients
    pending = select(r.c.position).where(r.c.bulk_id == bulk_id, r.c.status == "pending")
    moved = conn.execute(
        update(bulk_sends)
        .where(bulk_sends.c.id == bulk_id, bulk_sends.c.status.in_(UNFINISHED), ~pending.exists())
        .values(status="done", finished_at=at, updated_at=at)
    )
    return moved.rowcount == 1


def unfinished(conn: Connection, limit: int) -> list[str]:
    """Bulk sends still pending or running, oldest first (to resume after a restart)."""
    query = (
        select(bulk_sends.c.id)
        .where(bulk_sends.c.status.in_(UNFINISHED))
        .order_by(bulk_sends.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
