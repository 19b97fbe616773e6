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
