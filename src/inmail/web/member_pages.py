"""The member's pages: inbox, threads, compose with the cost preview, credits."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import DomainError, ValidationError
from inmail.domain.messaging import Channel
from inmail.services import (
    catalog,
    credits,
    inbox,
    inmail,
    members,
    quote,
    settings,
    statements,
    subscriptions,
)
from inmail.web.common import back, page, refused, runtime_of
from inmail.web.session import CsrfChecked, WebMember

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=5000)]


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, member_id: WebMember) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    threads = inbox.list_threads(rt.deps, member_id=member_id, limit=100)
    others = {
        t.id: t.recipient_id if t.initiator_id == member_id else t.initiator_id for t in threads
    }
    names = members.members_by_id(rt.deps, others.values(), now=now)
    due = inbox.follow_ups(rt.deps, member_id=member_id, now=now)
    return page(
        request,
        "inbox.html",
        threads=threads,
        others=others,
        names=names,
        due=due,
        member_id=member_id,
    )


@router.get("/threads/{thread_id}", response_class=HTMLResponse)
def thread_page(request: Request, thread_id: str, member_id: WebMember) -> HTMLResponse:
    rt = runtime_of(request)
    try:
        view = inbox.get_thread(rt.deps, member_id=member_id, thread_id=thread_id)
    except DomainError as error:
        return page(request, "error.html", status_code=404, message=error.message)
    thread = view.thread
    if member_id == thread.recipient_id and thread.opened_at is None:
        inmail.mark_read(rt.deps, member_id=member_id, thread_id=thread_id, now=rt.clock.now())
    senders = [m.sender_id for m in view.messages]
    people = members.members_by_id(
        rt.deps, [thread.initiator_id, thread.recipient_id, *senders], now=rt.clock.now()
    )
    return page(
        request,
        "thread.html",
        thread=thread,
        messages=view.messages,
        people=people,
        member_id=member_id,
    )


@router.post("/threads/{thread_id}/messages", dependencies=[CsrfChecked])
def post_message(request: Request, thread_id: str, member_id: WebMember, body: Text) -> Response:
    rt = runtime_of(request)
    try:
        sent = inmail.post_in_thread(
            rt.deps, member_id=member_id, thread_id=thread_id, body=body, now=rt.clock.now()
        )
    except DomainError as error:
        return refused(request, f"/threads/{thread_id}", error)
    note = (
        "Sent." if not sent.cost_credits else f"Follow-up sent: {sent.cost_credits} credit spent."
    )
    return back(request, f"/threads/{thread_id}", note)


@router.post("/threads/{thread_id}/decline", dependencies=[CsrfChecked])
def decline(request: Request, thread_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    try:
        inmail.decline(rt.deps, member_id=member_id, thread_id=thread_id, now=rt.clock.now())
    except DomainError as error:
        return refused(request, f"/threads/{thread_id}", error)
    return back(request, f"/threads/{thread_id}", "Declined. The sender has been told.")


@router.get("/compose", response_class=HTMLResponse)
def compose(
    request: Request,
    member_id: WebMember,
    q: Annotated[str, Query(max_length=100)] = "",
    to: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    rt = runtime_of(request)
    found = (
        [
            m
            for m in members.search_members(rt.deps, text=q, now=rt.clock.now())
            if m.id != member_id
        ]
        if q
        else []
    )
    recipient = preview = None
    if to:
        try:
            recipient = members.get_member(rt.deps, to, now=rt.clock.now())
            preview = quote.quote(rt.deps, member_id=member_id, to=to, now=rt.clock.now())
        except DomainError as error:
            return page(
                request,
                "compose.html",
                q=q,
                found=found,
                recipient=None,
                preview=None,
                error=error.message,
                balance=None,
            )
    balance = statements.get_credits(rt.deps, member_id=member_id, now=rt.clock.now()).balance
    return page(
        request,
        "compose.html",
        q=q,
        found=found,
        recipient=recipient,
        preview=preview,
        error=None,
        balance=balance,
    )


@router.post("/compose", dependencies=[CsrfChecked])
def send(
    request: Request,
    member_id: WebMember,
    to: Annotated[str, Form(max_length=40)],
    body: Text,
    subject: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    rt = runtime_of(request)
    now = rt.clock.now()
    try:
        channel = quote.quote(rt.deps, member_id=member_id, to=to, now=now).channel
        if channel is Channel.MESSAGE:
            sent = inmail.send_message(rt.deps, sender_id=member_id, to=to, body=body, now=now)
        else:
            sent = inmail.send_inmail(
                rt.deps, sender_id=member_id, to=to, subject=subject, body=body, now=now
            )
    except DomainError as error:
        return refused(request, f"/compose?to={to}", error)
    text = (
        "Sent for free."
        if not sent.cost_credits
        else (f"InMail sent: {sent.cost_credits} credit spent, {sent.balance_after} left.")
    )
    if sent.overage_charge is not None:
        text += f" Overage billed: {sent.overage_charge}."
    return back(request, f"/threads/{sent.thread_id}", text)


@router.get("/credits", response_class=HTMLResponse)
def credits_page(
    request: Request, member_id: WebMember, page_after: Annotated[int | None, Query(ge=0)] = None
) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    view = statements.get_credits(rt.deps, member_id=member_id, now=now)
    lines = statements.list_ledger(
        rt.deps, member_id=member_id, now=now, after=page_after, limit=25
    )
    plans = catalog.list_plans(rt.deps)
    return page(
        request,
        "credits.html",
        plan_names={p.code: p.name for p in plans},
        credits=view,
        summary=statements.cycle_summaries(rt.deps, member_id=member_id, now=now),
        lines=lines,
        next_after=lines[-1].id if len(lines) == 25 else None,
        packs=catalog.list_packs(rt.deps),
        plans=plans,
        charges=statements.list_charges(rt.deps, member_id=member_id, now=now, limit=200),
        subscription=subscriptions.get_subscription(rt.deps, member_id=member_id, now=now),
        settings=settings.get_settings(rt.deps, member_id=member_id),
    )


@router.get("/credits/ledger.csv")
def ledger_csv(request: Request, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    lines = statements.list_ledger(
        rt.deps, member_id=member_id, now=rt.clock.now(), limit=1_000_000
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "at", "kind", "amount", "balance_after", "lot_id", "source", "reference"]
    )
    for line in lines:
        writer.writerow(
            [
                line.id,
                line.at.isoformat(),
                line.kind,
                line.amount,
                line.balance_after,
                line.lot_id,
                line.source,
                line.reference,
            ]
        )
    headers = {"Content-Disposition": 'attachment; filename="inmail-ledger.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)


@router.post("/credits/packs", dependencies=[CsrfChecked])
def buy_pack(
    request: Request, member_id: WebMember, pack: Annotated[str, Form(max_length=64)]
) -> Response:
    rt = runtime_of(request)
    try:
        bought = credits.buy_pack(rt.deps, member_id=member_id, pack=pack, now=rt.clock.now())
    except DomainError as error:
        return refused(request, "/credits", error)
    return back(request, "/credits", f"Bought {bought.credits} credits for {bought.price}.")


@router.post("/credits/settings", dependencies=[CsrfChecked])
def overage_settings(
    request: Request,
    member_id: WebMember,
    auto_overage: Annotated[str, Form()] = "",
    overage_limit: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    rt = runtime_of(request)
    try:
        limit = _minor_units(overage_limit)
        settings.update_settings(
            rt.deps,
            member_id=member_id,
            now=rt.clock.now(),
            changes={"auto_overage": auto_overage == "on", "overage_limit_minor": limit},
        )
    except DomainError as error:
        return refused(request, "/credits", error)
    return back(request, "/credits", "Overage settings saved.")


def _minor_units(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        whole, _, cents = text.partition(".")
        return int(whole) * 100 + int((cents + "00")[:2]) if cents else int(whole) * 100
    except ValueError:
        raise ValidationError(
            "the limit is an amount like 50 or 49.99", field="overage_limit"
        ) from None


@router.post("/credits/plan", dependencies=[CsrfChecked])
def change_plan(
    request: Request, member_id: WebMember, plan: Annotated[str, Form(max_length=64)]
) -> Response:
    rt = runtime_of(request)
    try:
        view = subscriptions.change_plan(
            rt.deps, member_id=member_id, plan=plan, now=rt.clock.now()
        )
    except DomainError as error:
        return refused(request, "/credits", error)
    text = {
        "subscribe": f"Subscribed to {view.plan}.",
        "upgrade": f"Upgraded to {view.plan}: prorated credits granted.",
        "scheduled": f"{view.pending_plan} starts at the next renewal.",
        "unscheduled": "The scheduled change was withdrawn.",
    }.get(view.change, "No change.")
    return back(request, "/credits", text)


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, member_id: WebMember) -> HTMLResponse:
    rt = runtime_of(request)
    return page(
        request, "stats.html", stats=inbox.stats(rt.deps, member_id=member_id, now=rt.clock.now())
    )
