"""What a member reads about their conversations: threads, follow-ups due, notifications, stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotFound
from inmail.domain.inbox import notice_text
from inmail.domain.messaging import ResponseStats, SentInmail, ThreadStatus, response_stats
from inmail.domain.notices import FollowUpDue as DueThread
from inmail.domain.templates import Counts, TemplateSend, count_responses
from inmail.services.context import Deps
from inmail.services.notices import due_followups, write_due_notices, write_followup_notices
from inmail.services.seats import sending_account
from inmail.store import inbox as inbox_store
from inmail.store import members as member_store
from inmail.store import messaging as message_store
from inmail.store.messaging import MessageRecord, ThreadRecord


@dataclass(frozen=True, slots=True)
class ThreadView:
    thread: ThreadRecord
    messages: tuple[MessageRecord, ...]


def list_threads(
    deps: Deps, *, member_id: str, before: tuple[datetime, str] | None = None, limit: int = 50
) -> list[ThreadRecord]:
    with deps.db.read() as conn:
        return message_store.list_threads(conn, member_id, before=before, limit=limit)


def list_thread_views(
    deps: Deps, *, member_id: str, before: tuple[datetime, str] | None = None, limit: int = 50
) -> list[ThreadView]:
    """Like :func:`list_threads`, each thread with its last message only (in ``messages``)."""
    with deps.db.read() as conn:
        found = message_store.list_threads(conn, member_id, before=before, limit=limit)
        last = message_store.last_messages(conn, [t.id for t in found])
    return [ThreadView(t, (last[t.id],) if t.id in last else ()) for t in found]


def get_thread(deps: Deps, *, member_id: str, thread_id: str) -> ThreadView:
    with deps.db.read() as conn:
        thread = message_store.get_thread(conn, thread_id)
        if thread is None or not thread.involves(member_id):
            raise NotFound(f"there is no thread {thread_id!r}")
        return ThreadView(thread, tuple(message_store.thread_messages(conn, thread_id)))


FollowUpDue = DueThread[ThreadRecord]
"""A thread due for a follow-up: ``thread`` and ``due_at``."""


def follow_ups(
    deps: Deps,
    *,
    member_id: str,
    now: datetime,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[FollowUpDue]:
    """Unanswered InMail threads whose wait is over and that may still get a follow-up,
    longest-due first (then by thread id); those after ``after``, a (due at, thread id) key.

    Computed from the threads at read time (domain.notices.followups_due), so it never
    waits for a job; the matching "follow-up due" notification is written once, by
    whoever computes it first (this, the notifications page or the worker).
    """
    require_utc(now)
    account = sending_account(deps, member_id, now)  # this cycle's terms (a seat: its team's)
    due = due_followups(deps, member_id, account.subscription.plan, now)
    write_followup_notices(deps, member_id, due)
    if after is not None:
        due = [d for d in due if (d.due_at, d.thread.id) > after]
    return due if limit is None else due[:limit]


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification: ``text`` names who when it is about a thread (domain.inbox.notice_text);
    ``actor_id``: that other member; ``read_at``: None while unread."""

    id: int
    at: datetime
    kind: str
    text: str
    reference: str
    read_at: datetime | None = None
    actor_id: str | None = None


def list_notifications(
    deps: Deps, *, member_id: str, now: datetime, before: int | None = None, limit: int = 50
) -> list[Notice]:
    """Newest first. What fell due since the last look is added first, once each.

    Follow-ups due, credits the next renewal will forfeit, lots about to
    expire and a low balance are computed from the account at read time
    (services.notices.write_due_notices, the worker's rule too), so no job has
    to have run for a member to be warned.
    """
    write_due_notices(deps, member_id, now)
    with deps.db.read() as conn:
        rows = message_store.list_notifications(conn, member_id, before=before, limit=limit)
        about = [r.reference.removeprefix("thread:") for r in rows]
        others = inbox_store.thread_others(conn, member_id, about)
        names = {
            m.id: m.name
            for m in member_store.members_by_id(conn, sorted({o for o, _ in others.values()}))
        }
    notices = []
    for r in rows:
        other, reason = others.get(r.reference.removeprefix("thread:"), (None, None))
        who = None if other is None else names.get(other)
        text = notice_text(r.kind, r.text, who, reason)
        notices.append(Notice(r.id, r.at, r.kind, text, r.reference, r.read_at, other))
    return notices


def mark_notice_read(deps: Deps, *, member_id: str, notice_id: int, now: datetime) -> datetime:
    """Mark one of the member's notifications read: when it was (first) read.
    Raises NotFound for a notification that is not theirs."""
    require_utc(now)
    with deps.db.write() as conn:
        read_at = inbox_store.mark_notice_read(conn, member_id, notice_id, now)
    if read_at is None:
        raise NotFound(f"there is no notification {notice_id}")
    return read_at


def mark_all_notices_read(deps: Deps, *, member_id: str, now: datetime) -> int:
    """Mark every unread notification of the member read: how many were unread."""
    require_utc(now)
    with deps.db.write() as conn:
        return inbox_store.mark_all_read(conn, member_id, now)


def unread_notice_count(deps: Deps, *, member_id: str) -> int:
    with deps.db.read() as conn:
        return inbox_store.unread_notices(conn, member_id)


def stats(deps: Deps, *, member_id: str, now: datetime) -> ResponseStats:
    require_utc(now)
    with deps.db.read_stale() as conn:  # stats may lag the primary (docs/rules.md)
        sent = message_store.inmails_sent_by(conn, member_id)
    return response_stats([SentInmail(at, answered) for at, answered in sent], now)


def response_counts(deps: Deps, *, member_id: str, now: datetime) -> Counts:
    """The member's InMails (follow-ups included) as SPEC §5 counts them at ``now``: sent,
    answered and declined within 30 days, pending (under 30 days, no response yet), no
    response, and the rate over those that count."""
    require_utc(now)
    with deps.db.read() as conn:
        found = message_store.inmail_outcomes(conn, member_id)
    sends = [TemplateSend(at, responded, _outcome(status)) for at, responded, status in found]
    return count_responses(sends, now)


def _outcome(status: str) -> str:
    # Read only when the thread has a response: a decline, or else a reply (the thread is
    # "answered", or "open" once the conversation goes on).
    return "declined" if status == ThreadStatus.DECLINED else "answered"
