"""The team pages through FastAPI's TestClient on each engine: the operator creates a team
and seats members, a team admin caps a seat, allows overage and buys a pack, and the seat
holder reads "N of M this month" on their credits page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.services import members, teams
from inmail.services.credits import spend_credits
from tests.conftest import T0
from tests.web.test_admin_pages import ADMIN, Web


@pytest.fixture
def web(db_url: str) -> Iterator[Web]:
    runtime = build(Settings(database_url=db_url, admin_token=ADMIN, test_clock=T0))
    with TestClient(create_app(runtime=runtime)) as client:
        yield Web(client, runtime)


def test_the_operator_creates_a_team_and_seats_members(web: Web) -> None:
    lead, seat = web.member("basic"), web.member("basic")
    web.sign_in_operator()
    assert "No teams yet." in web.client.get("/admin/teams").text
    made = web.post(
        "/admin/teams/new",
        name="Acme",
        plan="recruiter_corporate",
        seats="2",
        pool_cap="",
        once="k1",
    )
    assert made.url.path.startswith("/admin/teams/tm_")
    assert "Team Acme created." in made.text
    team_id = made.url.path.rsplit("/", 1)[1]
    now = web.runtime.clock.now()
    for member, admin in ((lead, "yes"), (seat, "")):
        handle = members.get_member(web.runtime.deps, member, now=now).handle
        shown = web.post(f"/admin/teams/{team_id}/seats", handle=handle, admin=admin)
        assert "now holds a seat" in shown.text
    page = web.client.get(f"/admin/teams/{team_id}").text
    assert re.search(r'id="pool-balance">150<', page)
    assert "2 of 2 seats taken" in page
    full = web.post(f"/admin/teams/{team_id}/seats", handle="nobody-here")
    assert full.status_code in (404, 422)
    removed = web.post(f"/admin/teams/{team_id}/seats/{seat}/remove")
    assert "The seat is free" in removed.text
    more = web.post(f"/admin/teams/{team_id}/terms", seats="4", pool_cap="")
    assert "4 seats from the next renewal." in more.text
    fewer = web.post(f"/admin/teams/{team_id}/terms", seats="0", pool_cap="")
    assert fewer.status_code == 422


def test_a_bad_team_form_is_shown_again_naming_the_field(web: Web) -> None:
    web.sign_in_operator()
    refused = web.post("/admin/teams/new", name="Acme", plan="recruiter", seats="0", once="k2")
    assert refused.status_code == 422
    assert "seats" in refused.text
    assert teams.list_teams(web.runtime.deps, after=None, limit=5) == []


def test_the_team_admin_caps_a_seat_and_the_holder_sees_it(web: Web) -> None:
    deps, now = web.runtime.deps, web.runtime.clock.now()
    lead, seat = web.member("basic", password=True), web.member("basic", password=True)
    team = teams.create_team(deps, name="Acme", plan="recruiter_corporate", seats=2, now=now)
    teams.assign_seat(deps, team_id=team.id, member_id=lead, admin=True, now=now)
    teams.assign_seat(deps, team_id=team.id, member_id=seat, admin=False, now=now)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:w1", now=now)
    web.sign_in_member(lead)
    page = web.client.get(f"/teams/{team.id}").text
    assert "1 this month, no cap" in page
    capped = web.post(f"/teams/{team.id}/seats/{seat}/cap", monthly_cap="40")
    assert "1 of 40 this month" in capped.text
    too_low = web.post(f"/teams/{team.id}/seats/{seat}/cap", monthly_cap="0")
    assert too_low.status_code == 422
    allowed = web.post(f"/teams/{team.id}/settings", seat_overage="yes")
    assert "Seats may buy overage for the pool." in allowed.text
    bought = web.post(f"/teams/{team.id}/purchases", pack="pack_5", once="p1")
    assert "5 credits added to the pool" in bought.text
    csv = web.client.get(f"/teams/{team.id}/usage.csv")
    assert csv.text.startswith("member_id,handle,name,admin,monthly_cap,sends,credits_used")
    web.client.post("/logout", data={"csrf": web.csrf("/credits")})
    web.sign_in_member(seat)
    credits = web.client.get("/credits").text
    assert "1 of 40 this month" in credits
    assert web.client.get(f"/teams/{team.id}").status_code == 403


def test_a_seat_holder_on_basic_sees_the_pools_price_on_people_targeting_and_compose(
    web: Web,
) -> None:
    """Their own plan has no InMail and no credits: every page prices from the team's plan
    and pool, as the quote does; at the seat's cap they read the send's refusal."""
    deps, now = web.runtime.deps, web.runtime.clock.now()
    lead, seat = web.member("basic"), web.member("basic", password=True)
    to = web.member("basic")
    team = teams.create_team(deps, name="Acme", plan="recruiter_corporate", seats=2, now=now)
    teams.assign_seat(deps, team_id=team.id, member_id=lead, admin=True, now=now)
    teams.assign_seat(deps, team_id=team.id, member_id=seat, admin=False, now=now)
    handle = members.get_member(deps, to, now=now).handle
    web.sign_in_member(seat)
    people = web.client.get(f"/people?q={handle}").text
    assert "1 credit" in people
    assert "Can\u2019t InMail" not in people
    ranked = web.client.get(f"/targeting?handles={handle}").text
    assert "1 credit" in ranked
    assert "not reachable" not in ranked
    compose = web.client.get(f"/compose?to={to}").text
    assert "paid from Acme's pool, which has 150 (your seat: 0 this month, no cap)" in compose
    assert "does not include InMail" not in compose

    teams.set_seat_cap(deps, admin_id=lead, team_id=team.id, member_id=seat, cap=1, now=now)
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:w2", now=now)
    people = web.client.get(f"/people?q={handle}").text
    assert "Can\u2019t InMail" in people
    assert "your seat has used 1 of its 1 credits this month" in people
    compose = web.client.get(f"/compose?to={to}").text
    assert "Cannot send: your seat has used 1 of its 1 credits this month" in compose
