"""The team pages in Chromium: the operator makes a team and seats Tamsin (admin) and Saul; Tamsin
caps Saul's seat; Saul finds Fin priced from the pool (People, "Who answers", compose), sends an
InMail paid by the pool and reads "1 of 3 this month". Each page is checked with axe and
photographed at 1280 and 390 px (test-output/screenshots/teams)."""

from __future__ import annotations

import os
import re

from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, ROOT, SCREENSHOTS, Server, sign_in
from tests.web.look import axe_violations

SHOTS = SCREENSHOTS / "teams"
WIDTHS = (1280, 390)


# The README's tour shows two of these pages; `make screenshots` sets INMAIL_TOUR_DIR.
TOUR = {"team-admin": "team", "seat-credits": "credits-seat"}
TOUR_DIR = ROOT / os.environ["INMAIL_TOUR_DIR"] if "INMAIL_TOUR_DIR" in os.environ else None


def _photograph(page: Page, name: str) -> None:
    """Both widths, each checked for horizontal overflow and axe, saved for review."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert axe_violations(page) == [], name
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if TOUR_DIR is not None and name in TOUR:
            TOUR_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(TOUR_DIR / f"{TOUR[name]}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})


def test_a_team_from_the_operators_page_to_a_seats_send(new_page: object, server: Server) -> None:
    make = new_page
    assert callable(make)
    operator: Page = make()
    operator.goto("/login")
    operator.get_by_label("Operator token").fill(ADMIN_TOKEN)
    operator.get_by_role("button", name="Sign in as operator").click()
    expect(operator).to_have_url(re.compile(r"/admin$"))
    operator.get_by_role("navigation", name="Operator").get_by_role("link", name="Teams").click()
    operator.get_by_label("Name", exact=True).fill("Orbit Talent")
    operator.get_by_label("Plan", exact=True).select_option("recruiter_corporate")
    operator.get_by_label("Seats", exact=True).fill("3")
    _photograph(operator, "admin-teams")
    operator.get_by_role("button", name="Create team").click()
    expect(operator.get_by_role("heading", name="Orbit Talent")).to_be_visible()
    for handle, admin in (("tamsin", True), ("saul", False)):
        operator.get_by_label("Member's handle").fill(handle)
        if admin:
            operator.get_by_label("Team admin").check()
        operator.get_by_role("button", name="Seat them").click()
        expect(operator.locator(".flash").first).to_contain_text("now holds a seat")
    expect(operator.locator("#pool-balance")).to_have_text("225")
    operator.get_by_text("Change the contract").click()
    _photograph(operator, "admin-team")

    tess: Page = make()
    sign_in(tess, server.members["tamsin"])
    tess.goto("/credits")
    tess.get_by_role("link", name="Manage the team").click()
    sol_id = server.members["saul"].id
    tess.locator(f"#cap-{sol_id}").fill("3")
    tess.locator(f"#seat-{sol_id}").get_by_role("button", name=re.compile("Set cap")).click()
    expect(tess.locator(".flash").first).to_contain_text("0 of 3 this month")
    _photograph(tess, "team-admin")

    sol: Page = make()
    sign_in(sol, server.members["saul"])
    # Every preview prices from the pool and counts the seat's cap, as the send does.
    sol.goto("/people?q=Fin+Silent")
    expect(sol.locator("main")).to_contain_text("1 credit")
    _photograph(sol, "seat-people")
    sol.goto("/targeting?handles=fin")
    expect(sol.locator("main")).to_contain_text("1 credit")
    _photograph(sol, "seat-targeting")
    sol.goto(f"/compose?to={server.members['fin'].id}")
    expect(sol.locator("main")).to_contain_text(
        "paid from Orbit Talent's pool, which has 225 (your seat: 0 of 3 this month)"
    )
    sol.get_by_label("Subject").fill("Orbit is hiring")
    sol.get_by_label("Message").fill("Hi Fin, would you have 15 minutes to talk?")
    _photograph(sol, "seat-compose")
    sol.get_by_role("button", name=re.compile("^Send")).click()
    expect(sol.locator(".flash").first).to_contain_text("InMail sent")
    _photograph(sol, "seat-thread")  # the conversation, with the team plan's follow-up terms
    sol.goto("/credits")
    expect(sol.locator("#seat-usage")).to_have_text("1 of 3 this month")
    # No call to subscribe or buy for a seat: the pool pays (nor a link to a hidden section).
    expect(sol.locator("#seat-plan")).to_contain_text("you need no plan of your own")
    expect(sol.locator("#no-packs")).to_contain_text("Orbit Talent's admins buy packs")
    expect(sol.locator('a[href="#upgrade-heading"]')).to_have_count(0)
    _photograph(sol, "seat-credits")
