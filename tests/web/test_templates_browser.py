"""Templates in Chromium against ``inmail serve``: write one with an A/B variant, preview it for
people (what they lack shown plainly), compose from it, and see it on the Stats page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import Server, screenshot, sign_in


def _preview_for(page: Page, name: str) -> None:
    page.get_by_label("Name or handle").fill(name)
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_role("link", name=f"Preview for {name}", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(f"^For {name}"))).to_be_visible()


def test_write_a_template_preview_it_and_compose_from_it(page: Page, server: Server) -> None:
    sign_in(page, server.members["tess"])
    page.get_by_role("link", name="Templates", exact=True).click()
    expect(page.get_by_role("heading", name="Templates", exact=True)).to_be_visible()
    expect(page.get_by_text("No templates yet.")).to_be_visible()

    page.get_by_label("Name (only you see it)").fill("Data intro")
    page.get_by_label("Subject", exact=True).fill("A question about {company|your team}")
    page.get_by_label("Message", exact=True).fill(
        "Hi {first_name},\nyour work as {headline|an engineer} caught my eye. "
        "Could we talk for 15 minutes this week?\n{my_name}"
    )
    page.locator("summary", has_text="Variant B").click()  # open the optional variant
    page.get_by_label("Subject B").fill("{first_name} {last_name}, 15 minutes?")
    page.get_by_label("Message B").fill("Short version: may I ask you about {company}?")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("status")).to_have_text("Template “Data intro” saved.")
    expect(page.get_by_role("heading", name="Data intro")).to_be_visible()

    _preview_for(page, "Ode")  # a one-word name and no company: B cannot be sent to them
    expect(page.locator("#preview-a")).to_contain_text("A question about your team")
    missing = page.locator("#preview-b")
    expect(missing).to_contain_text("Cannot be sent to Ode: no value and no fallback for")
    expect(missing).to_contain_text("{last_name} in the subject")
    expect(missing).to_contain_text("{company} in the body")

    _preview_for(page, "Wyn Recipient")
    expect(page.locator("#preview-a")).to_contain_text("A question about Northwind")
    expect(page.locator("#preview-a")).to_contain_text("your work as Data engineer caught my eye")
    expect(page.locator("#preview-b")).to_contain_text("Wyn Recipient, 15 minutes?")
    screenshot(page, "template-preview")

    page.get_by_role("link", name="Write to Wyn Recipient with this template").click()
    expect(page.get_by_role("heading", name=re.compile("^To Wyn Recipient"))).to_be_visible()
    expect(page.get_by_label("Start from a template")).to_have_value(re.compile("^tpl_"))
    expect(page.get_by_label("Subject")).to_have_value("A question about Northwind")
    expect(page.get_by_label("Message")).to_have_value(re.compile(r"^Hi Wyn,\nyour work as"))
    screenshot(page, "compose-from-template")
    page.get_by_role("button", name="Send InMail (1 credit)").click()
    expect(page).to_have_url(re.compile(r"/threads/[^/]+$"))
    expect(page.get_by_role("status")).to_contain_text("InMail sent: 1 credit spent, 24 left.")
    expect(page.get_by_text("your work as Data engineer caught my eye")).to_be_visible()

    page.get_by_role("link", name="Stats", exact=True).click()
    stats = page.get_by_role("article", name="Data intro")
    expect(stats.get_by_role("columnheader")).to_have_text(["All", "Variant A", "Variant B"])
    expect(stats.get_by_role("row", name=re.compile("^Sent"))).to_have_text(
        re.compile(r"Sent\s*1\s*1\s*0")
    )
    expect(stats.get_by_role("row", name=re.compile("^Response rate"))).to_contain_text(
        "none counted yet"
    )
    screenshot(page, "stats-templates")


def test_choosing_variant_b_on_compose_fills_it_in(page: Page, server: Server) -> None:
    sign_in(page, server.members["tess"])
    page.goto("/templates")
    page.get_by_label("Name (only you see it)").fill("Two ways")
    page.get_by_label("Subject", exact=True).fill("A for {first_name}")
    page.get_by_label("Message", exact=True).fill("Long A")
    page.locator("summary", has_text="Variant B").click()
    page.get_by_label("Subject B").fill("B for {first_name}")
    page.get_by_label("Message B").fill("Short B")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("status")).to_have_text("Template “Two ways” saved.")

    page.goto("/compose")
    page.get_by_label("Name or handle").fill("Ode")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ode", exact=True).click()
    page.get_by_label("Start from a template").select_option(label="Two ways · variant B")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.get_by_label("Subject")).to_have_value("B for Ode")
    expect(page.get_by_label("Message")).to_have_value("Short B")
