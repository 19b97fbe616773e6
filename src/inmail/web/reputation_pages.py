"""Sender reputation's pages (SPEC §10): a member's standing and appeal, reporting a received
InMail from its thread, and the operator's suspensions with their appeals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import ValidationError
from inmail.domain.reputation import ReportReason
from inmail.services import members, reputation
from inmail.web.common import back, page, runtime_of
from inmail.web.forms import FailedForm, on_failure
from inmail.web.session import CsrfChecked, WebMember, WebOperator, signed_in_member

router = APIRouter(include_in_schema=False)
admin_router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[WebOperator])
AppealText = Annotated[str, Form(max_length=5000)]
Reason = Annotated[str, Form(max_length=40)]
REPORT_LABELS = {ReportReason.SPAM: "Spam", ReportReason.NOT_RELEVANT: "Not relevant to me"}
SHOWN = 100  # suspensions on the operator's page; the API pages through all of them


@router.get("/standing", response_class=HTMLResponse)
def standing_page(request: Request, member_id: WebMember) -> HTMLResponse:
    """Your standing as a sender: the response rate, a warning, bulk-off, a suspension and
    its appeal (with the form when one can be made)."""
    return _standing(request, member_id)


def _standing(request: Request, member_id: str, failed: FailedForm | None = None) -> HTMLResponse:
    rt = runtime_of(request)
    view = reputation.get_standing(rt.deps, member_id=member_id, now=rt.clock.now())
    ladder = ", then ".join(_hours(h) for h in view.rules.ban_hours)
    # No banner here: the page itself says all of it.
    return page(request, "standing.html", view=view, failed=failed, standing=None, ladder=ladder)


def _hours(hours: int) -> str:
    """``24 hours``, ``a week``: a ban's length in words."""
    if hours == 168:
        return "a week"
    if hours % 24 == 0 and hours > 24:
        return f"{hours // 24} days"
    return f"{hours} hours"


def _standing_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _standing(request, signed_in_member(request), failed)


@router.post("/standing/appeal", dependencies=[CsrfChecked])
@on_failure(_standing_again)
def appeal(request: Request, member_id: WebMember, text: AppealText) -> Response:
    rt = runtime_of(request)
    reputation.appeal(rt.deps, member_id=member_id, text=text, now=rt.clock.now())
    return back(request, "/standing", "Appeal sent: the operator will decide.")


def _thread_again(request: Request, failed: FailedForm) -> HTMLResponse:
    from inmail.web.member_pages import thread_again  # the thread page is member_pages'

    return thread_again(request, failed)


@router.post("/threads/{thread_id}/report", dependencies=[CsrfChecked])
@on_failure(_thread_again)
def report(request: Request, thread_id: str, member_id: WebMember, reason: Reason = "") -> Response:
    rt = runtime_of(request)
    if reason not in {r.value for r in ReportReason}:
        raise ValidationError("choose why you report this InMail", field="reason")
    reputation.report_thread(
        rt.deps,
        reporter_id=member_id,
        thread_id=thread_id,
        reason=ReportReason(reason),
        now=rt.clock.now(),
    )
    text = "Reported. Thank you: senders reported by several members are suspended."
    return back(request, f"/threads/{thread_id}", text)


@admin_router.get("/suspensions", response_class=HTMLResponse)
def suspensions_page(request: Request, appeal: str = "") -> HTMLResponse:
    """Suspensions newest first; ``?appeal=pending`` shows only those awaiting a decision."""
    return _suspensions(request, appeal)


def _suspensions_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _suspensions(request, "", failed)


def _suspensions(request: Request, appeal: str, failed: FailedForm | None = None) -> HTMLResponse:
    rt = runtime_of(request)
    wanted = appeal if appeal in {"none", "pending", "accepted", "rejected"} else None
    found = reputation.list_suspensions(rt.deps, appeal_status=wanted, before=None, limit=SHOWN)
    people = members.members_by_id(rt.deps, [s.member_id for s in found], now=rt.clock.now())
    return page(
        request,
        "admin_suspensions.html",
        suspensions=found,
        people=people,
        appeal=wanted,
        now=rt.clock.now(),
        failed=failed,
    )


@admin_router.post("/suspensions/{suspension_id}/accept", dependencies=[CsrfChecked])
@on_failure(_suspensions_again)
def accept(request: Request, suspension_id: str) -> Response:
    rt = runtime_of(request)
    reputation.decide_appeal(rt.deps, suspension_id=suspension_id, accept=True, now=rt.clock.now())
    return back(request, "/admin/suspensions", "Appeal accepted: the ban is lifted.")


@admin_router.post("/suspensions/{suspension_id}/reject", dependencies=[CsrfChecked])
@on_failure(_suspensions_again)
def reject(request: Request, suspension_id: str) -> Response:
    rt = runtime_of(request)
    reputation.decide_appeal(rt.deps, suspension_id=suspension_id, accept=False, now=rt.clock.now())
    return back(request, "/admin/suspensions", "Appeal rejected: the ban runs its course.")
