"""The inbox's queries: threads by view with their unread state, archiving, seen marks,
read notifications, and declines by reason.

Each side of a thread keeps the newest message seq it has seen and, when it archived the
thread, the newest one then (migration 0014); a newer message from the other side makes
the thread unread, and any newer message brings it back from the archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    or_,
    select,
    update,
)

from inmail.domain.inbox import Box
from inmail.store.messaging import ThreadRecord, thread_of_row
from inmail.store.tables import messages, notifications, threads


@dataclass(frozen=True, slots=True)
class InboxRow:
    thread: ThreadRecord
    unread: bool
    archived: bool
    subject: str | None  # the first InMail's subject (None in a thread without one)


# A member id: a value, or a bind parameter in a statement built once (store/chrome.py).
MemberRef = str | ColumnElement[str]


def _mine(member_id: MemberRef, initiator_column: Any, recipient_column: Any) -> ColumnElement[Any]:
    """The column of the member's own side of the thread."""
    return case((threads.c.initiator_id == member_id, initiator_column), else_=recipient_column)


def _newest(*where: ColumnElement[bool]) -> Any:
    return (
        select(func.max(messages.c.seq))
        .where(messages.c.thread_id == threads.c.id, *where)
        .scalar_subquery()
    )


def _states(member_id: MemberRef) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(unread, archived) of each thread for this member, as SQL."""
    seen = _mine(member_id, threads.c.initiator_seen_seq, threads.c.recipient_seen_seq)
    kept = _mine(member_id, threads.c.initiator_archived_seq, threads.c.recipient_archived_seq)
    from_other = _newest(messages.c.sender_id != member_id)
    unread = and_(from_other.is_not(None), from_other > func.coalesce(seen, 0))
    archived = and_(kept.is_not(None), kept >= func.coalesce(_newest(), 0))
    return unread, archived


def _in_box(member_id: str, box: Box, archived: ColumnElement[bool]) -> ColumnElement[bool]:
    if box is Box.ARCHIVED:
        return archived
    if box is Box.INBOX:
        shown = _newest(messages.c.sender_id != member_id).is_not(None)
    elif box is Box.SENT:
        shown = _newest(messages.c.sender_id == member_id).is_not(None)
    else:
        shown = and_(
            threads.c.initiator_id == member_id,
            threads.c.kind == "inmail",
            threads.c.status == "awaiting_response",
        )
    return and_(shown, ~archived)


def _first_subject() -> Any:
    """The subject of the thread's first message that has one (its InMail's)."""
    first = messages.alias("first_message")
    oldest = (
        select(func.min(first.c.seq))
        .where(first.c.thread_id == threads.c.id, first.c.subject.is_not(None))
        .correlate(threads)
        .scalar_subquery()
    )
    return select(messages.c.subject).where(messages.c.seq == oldest).scalar_subquery()


def list_box(
    conn: Connection,
    member_id: str,
    box: Box,
    *,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[InboxRow]:
    """The member's threads in ``box``, most recent activity first, those after ``before``
    (a (last activity, thread id) key), at most ``limit``."""
    unread, archived = _states(member_id)
    query = (
        select(
            threads,
            unread.label("is_unread"),
            archived.label("is_archived"),
            _first_subject().label("first_subject"),
        )
        .where(
            or_(threads.c.initiator_id == member_id, threads.c.recipient_id == member_id),
            _in_box(member_id, box, archived),
        )
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
    rows = []
    for row in conn.execute(query):
        values = dict(row._mapping)
        flags = values.pop("is_unread"), values.pop("is_archived"), values.pop("first_subject")
        thread = thread_of_row(values)
        rows.append(InboxRow(thread, bool(flags[0]), bool(flags[1]), flags[2]))
    return rows


def unread_threads(conn: Connection, member_id: str) -> int:
    """How many of the member's threads (archived ones aside) hold a message they have not seen."""
    return int(conn.execute(select(unread_threads_count(member_id))).scalar_one())


def unread_threads_count(member_id: MemberRef) -> ColumnElement[int]:
    """:func:`unread_threads` as a scalar subquery."""
    unread, archived = _states(member_id)
    return (
        select(func.count())
        .select_from(threads)
        .where(
            or_(threads.c.initiator_id == member_id, threads.c.recipient_id == member_id),
            unread,
            ~archived,
        )
        .scalar_subquery()
    )


def thread_state(conn: Connection, member_id: str, thread_id: str) -> tuple[bool, bool]:
    """(unread, archived) of one thread for the member."""
    unread, archived = _states(member_id)
    row = conn.execute(select(unread, archived).where(threads.c.id == thread_id)).one()
    return bool(row[0]), bool(row[1])


def _side(thread: ThreadRecord, member_id: str) -> str:
    return "initiator" if member_id == thread.initiator_id else "recipient"


def _newest_of(conn: Connection, thread_id: str) -> int:
    query = select(func.max(messages.c.seq)).where(messages.c.thread_id == thread_id)
    return int(conn.execute(query).scalar_one() or 0)


def mark_seen(conn: Connection, thread: ThreadRecord, member_id: str) -> None:
    """The member has seen every message of the thread so far."""
    column = f"{_side(thread, member_id)}_seen_seq"
    values = {column: _newest_of(conn, thread.id)}
    conn.execute(update(threads).where(threads.c.id == thread.id).values(**values))


def set_archived(conn: Connection, thread: ThreadRecord, member_id: str, archived: bool) -> None:
    """Archive the thread for the member (until a newer message comes), or bring it back."""
    column = f"{_side(thread, member_id)}_archived_seq"
    values = {column: _newest_of(conn, thread.id) if archived else None}
    conn.execute(update(threads).where(threads.c.id == thread.id).values(**values))


def mark_notice_read(
    conn: Connection, member_id: str, notice_id: int, at: datetime
) -> datetime | None:
    """Mark one of the member's notices read (the first time counts): when it was read,
    or None when the member has no such notice."""
    conn.execute(
        update(notifications)
        .where(
            notifications.c.id == notice_id,
            notifications.c.member_id == member_id,
            notifications.c.read_at.is_(None),
        )
        .values(read_at=at)
    )
    query = select(notifications.c.read_at).where(
        notifications.c.id == notice_id, notifications.c.member_id == member_id
    )
    row = conn.execute(query).first()
    return None if row is None else row[0]


def mark_read_about(conn: Connection, member_id: str, reference: str, at: datetime) -> None:
    """Mark the member's unread notices about ``reference`` (``thread:<id>``) read."""
    conn.execute(
        update(notifications)
        .where(
            notifications.c.member_id == member_id,
            notifications.c.reference == reference,
            notifications.c.read_at.is_(None),
        )
        .values(read_at=at)
    )


def mark_all_read(conn: Connection, member_id: str, at: datetime) -> int:
    """Mark every unread notice of the member read: how many were unread."""
    moved = conn.execute(
        update(notifications)
        .where(notifications.c.member_id == member_id, notifications.c.read_at.is_(None))
        .values(read_at=at)
    )
    return int(moved.rowcount)


def unread_notices(conn: Connection, member_id: str) -> int:
    return int(conn.execute(select(unread_notices_count(member_id))).scalar_one())


def unread_notices_count(member_id: MemberRef) -> ColumnElement[int]:
    """The member's unread notifications, as a scalar subquery."""
    return (
        select(func.count())
        .select_from(notifications)
        .where(notifications.c.member_id == member_id, notifications.c.read_at.is_(None))
        .scalar_subquery()
    )


def declines_by_reason(conn: Connection, member_id: str) -> dict[str | None, int]:
    """The member's declined InMail threads, counted by the reason given (None: none given)."""
    query = (
        select(threads.c.decline_reason, func.count())
        .where(
            threads.c.initiator_id == member_id,
            threads.c.kind == "inmail",
            threads.c.status == "declined",
        )
        .group_by(threads.c.decline_reason)
    )
    return {row[0]: int(row[1]) for row in conn.execute(query)}


def thread_others(conn: Connection, member_id: str, thread_ids: list[str]) -> dict[str, Any]:
    """Of these threads of the member: (the other member's id, decline reason) by thread id."""
    if not thread_ids:
        return {}
    query = select(
        threads.c.id, threads.c.initiator_id, threads.c.recipient_id, threads.c.decline_reason
    ).where(
        threads.c.id.in_(thread_ids),
        or_(threads.c.initiator_id == member_id, threads.c.recipient_id == member_id),
    )
    return {
        row.id: (
            row.recipient_id if row.initiator_id == member_id else row.initiator_id,
            row.decline_reason,
        )
        for row in conn.execute(query)
    }
