"""Sender reputation (SPEC §10): reporting an InMail, the sender's standing and appeal,
and the operator's suspensions with their appeals."""

from __future__ import annotations

from fastapi import APIRouter, Response

from inmail.api import reputation_schemas as shapes
from inmail.api.deps import CurrentMember, IdempotencyKey, IdPath, Now, Operator, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, next_cursor
from inmail.api.schemas import Page
from inmail.domain.reputation import ReportReason
from inmail.services import reputation

router = APIRouter(
    prefix="/v1", tags=["reputation"], responses=problem_responses(401, 403, 404, 409, 422)
)
admin_router = APIRouter(
    prefix="/v1/admin/suspensions",
    tags=["operator"],
    dependencies=[Operator],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.post("/threads/{thread_id}/report", status_code=201)
def report_thread(
    thread_id: IdPath,
    body: shapes.ReportIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    response: Response,
    key: IdempotencyKey = None,
) -> shapes.ReportOut:
    """Report an InMail you received as spam or not relevant (201); reporting the same
    thread again answers the first report (200). Enough reports bring the sender a ban."""
    found = reputation.report_thread(
        deps,
        reporter_id=member_id,
        thread_id=thread_id,
        reason=ReportReason(body.reason),
        now=now,
        idempotency_key=key,
    )
    if not found.created:
        response.status_code = 200
    return shapes.report(found)


@router.get("/me/standing")
def my_standing(member_id: CurrentMember, deps: ServicesDep, now: Now) -> shapes.StandingOut:
    """Your sender standing: response rate, warning, bulk-off, suspension and appeal."""
    return shapes.standing(reputation.get_standing(deps, member_id=member_id, now=now))


@router.post("/me/standing/appeal", status_code=201)
def appeal(
    body: shapes.AppealIn,
    member_id: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> shapes.SuspensionOut:
    """Appeal your suspension in force (once); it stays in force until the operator decides."""
    found = reputation.appeal(
        deps, member_id=member_id, text=body.text, now=now, idempotency_key=key
    )
    return shapes.suspension(found)


@admin_router.get("")
def list_suspensions(
    deps: ServicesDep,
    appeal: shapes.AppealQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[shapes.SuspensionOut]:
    """Every suspension, newest first; ``?appeal=pending`` lists those awaiting a decision."""
    found = reputation.list_suspensions(
        deps, appeal_status=appeal, before=decode_cursor(cursor), limit=limit
    )
    items = [shapes.suspension(s) for s in found]
    return Page(items=items, next_cursor=next_cursor([s.seq for s in found], limit))


@admin_router.post("/{suspension_id}/appeal/accept")
def accept_appeal(suspension_id: IdPath, deps: ServicesDep, now: Now) -> shapes.SuspensionOut:
    """Accept the appeal: the ban is lifted now and does not count on the ladder."""
    found = reputation.decide_appeal(deps, suspension_id=suspension_id, accept=True, now=now)
    return shapes.suspension(found)


@admin_router.post("/{suspension_id}/appeal/reject")
def reject_appeal(suspension_id: IdPath, deps: ServicesDep, now: Now) -> shapes.SuspensionOut:
    """Reject the appeal: the ban runs its course."""
    found = reputation.decide_appeal(deps, suspension_id=suspension_id, accept=False, now=now)
    return shapes.suspension(found)
