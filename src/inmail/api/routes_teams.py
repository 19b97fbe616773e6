"""Team contracts (SPEC §10): the operator's ``/v1/admin/teams`` and the team admins'
``/v1/teams/{id}``; a seat holder's own usage at ``/v1/me/seat``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from inmail.api import render
from inmail.api.deps import CurrentMember, IdempotencyKey, IdPath, Now, Operator, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from inmail.api.schemas import Page, PurchaseIn, PurchaseOut
from inmail.api.team_schemas import (
    MySeatOut,
    SeatAdminIn,
    SeatCapIn,
    SeatIn,
    SeatOverageIn,
    SeatUsageOut,
    TeamIn,
    TeamOut,
    TeamTermsIn,
    TeamViewOut,
)
from inmail.services import teams
from inmail.services.teams import SeatUsage, TeamRecord, TeamView

operator = APIRouter(
    prefix="/v1/admin/teams",
    tags=["operator"],
    dependencies=[Operator],
    responses=problem_responses(401, 403, 422),
)
router = APIRouter(tags=["teams"], responses=problem_responses(401, 403, 404, 422))


def _team(t: TeamRecord) -> TeamOut:
    return TeamOut(
        id=t.id,
        name=t.name,
        plan=t.plan,
        seats=t.seats,
        pool_cap=t.pool_cap,
        seat_overage=t.seat_overage,
        created_at=t.created_at,
        members=list(t.members),
        admins=list(t.admins),
    )


def _usage(s: SeatUsage) -> SeatUsageOut:
    return SeatUsageOut(
        member_id=s.member_id,
        handle=s.handle,
        name=s.name,
        admin=s.admin,
        monthly_cap=s.cap,
        sends=s.sends,
        used=s.used,
        text=s.text,
    )


def _view(v: TeamView) -> TeamViewOut:
    return TeamViewOut(
        **_team(v.team).model_dump(),
        pool=render.credits(v.pool),
        period_start=v.period_start,
        period_end=v.period_end,
        seat_usage=[_usage(s) for s in v.seats],
    )


@operator.post("", status_code=201)
def create_team(body: TeamIn, deps: ServicesDep, now: Now, key: IdempotencyKey = None) -> TeamOut:
    """A team on a paid plan: its pool is granted allotment x seats now (fee x seats)."""
    made = teams.create_team(deps, now=now, idempotency_key=key, **body.model_dump())
    return _team(made)


@operator.get("")
def list_teams(
    deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[TeamOut]:
    found = teams.list_teams(deps, after=cursor, limit=limit + 1)
    more = len(found) > limit
    shown = found[:limit]
    return Page(items=[_team(t) for t in shown], next_cursor=shown[-1].id if more else None)


@operator.get("/{team_id}", responses=problem_responses(404))
def get_team(team_id: IdPath, deps: ServicesDep) -> TeamOut:
    return _team(teams.get_team(deps, team_id=team_id))


@operator.put("/{team_id}", responses=problem_responses(404, 409))
def change_terms(team_id: IdPath, body: TeamTermsIn, deps: ServicesDep, now: Now) -> TeamOut:
    """Contracted seats and pool cap, from the pool's next renewal (never below seats taken)."""
    changed = teams.change_terms(
        deps, team_id=team_id, seats=body.seats, pool_cap=body.pool_cap, now=now
    )
    return _team(changed)


@operator.post("/{team_id}/seats", status_code=201, responses=problem_responses(404, 409))
def assign_seat(team_id: IdPath, body: SeatIn, deps: ServicesDep, now: Now) -> TeamOut:
    """Seat a member (one seat per member, no more than the contract's seats: 409)."""
    seated = teams.assign_seat(
        deps, team_id=team_id, member_id=body.member, admin=body.admin, now=now
    )
    return _team(seated)


@operator.put("/{team_id}/seats/{member_id}", responses=problem_responses(404))
def set_seat_admin(
    team_id: IdPath, member_id: IdPath, body: SeatAdminIn, deps: ServicesDep, now: Now
) -> TeamOut:
    changed = teams.set_seat_admin(
        deps, team_id=team_id, member_id=member_id, admin=body.admin, now=now
    )
    return _team(changed)


@operator.delete("/{team_id}/seats/{member_id}", responses=problem_responses(404))
def remove_seat(team_id: IdPath, member_id: IdPath, deps: ServicesDep, now: Now) -> TeamOut:
    """The member leaves: back on their own account; the pool keeps its credits."""
    return _team(teams.remove_seat(deps, team_id=team_id, member_id=member_id, now=now))


@router.get("/v1/teams/{team_id}")
def team_view(team_id: IdPath, admin: CurrentMember, deps: ServicesDep, now: Now) -> TeamViewOut:
    """The team admin's view: pool credits and each seat's usage this calendar month."""
    return _view(teams.team_view(deps, admin_id=admin, team_id=team_id, now=now))


@router.put("/v1/teams/{team_id}/seats/{member_id}/cap")
def set_seat_cap(
    team_id: IdPath,
    member_id: IdPath,
    body: SeatCapIn,
    admin: CurrentMember,
    deps: ServicesDep,
    now: Now,
) -> SeatUsageOut:
    """A seat's monthly cap (null: none); never below what it used this month (422)."""
    usage = teams.set_seat_cap(
        deps, admin_id=admin, team_id=team_id, member_id=member_id, cap=body.monthly_cap, now=now
    )
    return _usage(usage)


@router.put("/v1/teams/{team_id}/settings")
def set_seat_overage(
    team_id: IdPath, body: SeatOverageIn, admin: CurrentMember, deps: ServicesDep, now: Now
) -> TeamOut:
    """Whether seats may buy overage for the pool when it runs dry (default false)."""
    changed = teams.set_seat_overage(
        deps, admin_id=admin, team_id=team_id, allowed=body.seat_overage, now=now
    )
    return _team(changed)


@router.post("/v1/teams/{team_id}/purchases", status_code=201, responses=problem_responses(403))
def buy_pack(
    team_id: IdPath,
    body: PurchaseIn,
    admin: CurrentMember,
    deps: ServicesDep,
    now: Now,
    key: IdempotencyKey = None,
) -> PurchaseOut:
    """A pack for the pool, charged to the team."""
    bought = teams.buy_team_pack(
        deps, admin_id=admin, team_id=team_id, pack=body.pack, now=now, idempotency_key=key
    )
    return render.purchase(bought)


@router.get(
    "/v1/teams/{team_id}/usage.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def usage_csv(team_id: IdPath, admin: CurrentMember, deps: ServicesDep, now: Now) -> Response:
    """Per-seat usage this calendar month as CSV."""
    text = teams.usage_csv(deps, admin_id=admin, team_id=team_id, now=now)
    return Response(text, media_type="text/csv; charset=utf-8")


@router.get("/v1/me/seat")
def my_seat(member: CurrentMember, deps: ServicesDep, now: Now) -> MySeatOut | None:
    """The caller's team seat and its usage ("12 of 40 this month"); null: no seat."""
    seat = teams.my_seat(deps, member_id=member, now=now)
    if seat is None:
        return None
    return MySeatOut(
        team_id=seat.team_id,
        team_name=seat.team_name,
        admin=seat.admin,
        monthly_cap=seat.monthly_cap,
        used=seat.used,
        period_start=seat.period_start,
        period_end=seat.period_end,
        text=seat.text,
        admins=list(seat.admins),
    )
