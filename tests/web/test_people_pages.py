"""Finding people and groups in Chromium: the People page, compose from a result, picking people
for a bulk send, and the group directory (issue 10 §1)."""

from __future__ import annotations

import re
from typing import Any

import httpx2
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, SCREENSHOTS, Server, screenshot, sign_in

SHOTS = SCREENSHOTS / "search"


def _admin(server: Server, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx2.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        answer = client.request(method, path, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _profile(server: Server, handle: str, name: str, **profile: Any) -> str:
    body = {"handle": handle, "name": name, "plan": "basic"} | profile
    member_id: str = _admin(server, "POST", "/v1/admin/members", body)["id"]
    return member_id


def _shots(page: Page, name: str) -> None:
    """The page at 1280 and at 390 pixels wide, for review (and in test-output/)."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
        if SHOTS.parent.is_dir():
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_find_a_person_by_company_and_write_to_them(page: Page, server: Server) -> None:
    _profile(
        server,
        "quinn",
        "Quinn Quokka",
        company="Quokka Analytics",
        headline="Head of data",
        school="Université de Montréal",
        interests=["Marsupials"],
    )
    _profile(server, "quentin", "Quentin Other", company="Wombat Works")
    sign_in(page, server.members["ava"])
    page.get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    page.get_by_label("Company").fill("quokka")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/people\?.*company=quokka"))
    results = page.locator("#people > li")
    expect(results).to_have_count(1)
    quinn = results.first
    expect(quinn).to_contain_text("Quinn Quokka")
    expect(quinn).to_contain_text("3rd+")
    expect(quinn).to_contain_text("1 credit")
    expect(quinn).to_contain_text("Quokka Analytics · Université de Montréal")
    _shots(page, "people")
    page.get_by_role("link", name="Write to Quinn Quokka").click()
    expect(page.get_by_role("heading", name="To Quinn Quokka")).to_be_visible()
    expect(page.locator("#cost-preview")).to_contain_text("1 credit")


def test_accents_and_degrees_on_the_people_page(page: Page, server: Server) -> None:
    _profile(server, "renee", "Renée Ærøskøbing", headline="Cartographer")
    sign_in(page, server.members["nora"])  # connected to Mia, who knows Omar
    page.goto("/people?q=renee+aeroskobing")
    expect(page.locator("#people > li")).to_have_count(1)
    expect(page.locator("#people")).to_contain_text("Renée Ærøskøbing")
    page.goto("/people")
    page.get_by_label("Degree").select_option("2")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#people > li")).to_have_count(1)
    expect(page.locator("#people")).to_contain_text("Omar Target")
    expect(page.locator("#people")).to_contain_text("2nd")
    page.get_by_label("Degree").select_option("1")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#people")).to_contain_text("Mia Middle")
    expect(page.locator("#people")).to_contain_text("Free")


def test_picked_people_go_to_the_bulk_send_as_a_plain_get(page: Page, server: Server) -> None:
    first = _profile(server, "pick1", "Picky One", company="Pickers Inc")
    second = _profile(server, "pick2", "Picky Two", company="Pickers Inc")
    sign_in(page, server.members["rex"])
    page.goto("/people?company=pickers")
    page.get_by_label("Pick Picky One").check()
    page.get_by_label("Pick Picky Two").check()
    page.get_by_role("button", name="Bulk send to the people picked").click()
    expect(page).to_have_url(re.compile(rf"/bulk\?to={first}&to={second}$"))


def test_a_bad_search_is_refused_in_words(page: Page, server: Server) -> None:
    sign_in(page, server.members["sue"])
    page.goto("/people?q=ada%01")
    expect(page.get_by_role("alert")).to_have_text(
        "q cannot contain control characters or line breaks"
    )
    page.goto("/people?degree=7")
    expect(page.get_by_role("alert")).to_contain_text("degree is 1, 2 or 3")


def test_find_a_group_in_the_directory_and_join_it(page: Page, server: Server) -> None:
    # An owner of our own (the seeded group founders belong to other tests), and Kim, whose
    # sign-in tests look at nothing a group changes.
    owner = _profile(server, "birder", "Bea Birder")
    token = _admin(server, "POST", f"/v1/admin/members/{owner}/tokens")["token"]
    with httpx2.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    ) as client:
        for name, description, closed in (
            ("Birdwatchers Zürich", "Binoculars at dawn", False),
            ("Secret Birders", "Rare sightings, members only", True),
        ):
            body = {"name": name, "description": description, "closed": closed}
            assert client.post("/v1/groups", json=body).status_code == 201
    sign_in(page, server.members["kim"])
    page.get_by_role("link", name="Groups", exact=True).click()
    page.get_by_label("Words of a group").fill("BIRD zurich")
    page.get_by_role("button", name="Search groups").click()
    directory = page.locator("#directory > li")
    expect(directory).to_have_count(1)
    expect(directory.first).to_contain_text("1 member")
    page.get_by_label("Words of a group").fill("bird")
    page.get_by_role("button", name="Search groups").click()
    expect(directory).to_have_count(2)
    _shots(page, "groups")
    page.get_by_role("button", name="Ask to join Secret Birders").click()
    expect(page.get_by_role("status")).to_contain_text("Request sent")
    page.goto("/groups?q=bird")
    page.get_by_role("button", name="Join Birdwatchers Zürich").click()
    expect(page.get_by_role("status")).to_contain_text("You joined the group.")
    page.goto("/groups?q=bird")
    expect(page.locator("#directory")).to_contain_text("request sent")
    expect(page.locator("#directory")).to_contain_text("2 members")


def test_compose_finds_the_recipient_with_the_cost_on_each_match(
    page: Page, server: Server
) -> None:
    _profile(server, "cosmo", "Cosmo Compose", headline="Astronomer")
    sign_in(page, server.members["ava"])
    page.goto("/compose")
    page.get_by_label("Name or handle").fill("astronomer")
    page.get_by_role("button", name="Search").click()
    match = page.get_by_role("listitem").filter(has_text="Cosmo Compose")
    expect(match).to_contain_text("1 credit")
    expect(match).to_contain_text("3rd+")
    _shots(page, "compose")
    page.get_by_role("link", name="Cosmo Compose").click()
    expect(page.get_by_role("heading", name="To Cosmo Compose")).to_be_visible()
