"""Threads, messages and notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from inmail.domain.events import Event, notification_created
from inmail.domain.messaging import AwaitingInmail
from inmail.store import outbox
from inmail.store.tables import AWAITING_INMAIL, messages, notifications, threads


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    id: str
    kind: str
    initiator_id: str
    recipient_id: str
    status: str
    created_at: datetime
    last_message_at: datetime
    last_inmail_at: datetime | None
    followups_sent: int
    opened_at: datetime | None
    responded_at: datetime | None
    group_id: str | None = None
    decline_reason: str | None = None  # the recipient's DeclineReason value, if they gave one

    def involves(self, member_id: str) -> bool:
        return member_id in (self.initiator_id, self.recipient_id)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    thread_id: str
    sender_id: str
    kind: str
    subject: str | None
    body: str
    cost_credits: int
    spend_reference: str | None
    credit_back_days: int
    created_at: datetime
    template_id: str | None = None  # the template an InMail was rendered from, and its
    variant: str | None = None  # variant ("a" or "b"): for the sender's stats per template


# Columns of a thread that are one side's state, not the thread's (store.inbox reads them).
_NOT_IN_RECORD = (
    "duplicate_rank",  # only the one-awaiting index reads it
    "initiator_seen_seq",
    "initiator_archived_seq",
    "recipient_seen_seq",
    "recipient_archived_seq",
)


def thread_of_row(values: dict[str, Any]) -> ThreadRecord:
    """A thread's record from its row's columns (by name)."""
    kept = {name: value for name, value in values.items() if name not in _NOT_IN_RECORD}
    return ThreadRecord(**kept)


def _thread(row: Row[Any]) -> ThreadRecord:
    return thread_of_row(dict(row._mapping))


def _message(row: Row[Any]) -> MessageRecord:
    values = dict(row._mapping)
    values.pop("seq", None)
    return MessageRecord(**values)


def thread_row(record: ThreadRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ThreadRecord.__slots__}


def message_row(record: MessageRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in MessageRecord.__slots__}


def get_thread(conn: Connection, thread_id: str, *, lock: bool = False) -> ThreadRecord | None:
    query = select(threads).where(threads.c.id == thread_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else _thread(row)


def thread_between(conn: Connection, kind: str, a: str, b: str) -> ThreadRecord | None:
    """The most recent thread of ``kind`` between two members, either way round."""
    query = (
        select(threads)
        .where(
            threads.c.kind == kind,
            or_(
                and_(threads.c.initiator_id == a, threads.c.recipient_id == b),
                and_(threads.c.initiator_id == b, threads.c.recipient_id == a),
            ),
        )
        .order_by(threads.c.last_message_at.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _thread(row)


def has_open_conversation(conn: Connection, a: str, b: str) -> bool:
    query = select(threads.c.id).where(
        threads.c.status.in_(("answered", "open")),
        or_(
            and_(threads.c.initiator_id == a, threads.c.recipient_id == b),
            and_(threads.c.initiator_id == b, threads.c.recipient_id == a),
        ),
    )
    return conn.execute(query.limit(1)).first() is not None


def inmail_awaiting_from(
    conn: Connection, sender_id: str, recipient_id: str
) -> ThreadRecord | None:
    """The newest InMail thread from ``sender_id`` to ``recipient_id`` awaiting a response."""
    query = (
        select(threads)
        .where(
            threads.c.initiator_id == sender_id,
            threads.c.recipient_id == recipient_id,
            threads.c.kind == "inmail",
            threads.c.status == "awaiting_response",
        )
        .order_by(threads.c.created_at.desc(), threads.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _thread(row)


def list_threads(
    conn: Connection, member_id: str, *, before: tuple[datetime, str] | None, limit: int
) -> list[ThreadRecord]:
    """Inbox and sent together, most recent activity first."""
    query = (
        select(threads)
        .where(or_(threads.c.initiator_id == member_id, threads.c.recipient_id == member_id))
        .order_by(threads.c.last_message_at.desc(), threads.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        at, thread_id = before
        query = query.where(
            or_(
                threads.c.last_message_at < at,
                and_(threads.c.last_message_at == at, threads.c.id < thread_id),
            )
        )
    return [_thread(r) for r in conn.execute(query)]


def thread_messages(conn: Connection, thread_id: str) -> list[MessageRecord]:
    query = select(messages).where(messages.c.thread_id == thread_id).order_by(messages.c.seq)
    return [_message(r) for r in conn.execute(query)]


def last_messages(conn: Connection, thread_ids: list[str]) -> dict[str, MessageRecord]:
    """The newest message of each of these threads (by insertion order), keyed by thread id."""
    newest = (
        select(func.max(messages.c.seq).label("seq"))
        .where(messages.c.thread_id.in_(thread_ids))
        .group_by(messages.c.thread_id)
        .subquery()
    )
    query = select(messages).join(newest, newest.c.seq == messages.c.seq)
    return {row.thread_id: _message(row) for row in conn.execute(query)}


def get_message(conn: Connection, message_id: str) -> MessageRecord | None:
    row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
    return None if row is None else _message(row)


def insert_message(conn: Connection, record: MessageRecord) -> None:
    conn.execute(insert(messages).values(**message_row(record)))


def insert_thread(conn: Connection, record: ThreadRecord) -> None:
    conn.execute(insert(threads).values(**thread_row(record)))


def update_thread(conn: Connection, thread_id: str, **values: Any) -> None:
    conn.execute(update(threads).where(threads.c.id == thread_id).values(**values))


def awaiting_threads(conn: Connection, initiator_id: str) -> list[ThreadRecord]:
    query = select(threads).where(
        threads.c.initiator_id == initiator_id, threads.c.status == "awaiting_response"
    )
    return [_thread(r) for r in conn.execute(query.order_by(threads.c.last_inmail_at))]


# Built once: it runs on every send and quote, and building the statement costs several
# times what running it does. Its WHERE repeats the partial index's in literals
# (AWAITING_INMAIL), so SQLite and PostgreSQL (in a generic plan too) look the pair up there;
# rank 0 is the newest of a pair's duplicates (and the only thread of everyone else), so the
# index's order is the answer's.
_AWAITING = (
    select(threads.c.id, threads.c.last_inmail_at, threads.c.created_at, threads.c.followups_sent)
    .where(
        threads.c.initiator_id == bindparam("initiator"),
        threads.c.recipient_id == bindparam("recipient"),
        AWAITING_INMAIL,
    )
    .order_by(threads.c.duplicate_rank)
    .limit(1)
)


def awaiting_inmail(
    conn: Connection, initiator_id: str, recipient_id: str
) -> AwaitingInmail | None:
    """The newest InMail thread from ``initiator_id`` to ``recipient_id`` awaiting a response.

    There is at most one, but for the older duplicates migration 0008 kept.
    """
    found = conn.execute(_AWAITING, {"initiator": initiator_id, "recipient": recipient_id})
    row = found.first()
    if row is None:
        return None
    last = row.last_inmail_at or row.created_at  # always set on an InMail thread
    return AwaitingInmail(row.id, last, row.followups_sent)


def inmails_sent_by(conn: Connection, member_id: str) -> list[tuple[datetime, datetime | None]]:
    """(sent at, responded at) of every InMail the member sent, follow-ups included."""
    query = (
        select(messages.c.created_at, threads.c.responded_at)
        .join(threads, threads.c.id == messages.c.thread_id)
        .where(messages.c.sender_id == member_id, messages.c.kind.in_(("inmail", "followup")))
    )
    return [(r[0], r[1]) for r in conn.execute(query)]


def inmail_outcomes(
    conn: Connection, member_id: str
) -> list[tuple[datetime, datetime | None, str]]:
    """(sent at, responded at, thread status) of every InMail the member sent, follow-ups
    included: the status tells a reply ("answered") from a decline ("declined")."""
    query = (
        select(messages.c.created_at, threads.c.responded_at, threads.c.status)
        .join(threads, threads.c.id == messages.c.thread_id)
        .where(messages.c.sender_id == member_id, messages.c.kind.in_(("inmail", "followup")))
    )
    return [(r[0], r[1], r[2]) for r in conn.execute(query)]


def notification_row(
    member_id: str, at: datetime, kind: str, text: str, reference: str, once_key: str | None = None
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "at": at,
        "kind": kind,
        "text": text[:500],
        "reference": reference,
        "once_key": once_key,
    }


def notification_event(row: dict[str, Any]) -> Event:
    """The ``notification.created`` event of a :func:`notification_row` (docs/events.md)."""
    return notification_created(
        row["member_id"], row["at"], row["kind"], row["text"], row["reference"]
    )


def notify(conn: Connection, **row: Any) -> None:
    """Write a notification and its ``notification.created`` event (SPEC §9)."""
    values = notification_row(**row)
    conn.execute(insert(notifications).values(**values))
    outbox.append(conn, [notification_event(values)])


def notify_once(conn: Connection, **row: Any) -> bool:
    """Write a notification keyed by ``once_key`` unless it exists (computed ones: follow-up
    due, credit warnings); True if this call wrote it."""
    exists = select(notifications.c.id).where(notifications.c.once_key == row["once_key"])
    if conn.execute(exists).first() is not None:
        return False
    try:
        with conn.begin_nested():  # the event goes with the row, or neither stays
            values = notification_row(**row)
            conn.execute(insert(notifications).values(**values))
            outbox.append(conn, [notification_event(values)])
    except IntegrityError:
        return False  # a concurrent reader or worker wrote it first
    return True


def list_notifications(
    conn: Connection, member_id: str, *, before: int | None, limit: int
) -> list[Row[Any]]:
    query = (
        select(notifications)
        .where(notifications.c.member_id == member_id)
        .order_by(notifications.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(notifications.c.id < before)
    return list(conn.execute(query))


def group_conversations_started(conn: Connection, member_id: str, since: datetime) -> int:
    """New group-message conversations the member started since ``since`` (replies never count)."""
    query = (
        select(func.count())
        .select_from(threads)
        .where(
            threads.c.kind == "group",
            threads.c.initiator_id == member_id,
            threads.c.created_at >= since,
        )
    )
    return int(conn.execute(query).scalar_one())


def count_messages(conn: Connection, thread_id: str) -> int:
    query = select(func.count()).select_from(messages).where(messages.c.thread_id == thread_id)
    return int(conn.execute(query).scalar_one())
