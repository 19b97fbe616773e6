"""What a member reads about their conversations: threads, follow-ups due, notifications, stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotFound, UnknownMember
from inmail.domain.messaging import ResponseStats, SentInmail, followup_due_at, response_stats
from inmail.services.context import Deps
from inmail.store import accounts as account_store
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


def get_thread(deps: Deps, *, member_id: str, thread_id: str) -> ThreadView:
    with deps.db.read() as conn:
        thread = message_store.get_thread(conn, thread_id)
        if thread is None or not thread.involves(member_id):
            raise NotFound(f"there is no thread {thread_id!r}")
        return ThreadView(thread, tuple(message_store.thread_messages(conn, thread_id)))


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    thread: ThreadRecord
    due_at: datetime


def follow_ups(deps: Deps, *, member_id: str, now: datetime) -> list[FollowUpDue]:
    """Unanswered InMail threads whose wait is over and that may still get a follow-up.

    Computed from the threads at read time, so it never waits for a job; the
    matching "follow-up due" notification is written once, the first time.
    """
    require_utc(now)
    with deps.db.read() as conn:
        account = account_store.read_account(conn, member_id, deps.plans.lookup(conn))
        if account is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        waiting = message_store.awaiting_threads(conn, member_id)
    plan = account.subscription.plan
    due = [
        FollowUpDue(t, followup_due_at(t.last_inmail_at, plan))
        for t in waiting
        if t.last_inmail_at is not None and t.followups_sent < plan.max_followups
    ]
    due = [d for d in due if d.due_at <= now]
    if due:
        _notify_due(deps, member_id, due)
    return due


def _notify_due(deps: Deps, member_id: str, due: list[FollowUpDue]) -> None:
    with deps.db.write() as conn:
        for item in due:
            thread = item.thread
            message_store.notify_once(
                conn,
                member_id=member_id,
                at=item.due_at,
                kind="follow_up_due",
                text="No response for a while: you can send a follow-up",
                reference=f"thread:{thread.id}",
                once_key=f"follow-up-due:{thread.id}:{thread.followups_sent}",
            )


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    at: datetime
    kind: str
    text: str
    reference: str


def list_notifications(
    deps: Deps, *, member_id: str, now: datetime, before: int | None = None, limit: int = 50
) -> list[Notice]:
    """Newest first. Follow-ups that fell due since the last look are added first."""
    follow_ups(deps, member_id=member_id, now=now)
    with deps.db.read() as conn:
        rows = message_store.list_notifications(conn, member_id, before=before, limit=limit)
    return [Notice(r.id, r.at, r.kind, r.text, r.reference) for r in rows]


def stats(deps: Deps, *, member_id: str, now: datetime) -> ResponseStats:
    require_utc(now)
    with deps.db.read() as conn:
        sent = message_store.inmails_sent_by(conn, member_id)
    return response_stats([SentInmail(at, answered) for at, answered in sent], now)
