"""Team pages (SPEC §10): the operator's teams (create, seat, make admin, remove) under
/admin/teams, and a team admin's page /teams/{id} (pool, usage per seat, caps, overage
permission, packs, CSV). A seat holder's usage shows on their credits page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.errors import ValidationError
from inmail.services import catalog, members, teams
from inmail.services.statements import get_credits
from inmail.web.common import Short, back, page, runtime_of
from inmail.web.forms import FailedForm, OnceKey, on_failure
from inmail.web.session import CsrfChecked, WebMember, WebOperator, signed_in_member

operator = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[WebOperator])
router = APIRouter(include_in_schema=False)
Number = Annotated[str, Form(max_length=12)]


def _whole(text: str, field: str) -> int | None:
    """A form's whole number; None for an empty field. ValidationError names the field."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError(f"{field} is a whole number (or empty)", field=field)
    return int(text)


@operator.get("/teams", response_class=HTMLResponse)
def teams_page(request: Request) -> HTMLResponse:
    return _teams(request)


def _teams(request: Request, failed: FailedForm | None = None) -> HTMLResponse:
    deps = runtime_of(request).deps
    found = teams.list_teams(deps, after=None, limit=500)
    plans = [p for p in catalog.list_plans(deps) if p.is_paid and p.inmail]
    return page(request, "admin_teams.html", teams=found, plans=plans, failed=failed)


@operator.post("/teams/new", dependencies=[CsrfChecked])
@on_failure(_teams)
def create_team(
    request: Request,
    name: Short = "",
    plan: Annotated[str, Form(max_length=64)] = "",
    seats: Number = "",
    pool_cap: Number = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    count = _whole(seats, "seats")
    made = teams.create_team(
        rt.deps,
        name=name,
        plan=plan,
        seats=0 if count is None else count,
        pool_cap=_whole(pool_cap, "pool_cap"),
        now=rt.clock.now(),
        idempotency_key=once,
    )
    return back(request, f"/admin/teams/{made.id}", f"Team {made.name} created.")


@operator.get("/teams/{team_id}", response_class=HTMLResponse)
def team_page(request: Request, team_id: str) -> HTMLResponse:
    return _team(request, team_id)


def _team(request: Request, team_id: str, failed: FailedForm | None = None) -> HTMLResponse:
    rt = runtime_of(request)
    now = rt.clock.now()
    team = teams.get_team(rt.deps, team_id=team_id)
    seated = members.members_by_id(rt.deps, team.members, now=now)
    pool = get_credits(rt.deps, member_id=team.id, now=now)
    return page(request, "admin_team.html", team=team, seated=seated, pool=pool, failed=failed)


def _team_again(request: Request, failed: FailedForm) -> HTMLResponse:
    return _team(request, request.path_params["team_id"], failed)


@operator.post("/teams/{team_id}/terms", dependencies=[CsrfChecked])
@on_failure(_team_again)
def change_terms(
    request: Request, team_id: str, seats: Number = "", pool_cap: Number = ""
) -> Response:
    rt = runtime_of(request)
    count = _whole(seats, "seats")
    changed = teams.change_terms(
        rt.deps,
        team_id=team_id,
        seats=0 if count is None else count,
        pool_cap=_whole(pool_cap, "pool_cap"),
        now=rt.clock.now(),
    )
    text = f"{changed.seats} seats from the next renewal."
    return back(request, f"/admin/teams/{team_id}", text)


@operator.post("/teams/{team_id}/seats", dependencies=[CsrfChecked])
@on_failure(_team_again)
def assign_seat(
    request: Request,
    team_id: str,
    handle: Annotated[str, Form(max_length=64)] = "",
    admin: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    rt = runtime_of(request)
    now = rt.clock.now()
    member = members.member_by_handle(rt.deps, handle.strip(), now=now)
    teams.assign_seat(rt.deps, team_id=team_id, member_id=member.id, admin=bool(admin), now=now)
    return back(request, f"/admin/teams/{team_id}", f"{member.name} now holds a seat.")


@operator.post("/teams/{team_id}/seats/{member_id}/admin", dependencies=[CsrfChecked])
@on_failure(_team_again)
def set_admin(
    request: Request,
    team_id: str,
    member_id: str,
    admin: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    rt = runtime_of(request)
    made = admin == "yes"
    teams.set_seat_admin(
        rt.deps, team_id=team_id, member_id=member_id, admin=made, now=rt.clock.now()
    )
    text = "Made a team admin." if made else "No longer a team admin."
    return back(request, f"/admin/teams/{team_id}", text)


@operator.post("/teams/{team_id}/seats/{member_id}/remove", dependencies=[CsrfChecked])
@on_failure(_team_again)
def remove_seat(request: Request, team_id: str, member_id: str) -> Response:
    rt = runtime_of(request)
    teams.remove_seat(rt.deps, team_id=team_id, member_id=member_id, now=rt.clock.now())
    text = "The seat is free; the member sends on their own plan again."
    return back(request, f"/admin/teams/{team_id}", text)


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def admin_team_page(request: Request, team_id: str, member_id: WebMember) -> HTMLResponse:
    return _admin_team(request, team_id, member_id)


def _admin_team(
    request: Request, team_id: str, member_id: str, failed: FailedForm | None = None
) -> HTMLResponse:
    rt = runtime_of(request)
    view = teams.team_view(rt.deps, admin_id=member_id, team_id=team_id, now=rt.clock.now())
    packs = catalog.list_packs(rt.deps)
    return page(request, "team.html", view=view, packs=packs, failed=failed)


def _admin_team_again(request: Request, failed: FailedForm) -> HTMLResponse:
    member = signed_in_member(request)
    return _admin_team(request, request.path_params["team_id"], member, failed)


@router.post("/teams/{team_id}/seats/{seat_id}/cap", dependencies=[CsrfChecked])
@on_failure(_admin_team_again)
def set_cap(
    request: Request, team_id: str, seat_id: str, member_id: WebMember, monthly_cap: Number = ""
) -> Response:
    rt = runtime_of(request)
    usage = teams.set_seat_cap(
        rt.deps,
        admin_id=member_id,
        team_id=team_id,
        member_id=seat_id,
        cap=_whole(monthly_cap, "monthly_cap"),
        now=rt.clock.now(),
    )
    return back(request, f"/teams/{team_id}", f"{usage.name}: {usage.text}.")


@router.post("/teams/{team_id}/settings", dependencies=[CsrfChecked])
@on_failure(_admin_team_again)
def set_overage(
    request: Request,
    team_id: str,
    member_id: WebMember,
    seat_overage: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    rt = runtime_of(request)
    allowed = seat_overage == "yes"
    teams.set_seat_overage(
        rt.deps, admin_id=member_id, team_id=team_id, allowed=allowed, now=rt.clock.now()
    )
    text = "Seats may buy overage for the pool." if allowed else "Seats may not buy overage."
    return back(request, f"/teams/{team_id}", text)


@router.post("/teams/{team_id}/purchases", dependencies=[CsrfChecked])
@on_failure(_admin_team_again)
def buy_pack(
    request: Request,
    team_id: str,
    member_id: WebMember,
    pack: Annotated[str, Form(max_length=64)] = "",
    once: OnceKey = None,
) -> Response:
    rt = runtime_of(request)
    bought = teams.buy_team_pack(
        rt.deps,
        admin_id=member_id,
        team_id=team_id,
        pack=pack,
        now=rt.clock.now(),
        idempotency_key=once,
    )
    text = f"{bought.credits} credits added to the pool for {bought.price}."
    return back(request, f"/teams/{team_id}", text)


@router.get("/teams/{team_id}/usage.csv")
def usage_csv(request: Request, team_id: str, member_id: WebMember) -> Response:
    rt = runtime_of(request)
    text = teams.usage_csv(rt.deps, admin_id=member_id, team_id=team_id, now=rt.clock.now())
    headers = {"Content-Disposition": 'attachment; filename="inmail-team-usage.csv"'}
    return Response(text, media_type="text/csv", headers=headers)
