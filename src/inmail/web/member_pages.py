"""The member's pages: inbox, threads, compose with the cost preview, credits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.coach import Tip
from inmail.domain.errors import DomainError, ValidationError
from inmail.domain.inbox import DECLINE_LABELS, decline_reason_of
from inmail.domain.messaging import Agreed, Channel
from inmail.domain.purchases import packs_cheaper_than_overage
from inmail.domain.templates import Letter
from inmail.services import (
    catalog,
    credits,
    inbox,
    inmail,
    members,
    quote,
    sequences,
    settings,
    statement,
    statements,
    subscriptions,
    teams,
    templates,
    threads,
)
from inmail.services.threads import NOT_GIVEN
from inmail.web import inbox_pages, people_pages, template_pages
from inmail.web.coach_panel import draft_tips, panel
from inmail.web.common import Id, back, not_found, page, runtime_of
from inmail.web.dates import chart_labels, day
from inmail.web.forms import (
    FailedForm,
    OnceKey,
    PageKey,
    ShownAgain,
    keyed_page,
    on_failure,
    refused_on,
)
from inmail.web.free_routes import WHY_FREE, free_routes
from inmail.web.sequence_fields import (
    FollowUpBody,
    FollowUpChecked,
    FollowUpDays,
    follow_up_from_form,
)
from inmail.web.session import CsrfChecked, WebMember, signed_in_member

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=5000)]


@router.get("/threads/{thread_id}", response_class=HTMLResponse)
def thread_page(
    request: Request, thread_id: str, member_id: WebMember, once: PageKey = ""
) -> Response:
    """A thread and its form (a reply, a message, or a charged follow-up): keyed by URL."""
    if keyed := keyed_page(request, once):
        return keyed
    try:
        return _thread(request, member_id, thread_id, page_key=once)
    except DomainError as error:
        return not_found(request, error)


def _thread(
    request: Request,
    member_id: str,
    thread_id: str,
    failed: FailedForm | None = None,
    page_key: str | None = None,
) -> HTMLResponse:
    rt = runtime_of(request)
    view = inbox.get_thread(rt.deps, member_id=member_id, thread_id=thread_id)
    thread = view.thread
    extras = inbox_pages.thread_extras(request, member_id, thread)  # marks it read, too
    senders = [m.sender_id for m in view.messages]
    people = members.members_by_id(
        rt.deps, [thread.initiator_id, thread.recipient_id, *senders], now=rt.clock.now()
    )
    scheduled = sequences.schedule_of_thread(rt.deps, member_id=member_id, thread_id=thread_id)
    return page(
        request,
        "thread.html",
        thread=thread,
        messages=view.messages,
        people=people,
        member_id=member_id,
        failed=failed,
        page_key=page_key,
        scheduled=scheduled,
        **extras,
    )


def thread_again(request: Request, failed: FailedForm) -> HTMLResponse:
    """The thread page again, with the refused form's input and message (web.forms)."""
    thread_id = request.path_params["thread_id"]
    return _thread(request, signed_in_member(request), thread_id, failed)


@router.post("/threads/{thread_id}/messages", dependencies=[CsrfChecked])
@on_failure(thread_again)
def post_message(
    request: Request, thread_id: str, member_id: WebMember, body: Text, once: OnceKey = None
) -> Response:
    rt = runtime_of(request)
    sent = inmail.post_in_thread(
        rt.deps,
        member_id=member_id,
        thread_id=thread_id,
        body=body,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    note = (
        "Sent." if not sent.cost_credits else f"Follow-up sent: {sent.cost_credits} credit spent."
    )
    return back(request, f"/threads/{thread_id}", note)


@router.post("/threads/{thread_id}/decline", dependencies=[CsrfChecked])
@on_failure(thread_again)
def decline(
    request: Request,
    thread_id: str,
    member_id: WebMember,
    reason: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    rt = runtime_of(request)
    why = decline_reason_of(reason)
    inmail.decline(
        rt.deps, member_id=member_id, thread_id=thread_id, now=rt.clock.now(), reason=why
    )
    return back(request, f"/threads/{thread_id}", "Declined. The sender has been told.")


@router.post("/threads/{thread_id}/scheduled-follow-up/cancel", dependencies=[CsrfChecked])
@on_failure(thread_again)
def cancel_scheduled_follow_up(
    request: Request, thread_id: str, member_id: WebMember, schedule: Id
) -> Response:
    rt = runtime_of(request)
    sequences.cancel_schedule(
        rt.deps, member_id=member_id, schedule_id=schedule, now=rt.clock.now()
    )
    text = "Scheduled follow-up cancelled: nothing will be sent or charged."
    return back(request, f"/threads/{thread_id}", text)


@router.get("/compose", response_class=HTMLResponse)
def compose(
    request: Request,
    member_id: WebMember,
    q: Annotated[str, Query(max_length=100)] = "",
    to: Annotated[str, Query(max_length=40)] = "",
    once: PageKey = "",
    template: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    if to and (keyed := keyed_page(request, once)):
        return keyed
    return _compose(request, member_id, q, to, page_key=once or None, template=template)


def _compose(
    request: Request,
    member_id: str,
    q: str,
    to: str,
    failed: FailedForm | None = None,
    page_key: str | None = None,
    again: ShownAgain | None = None,
    tips: list[Tip] | None = None,
    template: str = "",
) -> HTMLResponse:
    """The compose page; ``again`` and ``tips``: a draft the coach checked (web.coach_pages)."""
    rt = runtime_of(request)
    now = rt.clock.now()
    found = people_pages.recipients_matching(request, member_id, q)  # each with its cost
    shown: dict[str, Any] = {"q": q, "found": found, "failed": failed, "page_key": page_key}
    if not to:
        return page(request, "compose.html", recipient=None, preview=None, error=None, **shown)
    try:
        recipient = members.get_member(rt.deps, to, now=now)
        preview = quote.quote(rt.deps, member_id=member_id, to=to, now=now)
    except DomainError as error:
        return page(
            request, "compose.html", recipient=None, preview=None, error=error.message, **shown
        )
    seat = teams.my_seat(rt.deps, member_id=member_id, now=now)  # then the pool pays
    payer = member_id if seat is None else seat.team_id
    mine = statements.get_credits(rt.deps, member_id=payer, now=now)
    cheaper = (
        packs_cheaper_than_overage(mine.terms, catalog.list_packs(rt.deps))
        if preview.overage_charge and seat is None  # the team's admins buy the pool's packs
        else []
    )
    if tips is None:  # before anything is written: the tips about the recipient
        tips = draft_tips(rt, member_id, to, "", "", sends_free=preview.cost_credits == 0)
    terms = sequences.follow_up_terms(rt.deps, member_id=member_id, now=now)
    return page(
        request,
        "compose.html",
        recipient=recipient,
        preview=preview,
        error=None,
        balance=mine.balance,
        seat=seat,
        routes=free_routes(rt.deps, member_id, recipient, preview.alternatives),
        why_free=WHY_FREE,
        cheaper=cheaper,
        again=again,
        **panel(tips, written=again is not None),
        from_template=template_pages.from_template(rt.deps, member_id, to, template, now),
        now=now,
        follow_up_terms=terms,
        **shown,
    )


def _compose_again(request: Request, failed: FailedForm) -> HTMLResponse:
    to, template = failed.values.get("to", ""), failed.values.get("template", "")
    return _compose(request, signed_in_member(request), "", to, failed, template=template)


@router.post("/compose", dependencies=[CsrfChecked])
@on_failure(_compose_again)
def send(
    request: Request,
    member_id: WebMember,
    to: Id,
    body: Text,
    channel: Id = "inmail",
    subject: Annotated[str, Form(max_length=1000)] = "",
    cost: Annotated[int | None, Form(ge=0)] = None,
    overage: Annotated[int | None, Form(ge=0)] = None,
    once: OnceKey = None,
    template: Annotated[str, Form(max_length=50)] = "",
    follow_up: FollowUpChecked = "",
    follow_up_days: FollowUpDays = None,
    follow_up_body: FollowUpBody = "",
) -> Response:
    """Send by the channel and at the cost the page showed (never a costlier one); from the
    template chosen when the text is the template's as rendered (web.template_pages)."""
    rt = runtime_of(request)
    now = rt.clock.now()
    later = follow_up_from_form(follow_up, follow_up_days, follow_up_body)
    if channel == Channel.MESSAGE:
        sent = inmail.send_message(
            rt.deps, sender_id=member_id, to=to, body=body, now=now, idempotency_key=once
        )
    else:
        letter = Letter(subject, body)
        sent = inmail.send_inmail(
            rt.deps,
            sender_id=member_id,
            to=to,
            now=now,
            idempotency_key=once,
            agreed=Agreed(cost, overage),
            **template_pages.send_as(rt.deps, member_id, to, letter, template, now),
            follow_up=later,
        )
    text = (
        "Sent for free."
        if not sent.cost_credits
        else (f"InMail sent: {sent.cost_credits} credit spent, {sent.balance_after} left.")
    )
    if sent.overage_charge is not None:
        text += f" Overage billed: {sent.overage_charge}."
    if later is not None and channel != Channel.MESSAGE:
        text += f" Follow-up scheduled in {later.after_days} days unless they answer."
    return back(request, f"/threads/{sent.thread_id}", text)


@router.get("/credits", response_class=HTMLResponse)
def credits_page(
    request: Request,
    member_id: WebMember,
    before: Annotated[int | None, Query(ge=0)] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    """The credits page; ``before``/``after``: the statement's Older/Newer page cursors."""
    return _credits(request, member_id, before=before, after=after)


def _credits(
    request: Request,
    member_id: str,
    failed: FailedForm | None = None,
    *,
    before: int | None = None,
    after: int | None = None,
) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    view = statements.get_credits(rt.deps, member_id=member_id, now=now)
    shown = statement.statement_page(
        rt.deps, member_id=member_id, now=now, before=before, after=after
    )
    plans = catalog.list_plans(rt.deps)
    summary = statements.cycle_summaries(rt.deps, member_id=member_id, now=now)
    return page(
        request,
        "credits.html",
        plan_names={p.code: p.name for p in plans},
        credits=view,
        summary=summary,
        chart_labels=chart_labels([c.start for c in summary]),
        statement=shown,
        periods=statement.by_cycle(shown.lines, view.cycle_start),
        packs=catalog.list_packs(rt.deps),
        plans=plans,
        charges=statements.list_charges(
            rt.deps, member_id=member_id, now=now, limit=200, newest_first=True
        ),
        subscription=subscriptions.get_subscription(rt.deps, member_id=member_id, now=now),
        settings=settings.get_settings(rt.deps, member_id=member_id),
        seat=teams.my_seat(rt.deps, member_id=member_id, now=now),  # "12 of 40 this month"
        failed=failed,
    )


def _credits_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _credits(request, signed_in_member(request), failed=failed)


@router.get("/credits/ledger.csv")
def ledger_csv(request: Request, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    lines = statements.list_ledger(
        rt.deps, member_id=member_id, now=rt.clock.now(), limit=1_000_000
    )
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["id", "at", "kind", "amount", "balance_after", "lot_id", "source", "reference"]
    writer.writerow([*header, "description"])  # times in UTC (ISO 8601), as the API's
    for shown in statement.describe_lines(rt.deps, lines):
        line = shown.line
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
                shown.said.text,
            ]
        )
    headers = {"Content-Disposition": 'attachment; filename="inmail-ledger.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)


@router.get("/credits/packs/confirm", response_class=HTMLResponse)
def confirm_pack(
    request: Request,
    member_id: WebMember,
    pack: Annotated[str, Query(max_length=64)] = "",
    once: PageKey = "",
) -> Response:
    """The purchase shown before it happens: price, credits, expiry; Confirm posts it."""
    return keyed_page(request, once) or _confirm_pack(request, member_id, pack, page_key=once)


def _confirm_pack(
    request: Request,
    member_id: str,
    pack: str,
    failed: FailedForm | None = None,
    page_key: str | None = None,
) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    try:
        preview = credits.preview_purchase(rt.deps, member_id=member_id, pack=pack, now=now)
    except DomainError as error:  # unknown pack, or a plan without packs: say so, buy nothing
        return refused_on(
            _credits(request, member_id, failed=FailedForm("/credits", error.message)), error
        )
    view = statements.get_credits(rt.deps, member_id=member_id, now=now)
    return page(
        request,
        "confirm_pack.html",
        preview=preview,
        credits=view,
        failed=failed,
        page_key=page_key,
    )


def _confirm_pack_again(request: Request, failed: FailedForm) -> HTMLResponse:
    member_id = signed_in_member(request)
    return _confirm_pack(request, member_id, failed.values.get("pack", ""), failed)


@router.post("/credits/packs", dependencies=[CsrfChecked])
@on_failure(_confirm_pack_again)
def buy_pack(
    request: Request,
    member_id: WebMember,
    pack: Annotated[str, Form(max_length=64)],
    agreed: Annotated[int | None, Form(ge=0)] = None,
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    bought = credits.buy_pack(
        rt.deps,
        member_id=member_id,
        pack=pack,
        now=rt.clock.now(),
        idempotency_key=once,
        agreed_minor=agreed,
    )
    return back(request, "/credits", f"Charged {bought.price} for {bought.credits} credits.")


@router.post("/credits/settings", dependencies=[CsrfChecked])
@on_failure(_credits_again)
def overage_settings(
    request: Request,
    member_id: WebMember,
    auto_overage: Annotated[str, Form(max_length=10)] = "",
    overage_limit: Annotated[str, Form(max_length=20)] = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    settings.update_settings(
        rt.deps,
        member_id=member_id,
        now=rt.clock.now(),
        changes={
            "auto_overage": auto_overage == "on",
            "overage_limit_minor": _minor_units(overage_limit),
        },
    )
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


@router.get("/credits/plan/confirm", response_class=HTMLResponse)
def confirm_plan(
    request: Request,
    member_id: WebMember,
    plan: Annotated[str, Query(max_length=64)] = "",
    once: PageKey = "",
) -> Response:
    """A plan change shown before it happens: charge, credits, cap, when, what is forfeited."""
    return keyed_page(request, once) or _confirm_plan(request, member_id, plan, page_key=once)


def _confirm_plan(
    request: Request,
    member_id: str,
    plan: str,
    failed: FailedForm | None = None,
    page_key: str | None = None,
) -> HTMLResponse:
    def refused(error: DomainError) -> HTMLResponse:
        return _credits(request, member_id, failed=FailedForm("/credits", error.message))

    return confirm_plan_page(request, member_id, plan, refused, failed=failed, page_key=page_key)


def confirm_plan_page(
    request: Request,
    member_id: str,
    plan: str,
    refused: Callable[[DomainError], HTMLResponse],
    *,
    failed: FailedForm | None = None,
    page_key: str | None = None,
    action: str = "/credits/plan",
    cancel_url: str = "/credits",
    whose: str = "your",
) -> HTMLResponse:
    """The confirm page of a plan change (the member's own or the operator's for a member).

    ``refused`` shows the page to go back to when there is nothing to confirm
    (an unknown plan); ``action`` is where Confirm posts, ``cancel_url`` where
    Cancel goes, ``whose`` whose balance and cap the page speaks of.
    """
    rt = runtime_of(request)
    now = rt.clock.now()
    try:
        preview = subscriptions.preview_change(rt.deps, member_id=member_id, plan=plan, now=now)
    except DomainError as error:
        return refused_on(refused(error), error)
    return page(
        request,
        "confirm_plan.html",
        preview=preview,
        credits=statements.get_credits(rt.deps, member_id=member_id, now=now),
        failed=failed,
        page_key=page_key,
        action=action,
        cancel_url=cancel_url,
        whose=whose,
    )


def _confirm_plan_again(request: Request, failed: FailedForm) -> HTMLResponse:
    member_id = signed_in_member(request)
    return _confirm_plan(request, member_id, failed.values.get("plan", ""), failed)


@router.post("/credits/plan", dependencies=[CsrfChecked])
@on_failure(_confirm_plan_again)
def change_plan(
    request: Request,
    member_id: WebMember,
    plan: Annotated[str, Form(max_length=64)],
    agreed: Annotated[int | None, Form(ge=0)] = None,
    once: OnceKey = None,
) -> Response:
    return confirmed_plan_change(request, member_id, plan, agreed, once, back_to="/credits")


def confirmed_plan_change(
    request: Request,
    member_id: str,
    plan: str,
    agreed: int | None,
    once: str | None,
    *,
    back_to: str,
) -> Response:
    """Make a confirmed plan change (the amount agreed, the form's key) and say what it did."""
    rt = runtime_of(request)
    view = subscriptions.change_plan(
        rt.deps,
        member_id=member_id,
        plan=plan,
        now=rt.clock.now(),
        idempotency_key=once,
        agreed_minor=agreed,
    )
    names = {p.code: p.name for p in catalog.list_plans(rt.deps)}
    return back(request, back_to, plan_changed(view, names))


def plan_changed(view: subscriptions.SubscriptionView, names: dict[str, str]) -> str:
    """What a plan change did, in words, with the amount charged."""
    plan = names.get(view.plan, view.plan)
    charged = f"charged {view.charged}" if view.charged else "nothing charged"
    granted = f"{view.granted} credit{'' if view.granted == 1 else 's'}"
    if view.change == "subscribe":
        return f"Subscribed to {plan}: {charged} for {granted}."
    if view.change == "upgrade":
        return f"Upgraded to {plan}: {charged} for {granted} now."
    if view.change == "scheduled" and view.pending_plan and view.cycle_end:
        pending = names.get(view.pending_plan, view.pending_plan)
        when = day(view.cycle_end)  # UTC: the operator's page says it too
        return f"{pending} starts at the next renewal, on {when}; nothing charged now."
    if view.change == "unscheduled":
        return f"The scheduled change was withdrawn: you stay on {plan}."
    return f"No change: you are on {plan}."


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, member_id: WebMember) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    return page(
        request,
        "stats.html",
        counts=inbox.response_counts(rt.deps, member_id=member_id, now=now),
        template_stats=templates.template_stats(rt.deps, owner_id=member_id, now=now),
        declines=threads.declines_by_reason(rt.deps, member_id=member_id),
        decline_labels={**DECLINE_LABELS, NOT_GIVEN: "No reason given"},
    )
