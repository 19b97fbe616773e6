"""The tour: every page, as a member and as an operator, at 1280 and 390 px, looked at and checked.

Each page is screenshotted at both widths and checked as a person would:
nothing wider than the window, no console errors (the favicon's 404 was one),
and no serious or critical axe-core violations. The screenshots go to
test-output/screenshots/tour/, or to ``INMAIL_TOUR_DIR`` (``make screenshots``
sets docs/screenshots, which the README's tour links).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import httpx2
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, ROOT, SCREENSHOTS, Member, Server, sign_in
from tests.web.look import HEIGHT, WIDTHS, Console, axe_violations, check_page

TOUR_DIR = ROOT / os.environ["INMAIL_TOUR_DIR"] if "INMAIL_TOUR_DIR" in os.environ else None
OPERATOR_PAGES = {
    "operator-overview": "/admin",
    "operator-plans": "/admin/plans",
    "operator-packs": "/admin/packs",
    "operator-new-member": "/admin/members/new",
    "operator-teams": "/admin/teams",
    "operator-suspensions": "/admin/suspensions",
}


def _tour_dir() -> Path:
    path = TOUR_DIR or SCREENSHOTS / "tour"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _look(page: Page, name: str, problems: list[str]) -> None:
    """The page as it is now at each width: screenshotted, then its problems noted."""
    for width in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.screenshot(path=str(_tour_dir() / f"{name}-{width}.png"), full_page=True)
        problems.extend(check_page(page, f"{name} at {width}px"))
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": HEIGHT})


def _visit(page: Page, name: str, path: str, problems: list[str]) -> None:
    page.goto(path)
    expect(page.locator("main h1").first).to_be_visible()
    _look(page, name, problems)


def _send(page: Page, to: Member) -> str:
    """Ada writes a paid InMail to ``to`` from the compose page; the thread's path."""
    page.goto(f"/compose?to={to.id}")
    page.get_by_label("Subject").fill("A question about your difference engine notes")
    page.get_by_label("Message").fill(
        "Hello! I read your notes on the analytical engine and would love to compare "
        "ideas for 20 minutes next week. Would Tuesday or Wednesday suit you?"
    )
    page.get_by_role("button", name=re.compile(r"^Send InMail")).click()
    expect(page).to_have_url(re.compile(r"/threads/[^/]+$"))
    return page.url.removeprefix(page.url.split("/threads/")[0])


def _fill_in(page: Page) -> str:
    """Ada posts (mentioning Grace) and saves a template, so those pages show content; the
    template's path."""
    page.goto("/feed")
    page.get_by_label("What is on your mind?").fill(
        "Comparing notes on compilers with @grace this week. Who else wants to join?"
    )
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_text("Comparing notes on compilers")).to_be_visible()
    page.goto("/templates")
    page.get_by_label("Name (only you see it)").fill("First hello")
    page.get_by_label("Subject", exact=True).fill("A question for you, {first_name}")
    page.get_by_label("Message", exact=True).fill(
        "Hi {first_name}, I enjoyed your work at {company|your company}. Could we talk?"
    )
    page.get_by_role("button", name="Save template").click()
    page.goto("/templates")
    page.get_by_role("link", name="First hello").first.click()
    expect(page).to_have_url(re.compile(r"/templates/[^/?]+"))
    return page.url.removeprefix(page.url.split("/templates/")[0])


def _invitation_path(server: Server, member: Member) -> str:
    """The path of a fresh invitation link for ``member`` (issued as an operator would)."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx2.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        answer = client.post(f"/v1/admin/members/{member.id}/invitations")
    assert answer.status_code == 201, answer.text
    url: str = answer.json()["url"]
    return "/welcome/" + url.split("/welcome/", 1)[1]


def _open_menu(page: Page, problems: list[str]) -> None:
    """The phone's menu, opened over the inbox: screenshotted and checked like a page."""
    page.set_viewport_size({"width": WIDTHS["phone"], "height": HEIGHT})
    page.goto("/inbox")
    page.locator("summary", has_text="Menu").click()
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    page.screenshot(path=str(_tour_dir() / f"menu-{WIDTHS['phone']}.png"))
    problems.extend(check_page(page, "the open menu at 390px"))
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": HEIGHT})


def test_every_page_reads_well_at_both_widths(new_page: Callable[[], Page], server: Server) -> None:
    problems: list[str] = []
    guest = new_page()
    console = Console().watch(guest)
    _visit(guest, "sign-in", "/login", problems)
    invited = new_page()  # an invitation link opened by someone signed out
    console.watch(invited)
    _visit(invited, "welcome", _invitation_path(server, server.members["una"]), problems)
    guest.get_by_label("Operator token").fill("browser-test-operator")
    guest.get_by_role("button", name="Sign in as operator").click()
    expect(guest).to_have_url(re.compile(r"/admin$"))
    for name, path in OPERATOR_PAGES.items():
        _visit(guest, name, path, problems)
    _visit(guest, "operator-members", "/admin/members", problems)
    _visit(guest, "operator-member", f"/admin/members/{server.members['ada'].id}", problems)

    ada = new_page()
    console.watch(ada)
    sign_in(ada, server.members["ada"])
    thread = _send(ada, server.members["hubert"])
    template = _fill_in(ada)
    hubert, grace = server.members["hubert"], server.members["grace"]  # a long name; a connection
    member_pages = {
        "inbox": "/inbox",
        "inbox-sent": "/inbox?box=sent",
        "inbox-awaiting": "/inbox?box=awaiting",
        "thread": thread,
        "compose": "/compose",
        "compose-paid": f"/compose?to={server.members['zed'].id}",
        "compose-free": f"/compose?to={grace.id}",
        "people": "/people?q=Hopper",
        "profile": f"/members/{hubert.id}",
        "profile-connection": f"/members/{grace.id}",
        "bulk-send": "/bulk",
        "credits": "/credits",
        "network": "/network",
        "who-answers": "/targeting",
        "groups": "/groups",
        "posts": "/feed",
        "mentions": "/mentions",
        "notifications": "/notifications",
        "templates": "/templates",
        "template": template,
        "stats": "/stats",
        "settings": "/settings",
        "standing": "/standing",
    }
    for name, path in member_pages.items():
        _visit(ada, name, path, problems)
    ada.goto("/credits")
    ada.get_by_role("link", name=re.compile(r"^Buy 5 credits")).click()
    expect(ada.get_by_role("button", name=re.compile(r"^Confirm: pay"))).to_be_visible()
    _look(ada, "confirm-pack", problems)
    _visit(ada, "confirm-plan", "/credits/plan/confirm?plan=recruiter_lite", problems)
    _open_menu(ada, problems)
    assert console.errors == []  # before the 404 below, which the console reports as an error
    ada.goto("/threads/no-such-thread")
    _look(ada, "not-found", problems)

    assert problems == []


def test_the_favicon_is_served_from_the_app(server: Server) -> None:
    with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
        for path in ("/favicon.ico", "/static/favicon.svg"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["content-type"].startswith("image/svg+xml")
            assert answer.text.lstrip().startswith("<svg")
        login = client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login


def test_axe_reports_what_it_is_there_to_catch(page: Page) -> None:
    """The checker itself: a button without a name and an image without a text are serious."""
    page.set_content(
        '<html lang="en"><title>Test</title>'
        '<body><main><img src="x.png"><button></button></main></body></html>'
    )
    found = axe_violations(page)
    assert [line.split(" ")[0] for line in found] == ["button-name", "image-alt"]
