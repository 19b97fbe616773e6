"""The inbox: boxes of threads with their unread state, pages, archiving; reading notifications.

The thread page itself is web.member_pages' (with its forms); :func:`thread_extras` gives
it what the inbox adds: the sender's card for a recipient, when a follow-up is possible,
and the thread's archived state.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from inmail.api.pagination import decode_thread_cursor, encode_thread_cursor
from inmail.domain.errors import DomainError
from inmail.domain.inbox import BOX_LABELS, DECLINE_LABELS, Box, box_of
from inmail.services import inbox, members, reputation, threads
from inmail.store.messaging import ThreadRecord
from inmail.web.common import back, not_found, page, runtime_of
from inmail.web.community_pages import notification_link
from inmail.web.forms import on_failure
from inmail.web.session import CsrfChecked, WebMember

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
BoxParam = Annotated[str, Query(max_length=20)]
CursorParam = Annotated[str, Query(max_length=200)]


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request, member_id: WebMember, box: BoxParam = "inbox", after: CursorParam = ""
) -> HTMLResponse:
    """One box, :data:`PAGE_SIZE` threads a page, newest activity first; ``after`` is the
    cursor of the page before (a bad one answers 422, like any bad input)."""
    rt = runtime_of(request)
    now = rt.clock.now()
    shown = box_of(box)
    before = decode_thread_cursor(after or None)
    rows = threads.list_box(rt.deps, member_id=member_id, box=shown, before=before, limit=PAGE_SIZE)
    last = rows[-1].thread if len(rows) == PAGE_SIZE else None
    more = None if last is None else encode_thread_cursor(last.last_message_at, last.id)
    due = inbox.follow_ups(rt.deps, member_id=member_id, now=now) if shown is Box.INBOX else []
    names = members.members_by_id(rt.deps, [d.thread.recipient_id for d in due], now=now)
    return page(
        request,
        "inbox.html",
        rows=rows,
        box=shown,
        boxes=BOX_LABELS,
        more=more,
        paged=bool(after),
        due=due,
        names=names,
        member_id=member_id,
    )


def thread_extras(request: Request, member_id: str, thread: ThreadRecord) -> dict[str, Any]:
    """What the thread page shows beside the messages: ``card`` (the sender, for an
    InMail's recipient), ``chance`` (the sender's next follow-up), ``archived``, and for
    an InMail's recipient ``reportable`` and their ``report`` (None: not reported)."""
    rt = runtime_of(request)
    now = rt.clock.now()
    threads.read_thread(rt.deps, member_id=member_id, thread_id=thread.id, now=now)
    awaiting = thread.status == "awaiting_response" and thread.kind == "inmail"
    mine = thread.initiator_id == member_id
    card = None
    if not mine and thread.kind == "inmail":
        card = threads.sender_card(rt.deps, viewer=member_id, sender=thread.initiator_id)
    chance = (
        threads.follow_up_chance(rt.deps, thread=thread, now=now) if awaiting and mine else None
    )
    _, archived = threads.thread_state(rt.deps, member_id=member_id, thread_id=thread.id)
    reportable = thread.kind == "inmail" and thread.recipient_id == member_id
    report = reputation.my_report(rt.deps, member_id=member_id, thread_id=thread.id)
    return {
        "reportable": reportable,
        "report": report,
        "card": card,
        "chance": chance,
        "archived": archived,
        "decline_labels": DECLINE_LABELS,
    }


def _thread_again(request: Request, failed: Any) -> HTMLResponse:
    from inmail.web.member_pages import thread_again  # the thread page is member_pages'

    return thread_again(request, failed)


@router.post("/threads/{thread_id}/archive", dependencies=[CsrfChecked])
@on_failure(_thread_again)
def archive(request: Request, thread_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    threads.set_archived(rt.deps, member_id=member_id, thread_id=thread_id, archived=True)
    text = "Archived. A new message in this conversation brings it back to your inbox."
    return back(request, "/inbox", text)


@router.post("/threads/{thread_id}/unarchive", dependencies=[CsrfChecked])
@on_failure(_thread_again)
def unarchive(request: Request, thread_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    threads.set_archived(rt.deps, member_id=member_id, thread_id=thread_id, archived=False)
    return back(request, f"/threads/{thread_id}", "Moved back to your inbox.")


@router.post("/notifications/read", dependencies=[CsrfChecked])
def mark_all_read(request: Request, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    marked = inbox.mark_all_notices_read(rt.deps, member_id=member_id, now=rt.clock.now())
    text = "Nothing was unread." if not marked else f"Marked {marked} read."
    return back(request, "/notifications", text)


@router.get("/notifications/{notice_id}", response_class=HTMLResponse)
def open_notification(
    request: Request, notice_id: str, member_id: WebMember, to: CursorParam = ""
) -> Response:
    """Open a notification: it is read now, and the page it is about opens."""
    rt = runtime_of(request)
    try:
        number = int(notice_id) if notice_id.isdigit() and len(notice_id) < 19 else -1
        inbox.mark_notice_read(rt.deps, member_id=member_id, notice_id=number, now=rt.clock.now())
    except DomainError as error:
        return not_found(request, error)
    target = notification_link(to) if to else None
    return back(request, target or "/notifications")
