"""Issue 10's journey in Chromium, in one go, as a member spends credits well: find people by
company, open compose from a result and start from a template with the coach's tips shown,
pick the same five for a bulk send, see its dry run, confirm, and find the balance dropped by
exactly the total the dry run showed (no more: nothing else was sent on the way)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import Server, screenshot, sign_in

FIVE = ("Wes Walker", "Wil Warren", "Win Waters", "Wyatt Wilde", "Wren Woods")


def _balance(page: Page) -> int:
    page.goto("/credits")
    return int(page.locator("#balance").inner_text())


def test_find_by_company_compose_from_a_template_then_bulk_send_to_five(
    page: Page, server: Server
) -> None:
    sign_in(page, server.members["jude"])
    before = _balance(page)

    # Find them by company: five results, each priced before anything is spent.
    page.goto("/people")
    page.get_by_label("Company").fill("wombat dynamics")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator("#people > li")
    expect(results).to_have_count(5)
    for name in FIVE:
        row = results.filter(has_text=name)
        expect(row).to_contain_text("Wombat Dynamics")
        expect(row).to_contain_text("1 credit")

    # Compose to one of them from the template: filled in for Wes, the coach's tips beside it.
    page.get_by_role("link", name="Write to Wes Walker").click()
    expect(page.get_by_role("heading", name=re.compile("^To Wes Walker"))).to_be_visible()
    page.get_by_label("Start from a template").select_option(label="Hiring hello · variant A")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.get_by_label("Subject")).to_have_value("A role for you, Wes")
    tips = page.locator("#coach-tips")
    page.get_by_label("Message").fill("Hello there, I have a role.")  # it asks nothing
    expect(tips.locator("li[data-code=no-question]")).to_contain_text("Your message asks nothing")
    screenshot(page, "journey-compose")

    # Not sent: the same five go into one bulk send instead.
    page.go_back()
    page.go_back()
    expect(results).to_have_count(5)
    for name in FIVE:
        page.get_by_label(f"Pick {name}").check()
    page.get_by_role("button", name="Bulk send to the people picked").click()
    expect(page.get_by_role("heading", name="Bulk send", exact=True)).to_be_visible()
    expect(page.get_by_label("Template", exact=True)).to_have_value(re.compile("tpl_"))
    page.get_by_role("button", name="Preview the cost").click()

    expect(page.get_by_role("heading", name="Check your bulk send")).to_be_visible()
    expect(page.locator("#recipients tbody tr")).to_have_count(5)
    shown = int(page.locator("#total-credits").inner_text().split()[0])
    assert shown == 5
    screenshot(page, "journey-dry-run")
    page.get_by_role("button", name=f"Confirm: send for {shown} credits").click()
    expect(page.get_by_role("heading", name="Done")).to_be_visible(timeout=15_000)
    expect(page.locator("#progress-text")).to_have_text("5 of 5 handled: 5 sent, 0 not sent.")

    assert _balance(page) == before - shown
