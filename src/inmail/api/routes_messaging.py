"""InMail, messages, threads, follow-ups, notifications, stats and the cost preview."""

from __future__ import annotations

from fastapi import APIRouter, Response

from inmail.api import render
from inmail.api.deps import (
    CurrentMember,
    IdempotencyKey,
    IdPath,
    Member,
    MemberCall,
    MemberQuery,
    Now,
    ServicesDep,
    on_database,
)
from inmail.api.errors import problem_responses
from inmail.api.inbox_schemas import NO_REASON, BoxQuery, DeclineIn, NoBody
from inmail.api.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    decode_thread_cursor,
    decode_time_key,
    encode_thread_cursor,
    next_cursor,
)
from inmail.api.routes_inbox import box_page
from inmail.api.routes_sequences import follow_up_request, scheduled, scheduled_ref
from inmail.api.schemas import (
    DeclinedOut,
    DeclinesOut,
    FollowUpOut,
    InmailIn,
    InmailSentOut,
    MessageIn,
    NotificationOut,
    Page,
    PostedOut,
    QuoteOut,
    ReadOut,
    SentOut,
    StatsOut,
    ThreadMessageIn,
    ThreadOut,
)
from inmail.api.template_schemas import template_stats
from inmail.domain.inbox import Box, DeclineReason
from inmail.domain.templates import Variant
from inmail.services import inbox, inmail, quote, sequences, templates, threads

router = APIRouter(
    prefix="/v1", tags=["messaging"], responses=problem_responses(401, 403, 404, 409, 422)
)


@router.post(
    "/inmails", status_code=201, response_model=InmailSentOut, responses=problem_responses(402)
)
async def send_inmail(body: InmailIn, call: Member, key: IdempotencyKey = None) -> Response:
    # The busiest write: one dependency, the whole send where database work costs least (on
    # the loop with one request thread), and the answer encoded straight from the model.
    answer = await on_database(call.runtime, _send_inmail, body, call, key)
    return Response(answer.model_dump_json(), status_code=201, media_type="application/json")


def _send_inmail(body: InmailIn, call: MemberCall, key: str | None) -> InmailSentOut:
    follow_up = None if body.follow_up is None else follow_up_request(body.follow_up)
    sent = inmail.send_inmail(
        call.deps,
        sender_id=call.member_id,
        to=body.to,
        subject=body.subject,
        body=body.body,
        now=call.now,
        idempotency_key=key,
        template_id=body.template_id,
        variant=None if body.variant is None else Variant(body.variant),
        follow_up=follow_up,
    )
    scheduled = (
        None if follow_up is None else scheduled_ref(call.deps, call.member_id, sent.thread_id)
    )
    return InmailSentOut(**render.sent(sent).model_dump(), scheduled_follow_up=scheduled)


@router.delete("/inmails/{inmail_id}", status_code=409)
@router.patch("/inmails/{inmail_id}", status_code=409)
def cancel_inmail(inmail_id: IdPath, member_id: CurrentMember, deps: ServicesDep) -> None:
    """Always refused: a sent InMail cannot be cancelled, edited or deleted."""
    inmail.refuse_cancel(deps, member_id=member_id, message_id=inmail_id)


@router.post("/messages", status_code=201)
def send_message(
    body: MessageIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> SentOut:
    sent = inmail.send_message(
        deps, sender_id=member_id, to=body.to, body=body.body, now=now, idempotency_key=key
    )
    return render.sent(sent)


@router.get("/threads")
def list_threads(
    member_id: CurrentMember,
    deps: ServicesDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    box: BoxQuery = None,
) -> Page[ThreadOut]:
    before = decode_thread_cursor(cursor)
    if box is not None:
        return box_page(deps, member_id, Box(box), before, limit)
    found = inbox.list_thread_views(deps, member_id=member_id, before=before, limit=limit)
    items = [render.thread(view.thread, view.messages) for view in found]
    last = found[-1].thread if len(found) == limit else None
    after = None if last is None else encode_thread_cursor(last.last_message_at, last.id)
    return Page(items=items, next_cursor=after)


@router.get("/threads/{thread_id}")
def read_thread(thread_id: IdPath, member_id: CurrentMember, deps: ServicesDep) -> ThreadOut:
    view = inbox.get_thread(deps, member_id=member_id, thread_id=thread_id)
    shown = render.thread(view.thread, view.messages)
    unread, archived = threads.thread_state(deps, member_id=member_id, thread_id=thread_id)
    shown.unread, shown.archived = unread, archived
    found = sequences.schedule_of_thread(deps, member_id=member_id, thread_id=thread_id)
    shown.scheduled_follow_up = None if found is None else scheduled(found)
    return shown


@router.post("/threads/{thread_id}/messages", status_code=201, responses=problem_responses(402))
def post_in_thread(
    thread_id: IdPath,
    body: ThreadMessageIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> PostedOut:
    sent = inmail.post_in_thread(
        deps, member_id=member_id, thread_id=thread_id, body=body.body, now=now, idempotency_key=key
    )
    return render.posted(sent)


@router.post("/threads/{thread_id}/read")
def mark_read(thread_id: IdPath, member_id: CurrentMember, deps: ServicesDep, now: Now) -> ReadOut:
    """Either member has seen the thread so far; the recipient's first read is the receipt."""
    opened = threads.read_thread(deps, member_id=member_id, thread_id=thread_id, now=now)
    return ReadOut(thread_id=thread_id, opened_at=opened)


@router.post("/threads/{thread_id}/decline", response_model_exclude_none=True)
def decline(
    thread_id: IdPath,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    body: NoBody[DeclineIn] = NO_REASON,
) -> DeclinedOut:
    """The body is optional: without one (or a reason), the decline gives none."""
    reason = None if body.reason is None else DeclineReason(body.reason)
    inmail.decline(deps, member_id=member_id, thread_id=thread_id, now=now, reason=reason)
    return DeclinedOut(status="declined", reason=body.reason)


@router.get("/me/follow-ups")
def follow_ups(
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FollowUpOut]:
    after = decode_time_key(cursor)
    due = inbox.follow_ups(deps, member_id=member_id, now=now, after=after, limit=limit)
    return render.follow_ups(due, limit)


@router.get("/me/notifications")
def notifications(
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[NotificationOut]:
    before = decode_cursor(cursor)
    found = inbox.list_notifications(deps, member_id=member_id, now=now, before=before, limit=limit)
    items = [render.notice(n) for n in found]
    return Page(items=items, next_cursor=next_cursor([n.id for n in found], limit))


@router.get("/me/stats")
def stats(member_id: CurrentMember, deps: ServicesDep, now: Now) -> StatsOut:
    figures = inbox.stats(deps, member_id=member_id, now=now)
    per_template = templates.template_stats(deps, owner_id=member_id, now=now)
    declines = threads.declines_by_reason(deps, member_id=member_id)
    return StatsOut(
        declined=sum(declines.values()),
        declines_by_reason=DeclinesOut(**declines),
        inmails_sent=figures.inmails_sent,
        responses=figures.responses,
        counted=figures.counted,
        response_rate=figures.response_rate,
        templates=[template_stats(t) for t in per_template],
    )


@router.get("/me/quote")
def cost_preview(
    to: MemberQuery,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
) -> QuoteOut:
    return render.quote(quote.quote(deps, member_id=member_id, to=to, now=now))
