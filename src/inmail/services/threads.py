"""A member's threads as the inbox shows them: views, unread state, archiving, the follow-up
a sender may send next, and who the sender of an InMail is (for its recipient).

Archiving is the member's own: the other side sees nothing of it, and a newer message
brings the thread back to both boxes (docs/rules.md, "The inbox").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.errors import NotFound
from inmail.domain.inbox import Box, DeclineReason
from inmail.domain.messaging import next_followup_at, snippet
from inmail.services import inmail
from inmail.services.context import Deps
from inmail.services.seats import sending_account
from inmail.store import inbox as inbox_store
from inmail.store import members as member_store
from inmail.store import messaging as message_store
from inmail.store import network as network_store
from inmail.store.members import MemberRecord
from inmail.store.messaging import MessageRecord, ThreadRecord


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One row of a box: the thread, the other member, the first InMail's subject (None
    without one), the newest message's start, and whether the member has unread messages."""

    thread: ThreadRecord
    other: MemberRecord
    subject: str | None
    last_message: MessageRecord | None
    unread: bool
    archived: bool

    @property
    def snippet(self) -> str:
        """The newest message's start, its line breaks as spaces."""
        return (
            "" if self.last_message is None else snippet(" ".join(self.last_message.body.split()))
        )


def list_box(
    deps: Deps,
    *,
    member_id: str,
    box: Box,
    before: tuple[datetime, str] | None = None,
    limit: int = 25,
) -> list[InboxItem]:
    """The member's threads in ``box``, most recent activity first, those after ``before``
    (a (last activity, thread id) key); at most ``limit``."""
    with deps.db.read() as conn:
        rows = inbox_store.list_box(conn, member_id, box, before=before, limit=limit)
        last = message_store.last_messages(conn, [r.thread.id for r in rows])
        others = {r.thread.id: _other(r.thread, member_id) for r in rows}
        people = {m.id: m for m in member_store.members_by_id(conn, sorted(set(others.values())))}
    return [
        _item(row, people[others[row.thread.id]], last.get(row.thread.id))
        for row in rows
        if others[row.thread.id] in people
    ]


def _other(thread: ThreadRecord, member_id: str) -> str:
    return thread.recipient_id if thread.initiator_id == member_id else thread.initiator_id


def _item(row: inbox_store.InboxRow, other: MemberRecord, last: MessageRecord | None) -> InboxItem:
    return InboxItem(row.thread, other, row.subject, last, row.unread, row.archived)


def unread_count(deps: Deps, *, member_id: str) -> int:
    """How many of the member's threads, archived ones aside, hold a message they have not seen."""
    with deps.db.read() as conn:
        return inbox_store.unread_threads(conn, member_id)


def _visible(conn: Connection, member_id: str, thread_id: str) -> ThreadRecord:
    thread = message_store.get_thread(conn, thread_id)
    if thread is None or not thread.involves(member_id):
        raise NotFound(f"there is no thread {thread_id!r}")  # 404: others' threads stay unseen
    return thread


def read_thread(deps: Deps, *, member_id: str, thread_id: str, now: datetime) -> datetime | None:
    """The member has read the thread so far, and its notifications; the recipient's first
    read is also the read receipt (services.inmail.mark_read). Answers when the recipient
    first read it (None: not yet). Raises NotFound for a thread that is not theirs."""
    with deps.db.write() as conn:
        thread = _visible(conn, member_id, thread_id)
        inbox_store.mark_seen(conn, thread, member_id)
        # What it said is read now too: the thread's notices stop counting as unread.
        inbox_store.mark_read_about(conn, member_id, f"thread:{thread_id}", now)
    if member_id == thread.recipient_id:
        return inmail.mark_read(deps, member_id=member_id, thread_id=thread_id, now=now)
    return thread.opened_at


def set_archived(deps: Deps, *, member_id: str, thread_id: str, archived: bool) -> bool:
    """Archive the thread for the member (until a newer message comes) or bring it back:
    whether it is archived now. Raises NotFound for a thread that is not theirs."""
    with deps.db.write() as conn:
        thread = _visible(conn, member_id, thread_id)
        inbox_store.set_archived(conn, thread, member_id, archived)
        return inbox_store.thread_state(conn, member_id, thread_id)[1]


def thread_state(deps: Deps, *, member_id: str, thread_id: str) -> tuple[bool, bool]:
    """(unread, archived) of one of the member's threads. Raises NotFound."""
    with deps.db.read() as conn:
        _visible(conn, member_id, thread_id)
        return inbox_store.thread_state(conn, member_id, thread_id)


@dataclass(frozen=True, slots=True)
class FollowUpChance:
    """What the sender of an unanswered InMail may do next: ``at``, when a follow-up becomes
    possible (None: never, the plan's follow-ups are used up); ``allowed`` at ``now``;
    ``cost`` in credits under the sender's current plan."""

    at: datetime | None
    allowed: bool
    cost: int
    sent: int
    limit: int


def follow_up_chance(deps: Deps, *, thread: ThreadRecord, now: datetime) -> FollowUpChance:
    """:class:`FollowUpChance` of an InMail thread awaiting a response (SPEC §5)."""
    # A seat holder's follow-up follows the team's plan, as its send does (seats.Payer).
    plan = sending_account(deps, thread.initiator_id, now).subscription.plan
    last = thread.last_inmail_at or thread.created_at
    at = next_followup_at(last, thread.followups_sent, plan)
    allowed = at is not None and at <= now
    return FollowUpChance(at, allowed, plan.inmail_cost, thread.followups_sent, plan.max_followups)


@dataclass(frozen=True, slots=True)
class SenderCard:
    """Who wrote to the viewer: their profile, degree (1, 2, or 3 for further) and the
    connections the two share (at most ``MUTUALS_SHOWN`` of them, and their number)."""

    member: MemberRecord
    degree: int
    mutuals: tuple[MemberRecord, ...]
    mutual_count: int


MUTUALS_SHOWN = 5


def sender_card(deps: Deps, *, viewer: str, sender: str) -> SenderCard:
    """The :class:`SenderCard` of ``sender`` as ``viewer`` sees it. Raises NotFound."""
    with deps.db.read() as conn:
        member = member_store.get_member(conn, sender)
        if member is None:
            raise NotFound(f"there is no member {sender!r}")
        degree = network_store.degree(conn, viewer, sender)
        mutual_ids = network_store.mutual_connections(conn, viewer, sender, limit=200, after=None)
        shown = member_store.members_by_id(conn, list(mutual_ids[:MUTUALS_SHOWN]))
    return SenderCard(member, degree, tuple(shown), len(mutual_ids))


NOT_GIVEN = "not_given"


def declines_by_reason(deps: Deps, *, member_id: str) -> dict[str, int]:
    """The member's sent InMails declined, by reason: every DeclineReason value, and
    ``not_given`` (declined without a reason), each with its count (0 included)."""
    with deps.db.read() as conn:
        found = inbox_store.declines_by_reason(conn, member_id)
    counts = {reason.value: found.get(reason.value, 0) for reason in DeclineReason}
    counts[NOT_GIVEN] = sum(n for reason, n in found.items() if reason not in counts)
    return counts
