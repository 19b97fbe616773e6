"""The message coach in Chromium: tips appear and change as the member types, point at their
text, and without JavaScript appear on "Check message"; checking never sends or charges."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.web.conftest import Member, Server, screenshot, sign_in

PHONE: ViewportSize = {"width": 390, "height": 844}


def _open_compose(page: Page, recipient: Member) -> None:
    page.goto("/compose")
    page.get_by_label("Name or handle").fill(recipient.name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=recipient.name, exact=True).click()
    expect(page.get_by_role("heading", name=f"To {recipient.name}")).to_be_visible()


def test_the_tips_follow_the_draft_as_the_member_types(
    new_page: Callable[[], Page], server: Server
) -> None:
    page = new_page()
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))
    sign_in(page, server.members["coco"])
    _open_compose(page, server.members["dana"])
    tips = page.locator("#coach-tips")
    expect(tips).to_have_text("Tips appear here as you write.")

    page.get_by_label("Subject").fill("URGENT OPPORTUNITY")
    page.get_by_label("Message").fill("Dear Sir or Madam,\nI have a role for you.")
    expect(tips.locator("li[data-code=subject-capitals]")).to_contain_text(
        "mostly capital letters (“URGENT OPPORTUNITY”)"
    )
    opening = tips.locator("li[data-code=generic-opening]")
    expect(opening).to_contain_text("“Dear Sir or Madam” could open a message to anyone.")
    expect(tips.locator("li[data-code=name-missing]")).to_contain_text(
        "Dana Drafted's name is not in your message."
    )
    expect(tips.locator("li .badge").first).to_have_text("Suggestion")
    screenshot(page, "coach-compose-1280")

    opening.get_by_role("button", name="Show in body").click()
    selected = page.evaluate(
        "() => { const b = document.getElementById('body');"
        " return b.value.slice(b.selectionStart, b.selectionEnd); }"
    )
    assert selected == "Dear Sir or Madam"

    page.get_by_label("Subject").fill("Your talk on compilers")
    page.get_by_label("Message").fill(
        "Hi Dana,\nI'm writing because your talk on compilers changed how we test. "
        "Would you have 15 minutes next week?"
    )
    expect(tips).to_have_text("No tips: nothing to change.")
    expect(tips.locator("li")).to_have_count(0)

    page.set_viewport_size(PHONE)
    page.get_by_label("Message").fill("Hello there, " + "a long story " * 60)
    expect(tips.locator("li[data-code=message-long]")).to_contain_text(
        "Your message is 182 words; aim for 150 or fewer."
    )
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing overflows on a phone
    screenshot(page, "coach-compose-390")
    assert asked == []  # the tips never asked to confirm a send
    page.goto("/inbox?box=sent")
    expect(page.get_by_text("Nothing sent yet.")).to_be_visible()


def test_check_message_shows_the_tips_without_javascript(browser: Browser, server: Server) -> None:
    context = browser.new_context(base_url=server.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        statuses: list[int] = []
        page.on("response", lambda response: statuses.append(response.status))
        sign_in(page, server.members["eli"])
        _open_compose(page, server.members["dana"])
        page.get_by_label("Subject").fill("A role")
        page.get_by_label("Message").fill("To whom it may concern, {first_name}: a role.")
        page.get_by_role("button", name="Check message").click()
        expect(page).to_have_url(re.compile(r"/compose/coach$"))
        tips = page.locator("#coach-tips")
        expect(tips.locator("li[data-code=placeholder-left]")).to_contain_text(
            "Your message still holds {first_name}"
        )
        expect(tips.locator("li[data-code=generic-opening]")).to_be_visible()
        expect(tips.locator("li").first.locator(".badge")).to_have_text("Warning")
        expect(page.get_by_label("Subject")).to_have_value("A role")
        expect(page.get_by_label("Message")).to_have_value(
            "To whom it may concern, {first_name}: a role."
        )
        screenshot(page, "coach-check-no-js-1280")
        page.set_viewport_size(PHONE)
        screenshot(page, "coach-check-no-js-390")

        page.get_by_label("Message").fill("Hi Dana, I'm writing because of your talk. A call?")
        page.get_by_role("button", name="Send InMail (1 credit)").click()
        expect(page.get_by_role("status")).to_have_text("InMail sent: 1 credit spent, 24 left.")
        assert all(status < 500 for status in statuses)
    finally:
        context.close()
