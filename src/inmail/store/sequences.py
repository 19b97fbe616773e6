"""Scheduled follow-ups: the rows, the claim of due ones, and the guards that end them.

A schedule leaves ``pending`` once, by a conditional ``UPDATE ... WHERE status =
'pending'``: the statement is the check and the lock at once, so a reply that
cancels it and a run that sends it can never both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Update, and_, bindparam, func, or_, select, update

from inmail.domain.sequences import FollowUpRequest, ScheduleStatus
from inmail.store.tables import scheduled_followups as table
from inmail.store.tables import threads

PENDING = ScheduleStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class ScheduledRecord:
    id: str
    thread_id: str
    sender_id: str
    after_days: int
    due_at: datetime
    body: str | None
    template_id: str | None
    status: str
    attempts: int
    claimed_until: datetime | None
    reason_code: str | None
    reason: str | None
    message_id: str | None
    created_at: datetime
    updated_at: datetime
    recipient_id: str = ""  # the thread's recipient (read with it; not a column)


_COLUMNS = tuple(name for name in ScheduledRecord.__slots__ if name != "recipient_id")
# Every read names the thread's recipient too: whom the follow-up goes to.
_READ = select(table, threads.c.recipient_id).join(threads, threads.c.id == table.c.thread_id)


def _record(row: Row[Any]) -> ScheduledRecord:
    return ScheduledRecord(**row._mapping)


def schedule_row(record: ScheduledRecord) -> dict[str, Any]:
    """The row to insert (in the transaction of the InMail it follows up)."""
    return {name: getattr(record, name) for name in _COLUMNS}


def new_schedule_row(
    schedule_id: str,
    thread_id: str,
    sender_id: str,
    request: FollowUpRequest,
    due_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """A new pending schedule's row (inserted with the InMail it follows up)."""
    record = ScheduledRecord(
        id=schedule_id,
        thread_id=thread_id,
        sender_id=sender_id,
        after_days=request.after_days,
        due_at=due_at,
        body=request.body,
        template_id=request.template_id,
        status=PENDING,
        attempts=0,
        claimed_until=None,
        reason_code=None,
        reason=None,
        message_id=None,
        created_at=now,
        updated_at=now,
    )
    return schedule_row(record)


def get(conn: Connection, schedule_id: str) -> ScheduledRecord | None:
    row = conn.execute(_READ.where(table.c.id == schedule_id)).first()
    return None if row is None else _record(row)


def for_thread(conn: Connection, thread_id: str) -> ScheduledRecord | None:
    row = conn.execute(_READ.where(table.c.thread_id == thread_id)).first()
    return None if row is None else _record(row)


def list_for_sender(
    conn: Connection,
    sender_id: str,
    *,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[ScheduledRecord]:
    """A sender's schedules, soonest due first (then by id); those after ``after``."""
    query = _READ.where(table.c.sender_id == sender_id)
    if status is not None:
        query = query.where(table.c.status == status)
    if after is not None:
        at, schedule_id = after
        query = query.where(
            or_(table.c.due_at > at, and_(table.c.due_at == at, table.c.id > schedule_id))
        )
    query = query.order_by(table.c.due_at, table.c.id).limit(limit)
    return [_record(r) for r in conn.execute(query)]


_EARLIEST = select(func.min(table.c.due_at)).where(
    table.c.sender_id == bindparam("sender_id"), table.c.status == PENDING
)


def earliest_pending(conn: Connection, sender_id: str) -> datetime | None:
    """When the sender's first pending schedule is due, or None (one index lookup)."""
    found: datetime | None = conn.execute(_EARLIEST, {"sender_id": sender_id}).scalar()
    return found


def claim_due(
    conn: Connection,
    now: datetime,
    until: datetime,
    *,
    limit: int,
    sender_id: str | None = None,
) -> list[ScheduledRecord]:
    """Claim up to ``limit`` pending schedules due by ``now`` and free (never claimed, or
    their claim ran out): each is held until ``until`` and counts one more attempt.

    Call it in a write transaction. On PostgreSQL the rows are picked ``FOR UPDATE SKIP
    LOCKED``, so concurrent claimers take disjoint sets without waiting for each other;
    SQLite's write transaction (``BEGIN IMMEDIATE``) serialises claimers anyway.
    """
    query = select(table.c.id).where(
        table.c.status == PENDING,
        table.c.due_at <= now,
        or_(table.c.claimed_until.is_(None), table.c.claimed_until <= now),
    )
    if sender_id is not None:
        query = query.where(table.c.sender_id == sender_id)
    query = query.order_by(table.c.due_at, table.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    if not ids:
        return []
    conn.execute(
        update(table)
        .where(table.c.id.in_(ids))
        .values(claimed_until=until, attempts=table.c.attempts + 1, updated_at=now)
    )
    rows = conn.execute(_READ.where(table.c.id.in_(ids)).order_by(table.c.due_at, table.c.id))
    return [_record(r) for r in rows]


def release(conn: Connection, schedule_ids: list[str], now: datetime) -> None:
    """Give back claimed schedules a stopping run will not get to (not counted as attempts)."""
    if schedule_ids:
        conn.execute(
            update(table)
            .where(table.c.id.in_(schedule_ids), table.c.status == PENDING)
            .values(claimed_until=None, attempts=table.c.attempts - 1, updated_at=now)
        )


def finish_statement(
    schedule_id: str,
    status: ScheduleStatus,
    now: datetime,
    *,
    reason_code: str | None = None,
    reason: str | None = None,
    message_id: str | None = None,
) -> Update:
    """Move one pending schedule to ``status``: changes one row, or none if it left
    ``pending`` already (a guard: see services.credits.spend_credits' ``also_execute``)."""
    return (
        update(table)
        .where(table.c.id == schedule_id, table.c.status == PENDING)
        .values(
            status=status.value,
            reason_code=reason_code,
            reason=None if reason is None else reason[:500],
            message_id=message_id,
            claimed_until=None,
            updated_at=now,
        )
    )


def finish(
    conn: Connection, schedule_id: str, status: ScheduleStatus, now: datetime, **why: Any
) -> bool:
    """:func:`finish_statement` run: True if this call ended the schedule."""
    return conn.execute(finish_statement(schedule_id, status, now, **why)).rowcount == 1


def cancel_for_thread(
    conn: Connection, thread_id: str, reason_code: str, reason: str, now: datetime
) -> bool:
    """Cancel the thread's pending schedule, if it has one (a reply or a decline came)."""
    moved = conn.execute(
        update(table)
        .where(table.c.thread_id == thread_id, table.c.status == PENDING)
        .values(
            status=ScheduleStatus.CANCELLED.value,
            reason_code=reason_code,
            reason=reason,
            claimed_until=None,
            updated_at=now,
        )
    )
    return moved.rowcount == 1


def pending_for_thread(conn: Connection, thread_id: str) -> str | None:
    """The id of the thread's pending schedule, if any."""
    query = select(table.c.id).where(table.c.thread_id == thread_id, table.c.status == PENDING)
    found: str | None = conn.execute(query).scalar()
    return found


def note_retry(conn: Connection, schedule_id: str, reason: str, now: datetime) -> None:
    """Keep why a run ended without a decision; the claim runs out and a later run retries."""
    conn.execute(
        update(table)
        .where(table.c.id == schedule_id, table.c.status == PENDING)
        .values(reason=reason[:500], updated_at=now)
    )
