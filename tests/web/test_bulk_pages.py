"""A bulk send in Chromium, click by click: choose five people (three from the People
page's link, two pasted as handles), a template, see the dry run, confirm, watch it finish,
and find the credits dropped by exactly the total the dry run showed (issue 10 §6).

Screenshots of the three steps, at 1280 and 390 pixels wide, go to test-output/screenshots/bulk/.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import SCREENSHOTS, Server, sign_in

SHOTS = SCREENSHOTS / "bulk"
WIDTHS = {"wide": 1280, "narrow": 390}


def shoot(page: Page, name: str) -> None:
    """The whole page at each width, then back to the wide one."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def balance(page: Page) -> int:
    page.goto("/credits")
    return int(page.locator("#balance").inner_text())


def test_a_dry_run_of_five_then_confirm_spends_exactly_the_total_shown(
    page: Page, server: Server
) -> None:
    people = server.members
    sign_in(page, people["bo"])
    before = balance(page)
    linked = "&".join(f"to={people[h].id}" for h in ("kai", "lea", "moe"))

    page.goto(f"/bulk?{linked}")
    expect(page.get_by_role("heading", name="Bulk send", exact=True)).to_be_visible()
    for handle in ("kai", "lea", "moe"):
        expect(page.get_by_label(re.compile(people[handle].name))).to_be_checked()
    page.get_by_label(re.compile("handles")).fill("@nia\nola")
    expect(page.get_by_label("Template", exact=True)).to_have_value(re.compile("tpl_"))
    shoot(page, "1-choose")
    page.get_by_role("button", name="Preview the cost").click()

    expect(page.get_by_role("heading", name="Check your bulk send")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/bulk/preview\?.*once="))
    rows = page.locator("#recipients tbody tr")
    expect(rows).to_have_count(5)
    expect(page.locator("#total-credits")).to_have_text("5 credits")
    expect(page.locator("#totals")).to_contain_text(f"you have {before}")
    expect(page.locator("#total-overage")).to_contain_text("nothing is billed")
    expect(rows.nth(0)).to_contain_text("A role for you, Kai")
    expect(rows.nth(1)).to_contain_text("Quick question, Lea")  # variants alternate
    shown = int(page.locator("#total-credits").inner_text().split()[0])
    shoot(page, "2-dry-run")
    page.get_by_role("button", name="Confirm: send for 5 credits").click()

    expect(page).to_have_url(re.compile(r"/bulk/blk_[^/?]+$"))
    expect(page.get_by_role("heading", name="Done")).to_be_visible(timeout=15_000)
    expect(page.locator("#progress-text")).to_have_text("5 of 5 handled: 5 sent, 0 not sent.")
    expect(page.locator("#credits-spent")).to_have_text("5 of the 5 you confirmed")
    expect(page.locator("#outcomes tbody tr")).to_have_count(5)
    shoot(page, "3-progress")

    assert balance(page) == before - shown
    page.goto("/bulk")
    expect(page.locator("#bulk-sends")).to_contain_text("5 sent of 5")
