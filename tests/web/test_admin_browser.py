"""The operator's pages in Chromium: totals, the member list, a plan edit's review with the
lower-cap warning, and packs; each photographed at 1280 and 390 px wide, with no overflow.

The server is shared by the whole browser suite, so this test reviews edits and cancels
them: saving is covered in test_admin_catalog_pages (a fresh database per test).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, SCREENSHOTS, Server

SHOTS = SCREENSHOTS / "ops"
WIDTHS = (1280, 390)


def _photograph(page: Page, name: str) -> None:
    """Both widths, each checked for horizontal overflow, saved for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})


def _sign_in_operator(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Operator token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in as operator").click()
    expect(page).to_have_url(re.compile(r"/admin$"))


def test_the_operator_reads_totals_lists_members_and_reviews_catalog_edits(
    page: Page, server: Server
) -> None:
    _sign_in_operator(page)
    by_plan = page.locator("#members-by-plan")
    expect(by_plan.get_by_role("row", name=re.compile(r"^Premium Business \d+$"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^This month: "))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Last month: "))).to_be_visible()
    expect(page.locator("#month-1").get_by_role("rowheader", name="Granted")).to_be_visible()
    _photograph(page, "admin-overview")

    page.get_by_role("navigation", name="Operator").get_by_role("link", name="Members").click()
    cara = server.members["cara"]
    expect(page.get_by_role("link", name=cara.name, exact=True)).to_be_visible()
    page.get_by_label("Search members").fill(cara.handle)
    page.get_by_role("button", name="Search").click()
    expect(
        page.get_by_role("heading", name=re.compile(f"Members matching “{cara.handle}”"))
    ).to_be_visible()
    expect(page.get_by_role("cell", name=f"@{cara.handle}", exact=True)).to_be_visible()
    page.get_by_role("link", name="Clear").click()
    page.get_by_role("link", name="Balance").click()
    expect(page.get_by_role("columnheader", name=re.compile("Balance"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    _photograph(page, "admin-members")

    page.goto("/admin/plans")
    editor = page.locator("#plan-recruiter_corporate")
    editor.locator("summary").click()
    editor.get_by_label("Rollover cap (plan credits kept)").fill("10")
    editor.get_by_role("button", name="Review the changes").click()
    expect(
        page.get_by_role("heading", name="Review Recruiter Corporate, version 2")
    ).to_be_visible()
    expect(page.locator("#diff-rollover_cap")).to_contain_text("225")
    expect(page.locator("#lower-cap")).to_contain_text("is below the monthly credits (75)")
    expect(page.get_by_label(re.compile("I understand"))).not_to_be_checked()
    _photograph(page, "admin-plan-review")
    page.get_by_role("link", name="Cancel: keep version 1").click()
    expect(page).to_have_url(re.compile(r"/admin/plans$"))

    page.get_by_role("navigation", name="Operator").get_by_role("link", name="Packs").click()
    expect(page.locator("#pack-pack_5")).to_contain_text("45.00 USD")
    _photograph(page, "admin-packs")
    editor = page.locator(
        "section", has=page.get_by_role("heading", name=re.compile("Edit pack_5"))
    )
    editor.locator("summary").click()
    editor.get_by_label("Price (USD)").fill("40.00")
    editor.get_by_role("button", name="Review the changes").click()
    expect(page.locator("#diff-price")).to_contain_text("40.00 USD")
    _photograph(page, "admin-pack-review")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#pack-pack_5")).to_contain_text("45.00 USD")
