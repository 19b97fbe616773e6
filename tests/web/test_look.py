"""The shared look in Chromium: the menu on a phone (with and without JavaScript), the grouped
links on a wide screen, the skip link, the landmarks, avatars, channel icons and empty states."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.conftest import PASSWORD, Member, Server, sign_in
from tests.web.look import HEIGHT, WIDTHS, overflow_px

NAV_LINKS = [
    "Inbox", "Compose", "Bulk send", "Templates",
    "People", "Network", "Who answers", "Groups", "Posts",
    "Credits", "Stats", "Notifications",
]  # fmt: skip


def nav_link(name: str) -> re.Pattern[str]:
    """A navigation link's accessible name: its label, and its unread count if it has one
    ("Inbox 2 unread")."""
    return re.compile(rf"^{re.escape(name)}( \d+ unread)?$")


@pytest.fixture
def phone(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    """A 390 px wide browser with JavaScript off: the menu must work on HTML and CSS alone."""
    context = browser.new_context(
        base_url=server.base_url,
        viewport={"width": WIDTHS["phone"], "height": HEIGHT},
        java_script_enabled=False,
    )
    try:
        yield context
    finally:
        context.close()


def _sign_in_on_a_phone(page: Page, member: Member) -> None:
    """The sign-in form, then the inbox; the sign-out button is in the closed menu."""
    page.goto("/login")
    page.get_by_label("Handle", exact=True).fill(member.handle)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/inbox$"))


def test_the_phone_menu_is_one_line_and_opens_without_javascript(
    phone: BrowserContext, server: Server
) -> None:
    page = phone.new_page()
    _sign_in_on_a_phone(page, server.members["grace"])
    header = page.get_by_role("banner")
    box = header.bounding_box()
    assert box is not None
    assert box["height"] < 64, box  # brand and "Menu": one line
    menu = page.locator("summary", has_text="Menu")
    expect(menu).to_be_visible()
    expect(page.get_by_role("link", name="Credits", exact=True)).to_be_hidden()
    menu.click()
    main_nav = page.get_by_role("navigation", name="Main")
    for name in NAV_LINKS:
        expect(main_nav.get_by_role("link", name=nav_link(name))).to_be_visible()
    expect(page.get_by_role("button", name="Sign out @grace")).to_be_visible()
    expect(page.get_by_role("link", name="Settings", exact=True)).to_be_visible()  # beside it
    assert overflow_px(page) == 0
    page.get_by_role("link", name="Credits", exact=True).click()
    expect(page).to_have_url(re.compile(r"/credits$"))
    expect(page.get_by_role("link", name="Credits", exact=True)).to_be_hidden()  # closed again
    menu.click()
    expect(page.get_by_role("link", name="Credits", exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def test_a_wide_screen_shows_every_link_in_three_groups(page: Page, server: Server) -> None:
    sign_in(page, server.members["grace"])
    nav = page.get_by_role("navigation", name="Main")
    expect(page.locator("summary", has_text="Menu")).to_be_hidden()
    for name in NAV_LINKS:
        expect(nav.get_by_role("link", name=nav_link(name))).to_be_visible()
    expect(nav.locator(".group-name")).to_have_text(["Messages", "Networking", "Account"])
    expect(nav.get_by_role("link", name=nav_link("Inbox"))).to_have_attribute(
        "aria-current", "page"
    )
    boxes = [nav.get_by_role("link", name=nav_link(n)).bounding_box() for n in NAV_LINKS]
    assert len({round(b["y"]) for b in boxes if b}) == 1  # all twelve on one line at 1280 px


def test_the_skip_link_is_first_and_moves_focus_to_the_page(page: Page, server: Server) -> None:
    sign_in(page, server.members["grace"])
    page.goto("/people")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the page, not the navigation
    assert page.evaluate("() => document.activeElement.closest('main') !== null")


def test_every_page_has_its_landmarks(page: Page, server: Server) -> None:
    page.goto("/login")
    for role in ("banner", "main", "contentinfo"):
        expect(page.get_by_role(role)).to_have_count(1)
    sign_in(page, server.members["grace"])
    expect(page.get_by_role("navigation", name="Main")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_contain_text("API")


def test_people_show_avatars_degrees_and_the_channel_with_an_icon(
    page: Page, server: Server
) -> None:
    sign_in(page, server.members["ada"])
    page.goto("/people?q=Hopper")
    grace = page.locator("li.person", has_text="Grace Hopper")
    expect(grace.locator(".avatar")).to_have_text("GH")
    expect(grace.locator(".avatar")).to_have_attribute("aria-hidden", "true")
    expect(grace.locator(".badge.degree")).to_have_text("1st")
    expect(grace.locator("svg.channel-free")).to_be_visible()
    expect(grace.locator(".price")).to_contain_text("Free")
    page.goto(f"/members/{server.members['hubert'].id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Hubert Wolfeschlegelsteinhausenbergerdorff-Brightwater"
    )
    expect(page.locator("h1 .avatar")).to_have_text("HW")
    page.set_viewport_size({"width": WIDTHS["phone"], "height": HEIGHT})
    assert overflow_px(page) == 0  # the long name wraps


def test_an_empty_page_says_what_to_do_next(page: Page, server: Server) -> None:
    sign_in(page, server.members["una"])  # the tour mentions Grace: Una has nothing yet
    page.goto("/templates")
    empty = page.locator(".empty")
    expect(empty).to_contain_text("No templates yet.")
    empty.get_by_role("link", name="Write your first one below").click()
    expect(page).to_have_url(re.compile(r"/templates#new-heading$"))
    page.goto("/notifications")
    expect(page.locator(".empty")).to_contain_text("No notifications yet.")
    page.locator(".empty").get_by_role("link", name="find people").click()
    expect(page).to_have_url(re.compile(r"/people$"))
