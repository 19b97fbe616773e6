"""Compose in Chromium while an InMail awaits a response (SPEC §4, issue 10 §5).

The compose page says a new InMail cannot be sent, when a follow-up becomes possible and
links to the conversation; a form sent anyway (opened before the first InMail went) is
refused with those words, nothing charged. The page works without JavaScript. Every page
touched is photographed at 1280 and 390 px wide.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import Member, Server, screenshot, sign_in

WIDTHS = (1280, 390)


def _both_widths(page: Page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no overflow
    page.set_viewport_size({"width": 1280, "height": 720})


def _fill_and_send(page: Page) -> None:
    page.get_by_label("Subject").fill("A role you might like")
    page.get_by_label("Message").fill("Hello Otto, would you have 15 minutes this week?")
    page.get_by_role("button", name="Send InMail (1 credit)").click()


def _balance(page: Page) -> str:
    page.goto("/credits")
    return page.locator("#balance").inner_text().strip()


def test_compose_says_an_inmail_awaits_and_links_to_the_follow_up(
    new_page: Callable[[], Page], server: Server
) -> None:
    sender, recipient = server.members["aria"], server.members["otto"]
    early = new_page()  # a compose form opened before the first InMail went
    sign_in(early, sender)
    early.goto(f"/compose?to={recipient.id}")
    expect(early.get_by_role("button", name="Send InMail (1 credit)")).to_be_visible()

    page = new_page()
    sign_in(page, sender)
    page.goto(f"/compose?to={recipient.id}")
    _fill_and_send(page)
    expect(page.get_by_role("status")).to_have_text("InMail sent: 1 credit spent, 24 left.")
    thread = page.url.split("?")[0]

    page.goto(f"/compose?to={recipient.id}")
    awaiting = page.locator("#awaiting")
    expect(awaiting).to_contain_text("Your InMail to Otto Unanswered is still awaiting a response")
    expect(awaiting).to_contain_text("nothing is charged")
    expect(awaiting).to_contain_text(
        "You can follow up in that conversation from 7 Feb 2026, 09:00 UTC"
    )
    expect(page.locator("#cost-preview")).to_contain_text("Cannot send a new InMail")
    expect(page.get_by_role("button", name=re.compile("Send"))).to_have_count(0)
    _both_widths(page, "compose-awaiting")
    page.get_by_role("link", name="Open the conversation").click()
    expect(page).to_have_url(re.compile(re.escape(thread)))
    expect(page.get_by_role("heading", name="Follow up")).to_be_visible()

    _fill_and_send(early)  # the old form: refused with the same words, nothing charged
    expect(early.get_by_role("alert").first).to_contain_text(
        "Your InMail to this member is still awaiting a response: this one was not sent"
    )
    expect(early.locator("#awaiting")).to_contain_text("Open the conversation")
    _both_widths(early, "compose-awaiting-refused")
    assert _balance(early) == "24"


def test_the_awaiting_notice_needs_no_javascript(
    browser: Browser, server: Server, new_page: Callable[[], Page]
) -> None:
    sender, recipient = server.members["aria"], server.members["otto"]
    ensure_sent(new_page(), sender, recipient)
    context = browser.new_context(base_url=server.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, sender)
        page.goto(f"/compose?to={recipient.id}")
        expect(page.locator("#awaiting")).to_contain_text("still awaiting a response")
        expect(page.get_by_role("link", name="Open the conversation")).to_be_visible()
    finally:
        context.close()


def ensure_sent(page: Page, sender: Member, recipient: Member) -> None:
    """Sender's InMail to recipient awaits a response (sent now unless it already was)."""
    sign_in(page, sender)
    page.goto(f"/compose?to={recipient.id}")
    if page.locator("#awaiting").count() == 0:
        _fill_and_send(page)
        expect(page.get_by_role("status")).to_contain_text("InMail sent")
