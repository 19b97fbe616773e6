"""A scheduled follow-up in Chromium (issue 10 §7): chosen on compose, shown and cancelled on
the thread; with JavaScript and without it (the forms post). Screenshots at 1280 and 390 px."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.web.conftest import Member, Server, screenshot, sign_in

FOLLOW_UP = "Hello Ned, just checking in: would 15 minutes next week work for you?"
WIDTHS: dict[str, ViewportSize] = {
    "1280": {"width": 1280, "height": 900},
    "390": {"width": 390, "height": 844},
}


def _open_compose(page: Page, recipient: Member) -> None:
    page.goto("/compose")
    page.get_by_label("Name or handle").fill(recipient.name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=recipient.name, exact=True).click()
    expect(page.get_by_role("heading", name=f"To {recipient.name}")).to_be_visible()


def _shots(page: Page, name: str) -> None:
    """The page at both widths, for review (test-output/screenshots/<name>-<width>.png)."""
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size(WIDTHS["1280"])


def _no_sideways_scroll(page: Page) -> None:
    page.set_viewport_size(WIDTHS["390"])
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size(WIDTHS["1280"])
    assert overflow <= 0, f"the page is {overflow} px wider than a 390 px screen"


def test_schedule_a_follow_up_on_compose_see_it_on_the_thread_and_cancel_it(
    page: Page, server: Server
) -> None:
    sign_in(page, server.members["sol"])
    _open_compose(page, server.members["ned"])
    box = page.get_by_label("Follow up automatically if no reply after")
    expect(box).not_to_be_checked()
    expect(page.get_by_label("Days without a reply")).to_have_value("7")
    page.get_by_label("Subject").fill("A role you might like")
    page.get_by_label("Message").fill("Hello Ned,\nwould you have 15 minutes?")
    box.check()
    page.get_by_label("Days without a reply").fill("10")
    page.get_by_label("Follow-up text").fill(FOLLOW_UP)
    _no_sideways_scroll(page)
    _shots(page, "follow-up-compose")
    page.get_by_role("button", name="Send InMail (1 credit)").click()

    expect(page).to_have_url(re.compile(r"/threads/[^/]+$"))
    expect(page.get_by_role("status")).to_have_text(
        "InMail sent: 1 credit spent, 24 left. Follow-up scheduled in 10 days unless they answer."
    )
    card = page.locator("#scheduled-follow-up")
    expect(card.get_by_role("heading")).to_have_text("Scheduled follow-up pending")
    expect(card).to_contain_text("Sent by itself on 10 Feb 2026, 09:00 UTC if Ned Noreply")
    expect(card).to_contain_text(FOLLOW_UP)
    _no_sideways_scroll(page)
    _shots(page, "follow-up-thread")

    card.get_by_role("button", name="Cancel the scheduled follow-up").click()
    expect(page.get_by_role("status")).to_have_text(
        "Scheduled follow-up cancelled: nothing will be sent or charged."
    )
    expect(card.get_by_role("heading")).to_have_text("Scheduled follow-up cancelled")
    expect(card).to_contain_text("you cancelled it. Nothing was sent or charged.")
    expect(card.get_by_role("button")).to_have_count(0)
    _shots(page, "follow-up-thread-cancelled")


def test_the_follow_up_works_without_javascript(browser: Browser, server: Server) -> None:
    context = browser.new_context(base_url=server.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server.members["sol"])
        recipient = server.members["beatrice"]
        _open_compose(page, recipient)
        page.get_by_label("Subject").fill("Another role")
        page.get_by_label("Message").fill("Hello Beatrice, a quick question.")
        page.get_by_label("Follow up automatically if no reply after").check()
        page.get_by_label("Follow-up text").fill("Any thoughts?")
        page.get_by_role("button", name="Send InMail (1 credit)").click()  # no confirm: no JS
        card = page.locator("#scheduled-follow-up")
        expect(card).to_contain_text("Sent by itself on 7 Feb 2026, 09:00 UTC")
        card.get_by_role("button", name="Cancel the scheduled follow-up").click()
        expect(card.get_by_role("heading")).to_have_text("Scheduled follow-up cancelled")
    finally:
        context.close()
