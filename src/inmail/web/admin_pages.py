"""Operator pages: the overview with the audit, plans (edited as new versions), members, charges."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from inmail.domain.errors import DomainError, NotFound
from inmail.services import (
    catalog,
    member_directory,
    members,
    operator_totals,
    renewals,
    statement,
    statements,
    subscriptions,
)
from inmail.services.audit import run_audit
from inmail.services.context import Deps
from inmail.web.admin_forms import Checkbox, Number, PlanForm
from inmail.web.common import back, page, runtime_of
from inmail.web.forms import FailedForm, OnceKey, PageKey, keyed_page, on_failure
from inmail.web.member_pages import confirm_plan_page, confirmed_plan_change
from inmail.web.session import CsrfChecked, WebOperator

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[WebOperator])

MEMBERS_PER_PAGE = 50
LEDGER_LINES = 100
CHARGES_PER_PAGE = 100
EXPORT_BATCH = 1000
# A refund's amount and credits are negative; refund_of names the charge it refunds.
CSV_HEADER = ("id", "member_id", "at", "kind", "credits", "amount_minor", "currency", "refund_of")
CHARGE_WORDS = {
    "subscription": "Subscription fees",
    "proration": "Upgrade prorations",
    "pack": "Credit packs",
    "overage": "Overage credits",
    "refund": "Refunds",
}


@router.get("", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    return _overview(request)


def _overview(request: Request, failed: FailedForm | None = None) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    return page(
        request,
        "admin_overview.html",
        problems=[_linked(problem) for problem in run_audit(rt.deps, now)],
        totals=statements.operator_totals(rt.deps, now=now),
        report=operator_totals.operator_report(rt.deps, now=now),
        credit_kinds=operator_totals.CREDIT_KINDS,
        charge_words=CHARGE_WORDS,
        totals_by_currency=operator_totals.totals_by_currency,
        one_day=timedelta(days=1),
        now=now,
        test_clock=rt.test_clock is not None,
        failed=failed,
    )


@router.post("/renewals", dependencies=[CsrfChecked])
@on_failure(_overview)
def run_renewals(request: Request) -> Response:
    rt = runtime_of(request)
    renewed = renewals.renew_all(rt.deps, now=rt.clock.now())
    text = "No renewals were due." if not renewed else f"Renewed {renewed} cycle(s)."
    return back(request, "/admin", text)


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request) -> HTMLResponse:
    return _plans(request)


def plans_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _plans(request, failed=failed)


@router.post("/plans/{code}", dependencies=[CsrfChecked])
@on_failure(plans_again)
def save_plan(
    request: Request,
    code: str,
    monthly_allotment: Number = "",
    rollover_cap: Number = "",
    price: Number = "",
    inmail_cost: Number = "",
    credit_back_days: Number = "",
    inmail: Checkbox = "",
    packs: Checkbox = "",
    overage: Checkbox = "",
    expected_version: Annotated[int | None, Form(ge=1)] = None,
    confirm_lower_cap: Checkbox = "",
) -> Response:
    """Save the reviewed terms (the review page posts here) as the plan's next version."""
    rt = runtime_of(request)
    submitted = PlanForm(
        monthly_allotment=monthly_allotment,
        rollover_cap=rollover_cap,
        price=price,
        inmail_cost=inmail_cost,
        credit_back_days=credit_back_days,
        inmail=inmail == "on",
        packs=packs == "on",
        overage=overage == "on",
    )
    current = next((p for p in catalog.list_plans(rt.deps) if p.code == code), None)
    if current is None:
        raise NotFound(f"There is no plan {code!r}.")
    changes = submitted.changes_to(current)
    if not changes:
        return back(request, "/admin/plans", f"Nothing changed: {current.name} stays as it is.")
    saved = catalog.update_plan(
        rt.deps,
        code=code,
        changes=changes,
        now=rt.clock.now(),
        lower_cap_confirmed=confirm_lower_cap == "on",
        expected_version=expected_version,
    )
    return back(request, "/admin/plans", f"Saved {saved.name} as version {saved.version}.")


@router.get("/members", response_class=HTMLResponse)
def members_page(
    request: Request,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: Annotated[Literal["name", "handle", "plan", "balance", "joined"], Query()] = "name",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Members by name (or handle, plan, balance, joining date), searched, 50 a page."""
    rt = runtime_of(request)
    now = rt.clock.now()
    listed = member_directory.member_page(
        rt.deps,
        q=q,
        sort=sort,
        descending=order == "desc",
        page=page_number,
        per_page=MEMBERS_PER_PAGE,
    )
    records = members.members_by_id(rt.deps, listed.ids, now=now)
    return page(
        request,
        "admin_members.html",
        found=[records[i] for i in listed.ids if i in records],
        accounts=statements.account_summaries(rt.deps, member_ids=listed.ids, now=now),
        plan_names={p.code: p.name for p in catalog.list_plans(rt.deps)},
        listed=listed,
        pages=-(-listed.total // MEMBERS_PER_PAGE),
        q=q,
        sort=sort,
        order=order,
    )


@router.get("/members/{member_id}", response_class=HTMLResponse)
def member_page(
    request: Request,
    member_id: str,
    charges_before: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    try:
        return _member(request, member_id, charges_before)
    except DomainError as error:
        return page(request, "error.html", status_code=404, message=error.message)


def _member(
    request: Request,
    member_id: str,
    charges_before: int | None = None,
    failed: FailedForm | None = None,
) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    member = members.get_member(rt.deps, member_id, now=now)
    credits = statements.get_credits(rt.deps, member_id=member_id, now=now)
    charges = statements.list_charges(
        rt.deps,
        member_id=member_id,
        now=now,
        before=charges_before,
        limit=CHARGES_PER_PAGE,
        newest_first=True,
    )
    return page(
        request,
        "admin_member.html",
        member=member,
        credits=credits,
        subscription=subscriptions.get_subscription(rt.deps, member_id=member_id, now=now),
        lines=statement.describe_lines(
            rt.deps,
            statements.recent_ledger(rt.deps, member_id=member_id, now=now, limit=LEDGER_LINES),
        ),
        ledger_limit=LEDGER_LINES,
        charges=charges,
        charges_before=charges_before,
        next_charges=charges[-1].seq if len(charges) == CHARGES_PER_PAGE else None,
        plans=catalog.list_plans(rt.deps),
        failed=failed,
    )


def member_page_again(request: Request, failed: FailedForm) -> HTMLResponse:
    """The member's page with a refused form's words (forms posted from it elsewhere)."""
    return _member(request, request.path_params["member_id"], failed=failed)


@router.get("/members/{member_id}/plan/confirm", response_class=HTMLResponse)
def confirm_member_plan(
    request: Request,
    member_id: str,
    plan: Annotated[str, Query(max_length=64)] = "",
    once: PageKey = "",
) -> Response:
    """A member's plan change shown to the operator before it happens (what it charges)."""
    return keyed_page(request, once) or _confirm_member_plan(
        request, member_id, plan, page_key=once
    )


def _confirm_member_plan(
    request: Request,
    member_id: str,
    plan: str,
    failed: FailedForm | None = None,
    page_key: str | None = None,
) -> HTMLResponse:
    def refused(error: DomainError) -> HTMLResponse:  # an unknown plan: the member's page
        refusal = FailedForm(f"/admin/members/{member_id}/plan", error.message)
        return _member(request, member_id, failed=refusal)

    return confirm_plan_page(
        request,
        member_id,
        plan,
        refused,
        failed=failed,
        page_key=page_key,
        action=f"/admin/members/{member_id}/plan",
        cancel_url=f"/admin/members/{member_id}",
        whose="the member's",
    )


def _confirm_member_plan_again(request: Request, failed: FailedForm) -> HTMLResponse:
    member_id = request.path_params["member_id"]
    return _confirm_member_plan(request, member_id, failed.values.get("plan", ""), failed)


@router.post("/members/{member_id}/plan", dependencies=[CsrfChecked])
@on_failure(_confirm_member_plan_again)
def change_member_plan(
    request: Request,
    member_id: str,
    plan: Annotated[str, Form(max_length=64)],
    agreed: Annotated[int | None, Form(ge=0)] = None,
    once: OnceKey = None,
) -> Response:
    back_to = f"/admin/members/{member_id}"
    return confirmed_plan_change(request, member_id, plan, agreed, once, back_to=back_to)


@router.get("/charges.csv")
def charges_csv(request: Request) -> StreamingResponse:
    headers = {"Content-Disposition": 'attachment; filename="inmail-charges.csv"'}
    rt = runtime_of(request)
    rows = _charges_csv(rt.deps, rt.clock.now())
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers=headers)


def _charges_csv(deps: Deps, now: datetime) -> Iterator[str]:
    """The header, then every charge, read in batches so memory stays flat."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    after: int | None = None
    while True:
        batch = statements.export_charges(deps, now=now, after=after, limit=EXPORT_BATCH)
        writer.writerows(_csv_row(c) for c in batch)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].seq


def _csv_row(c: statements.ChargeExportRow) -> tuple[object, ...]:
    credits = "" if c.credits is None else c.credits
    refunds = c.reference.removeprefix("refund:") if c.kind == "refund" else ""
    return (
        c.id,
        c.member_id,
        c.at.isoformat(),
        c.kind,
        credits,
        c.amount_minor,
        c.currency,
        refunds,
    )


def _plans(request: Request, *, failed: FailedForm | None = None) -> HTMLResponse:
    """The plans with their edit forms; a refused form shows what the operator typed."""
    plans = catalog.list_plans(runtime_of(request).deps)
    forms = {p.code: PlanForm.of(p) for p in plans}
    code = request.path_params.get("code") if failed is not None else None
    if failed is not None and code in forms:
        forms[code] = PlanForm.typed(failed.values)
    return page(
        request, "admin_plans.html", plans=plans, forms=forms, failed_plan=code, failed=failed
    )


_MEMBER_IN_PROBLEM = re.compile(r"^member (\S+):")


def _linked(problem: str) -> tuple[str, str | None]:
    """An audit problem and the member it is about, if it names one (for a link)."""
    found = _MEMBER_IN_PROBLEM.match(problem)
    return problem, None if found is None else found.group(1)
