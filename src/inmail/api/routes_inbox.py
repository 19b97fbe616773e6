"""The inbox's API: a box of threads, archiving, unread counts, reading notifications."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from inmail.api import render
from inmail.api.deps import CurrentMember, IdPath, Now, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.inbox_schemas import ArchivedOut, MarkedOut, NotificationReadOut, UnreadOut
from inmail.api.pagination import encode_thread_cursor
from inmail.api.schemas import Page, ThreadOut
from inmail.domain.errors import NotFound
from inmail.domain.inbox import Box
from inmail.services import inbox, threads
from inmail.services.context import Deps
from inmail.services.threads import InboxItem

router = APIRouter(
    prefix="/v1", tags=["messaging"], responses=problem_responses(401, 403, 404, 422)
)


def box_page(
    deps: Deps, member_id: str, box: Box, before: tuple[datetime, str] | None, limit: int
) -> Page[ThreadOut]:
    """GET /v1/threads?box=: a page of the box, each thread with its last message only."""
    found = threads.list_box(deps, member_id=member_id, box=box, before=before, limit=limit)
    items = [_thread(item) for item in found]
    last = found[-1].thread if len(found) == limit else None
    after = None if last is None else encode_thread_cursor(last.last_message_at, last.id)
    return Page(items=items, next_cursor=after)


def _thread(item: InboxItem) -> ThreadOut:
    last = () if item.last_message is None else (item.last_message,)
    shown = render.thread(item.thread, last)  # with its last message only, as without a box
    shown.subject, shown.unread, shown.archived = item.subject, item.unread, item.archived
    return shown


@router.post("/threads/{thread_id}/archive")
def archive(thread_id: IdPath, member_id: CurrentMember, deps: ServicesDep) -> ArchivedOut:
    """Archive a thread for yourself; a newer message brings it back."""
    done = threads.set_archived(deps, member_id=member_id, thread_id=thread_id, archived=True)
    return ArchivedOut(thread_id=thread_id, archived=done)


@router.post("/threads/{thread_id}/unarchive")
def unarchive(thread_id: IdPath, member_id: CurrentMember, deps: ServicesDep) -> ArchivedOut:
    done = threads.set_archived(deps, member_id=member_id, thread_id=thread_id, archived=False)
    return ArchivedOut(thread_id=thread_id, archived=done)


@router.get("/me/unread")
def unread(member_id: CurrentMember, deps: ServicesDep) -> UnreadOut:
    return UnreadOut(
        threads=threads.unread_count(deps, member_id=member_id),
        notifications=inbox.unread_notice_count(deps, member_id=member_id),
    )


@router.post("/me/notifications/read")
def mark_all_read(member_id: CurrentMember, deps: ServicesDep, now: Now) -> MarkedOut:
    """Mark every notification read."""
    return MarkedOut(marked=inbox.mark_all_notices_read(deps, member_id=member_id, now=now))


@router.post("/me/notifications/{notification_id}/read")
def mark_read(
    notification_id: IdPath, member_id: CurrentMember, deps: ServicesDep, now: Now
) -> NotificationReadOut:
    number = decode_notice_id(notification_id)
    read_at = inbox.mark_notice_read(deps, member_id=member_id, notice_id=number, now=now)
    return NotificationReadOut(id=notification_id, read_at=read_at)


def decode_notice_id(text: str) -> int:
    """A notification id as the API hands it out (digits); NotFound for anything else."""
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"there is no notification {text!r}")
    return int(text)
