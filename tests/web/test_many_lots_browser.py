"""A member with many lots, in Chromium: their credits page and the operator's page of them
list the plan lot and the 10 packs a spend takes first, say how many lots there are in all
and where the rest are; both checked by axe and for overflow, photographed at 1280 and 390 px
(docs/rules.md, "The credits overview and many lots")."""

from __future__ import annotations

import re

import httpx2
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, SCREENSHOTS, Server
from tests.web.look import photograph_at_widths

SHOTS = SCREENSHOTS / "many-lots"
PACKS = 14


def _look(page: Page, name: str, problems: list[str]) -> None:
    photograph_at_widths(page, SHOTS, name, problems)


def _member_with_packs(server: Server) -> tuple[str, str]:
    """A new member of their own who bought PACKS packs of 1; their id and a welcome path."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx2.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        body = {"handle": "packrat", "name": "Pia Packs", "plan": "premium_business"}
        member_id: str = client.post("/v1/admin/members", json=body).json()["id"]
        token = client.post(f"/v1/admin/members/{member_id}/tokens").json()["token"]
        for _ in range(PACKS):
            bought = client.post(
                "/v1/me/purchases",
                json={"pack": "pack_1"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert bought.status_code == 201, bought.text
        invited = client.post(f"/v1/admin/members/{member_id}/invitations")
        assert invited.status_code == 201, invited.text
    return member_id, "/welcome/" + str(invited.json()["url"]).split("/welcome/", 1)[1]


def test_many_lots_show_the_first_a_spend_takes_and_say_where_the_rest_are(
    page: Page, server: Server
) -> None:
    member_id, welcome = _member_with_packs(server)
    problems: list[str] = []
    page.goto(welcome)
    page.get_by_label("New password (at least 8 characters)").fill("packrat password")
    page.get_by_label("The same password again").fill("packrat password")
    page.get_by_role("button", name="Set password and sign in").click()
    page.goto("/credits")
    more = page.locator("#lots-more")
    expect(more).to_contain_text(f"The 11 a spend takes first, of {PACKS + 1} lots")
    expect(more).to_contain_text("GET /v1/me/credits/lots")
    _look(page, "member-credits", problems)

    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("Operator token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in as operator").click()
    expect(page).to_have_url(re.compile(r"/admin$"))
    page.goto(f"/admin/members/{member_id}")
    expect(page.locator("#lots-more")).to_contain_text(
        f"The 11 a spend takes first, of {PACKS + 1} lots"
    )
    _look(page, "admin-member", problems)
    assert problems == []
