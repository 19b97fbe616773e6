"""Members and settings in Chromium: invitation links, the settings page, blocking, the
operators-only page, sign-in throttling, stale forms and inviting by name.

Members are made through the operator's API and get their password through an
invitation link, as a real deployment's members do. Each page is photographed at
1280 and 390 px (to test-output/screenshots/members/ and test-output/screenshots/), with no
horizontal overflow at either width.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx2
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, SCREENSHOTS, Member, Server, screenshot

SHOTS = SCREENSHOTS / "members"
WIDTHS = (1280, 390)
PASSWORD = "a member's own password"


def _look(page: Page, name: str) -> None:
    """Both widths: no horizontal overflow, and a screenshot of each."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} overflows at {width} px: {overflow}"
        path = screenshot(page, f"members-{name}-{width}")
        if SHOTS.parent.exists():
            SHOTS.mkdir(exist_ok=True)
            (SHOTS / path.name).write_bytes(path.read_bytes())
    page.set_viewport_size({"width": 1280, "height": 900})


def _api(server: Server) -> httpx2.Client:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return httpx2.Client(base_url=server.base_url, headers=headers, trust_env=False)


def _link_path(server: Server, member_id: str) -> str:
    with _api(server) as api:
        issued = api.post(f"/v1/admin/members/{member_id}/invitations")
    assert issued.status_code == 201, issued.text
    url: str = issued.json()["url"]
    return url[url.index("/welcome/") :]


def _fresh(server: Server, name: str, plan: str = "premium_business") -> Member:
    handle = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}"
    with _api(server) as api:
        made = api.post("/v1/admin/members", json={"handle": handle, "name": name, "plan": plan})
    assert made.status_code == 201, made.text
    return Member(made.json()["id"], handle, name)


def _set_password(page: Page, path: str) -> None:
    page.goto(path)
    page.get_by_label("New password (at least 8 characters)").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))


def _member_page(server: Server, new_page: Callable[[], Page], name: str) -> tuple[Page, Member]:
    member = _fresh(server, name)
    page = new_page()
    _set_password(page, _link_path(server, member.id))
    return page, member


def _operator(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Operator token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in as operator").click()
    expect(page).to_have_url(re.compile(r"/admin$"))


def test_the_operator_creates_a_member_whose_link_sets_a_password_once(
    server: Server, new_page: Callable[[], Page]
) -> None:
    operator = new_page()
    _operator(operator)
    operator.goto("/admin/members")
    operator.get_by_role("link", name="Create a member").click()
    handle = f"grace-{uuid.uuid4().hex[:8]}"
    operator.get_by_label("Handle (2 to 30 lower-case letters, digits, _ or -)").fill(handle)
    operator.get_by_label("Name", exact=True).fill("Grace Hopper")
    operator.get_by_label("Company (optional)").fill("US Navy")
    _look(operator, "admin-new-member")
    operator.get_by_role("button", name="Create member and get their link").click()
    expect(operator.get_by_role("heading", name=f"Member created: @{handle}")).to_be_visible()
    url = operator.get_by_label("Invitation link").input_value()
    assert "/welcome/inv_" in url
    _look(operator, "admin-invitation-link")
    operator.get_by_role("link", name=f"← @{handle}").click()
    expect(operator.get_by_role("button", name="Issue an invitation link")).to_be_visible()
    _look(operator, "admin-member")

    member = new_page()
    path = url[url.index("/welcome/") :]
    member.goto(path)
    expect(member.get_by_role("heading", name="Welcome to inmail, Grace Hopper")).to_be_visible()
    _look(member, "welcome")
    member.get_by_label("New password (at least 8 characters)").fill(PASSWORD)
    member.get_by_label("The same password again").fill("not the same one")
    member.get_by_role("button", name="Set password and sign in").click()
    expect(member.get_by_role("alert")).to_contain_text("the two passwords differ")
    _set_password(member, path)
    expect(member.get_by_text("Your password is set and you are signed in.")).to_be_visible()
    expect(member.get_by_role("button", name=f"Sign out @{handle}")).to_be_visible()

    again = new_page()
    again.goto(path)
    expect(again.get_by_role("heading", name="This invitation link cannot be used")).to_be_visible()
    expect(again.locator("#link-problem")).to_contain_text("already used")
    _look(again, "welcome-used")


def test_the_settings_page_saves_each_setting_and_the_profile(
    server: Server, new_page: Callable[[], Page]
) -> None:
    page, member = _member_page(server, new_page, "Stella Settings")
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    _look(page, "settings")
    page.get_by_label("Accept InMail").uncheck()
    page.get_by_role("button", name="Save who may write").click()
    expect(page.get_by_text("Saved: who may write to you.")).to_be_visible()
    expect(page.get_by_label("Accept InMail")).not_to_be_checked()
    page.get_by_label("Show times in").select_option("Europe/Paris")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_text("Times now show in Europe/Paris.")).to_be_visible()
    page.get_by_label("Most overage per cycle (an amount; empty for no limit)").fill("ten")
    page.get_by_role("button", name="Save overage").click()
    expect(page.get_by_role("alert")).to_contain_text("the limit is an amount like 50 or 49.99")
    expect(
        page.get_by_label("Most overage per cycle (an amount; empty for no limit)")
    ).to_have_value("ten")
    page.get_by_label("Headline").fill("Rear admiral of settings")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    page.goto(f"/members/{member.id}")
    expect(page.get_by_text("Rear admiral of settings")).to_be_visible()


def test_blocking_shows_the_state_hides_what_it_forbids_and_says_so_on_compose(
    server: Server, new_page: Callable[[], Page]
) -> None:
    page, _ = _member_page(server, new_page, "Blair Blocker")
    other = _fresh(server, "Bart Blocked", plan="basic")
    page.goto(f"/members/{other.id}")
    expect(page.get_by_role("button", name="Unblock Bart Blocked")).to_have_count(0)
    page.get_by_role("button", name="Block Bart Blocked", exact=True).click()
    expect(page.locator("#block-state")).to_contain_text("You blocked this member")
    expect(page.get_by_role("button", name="Unblock Bart Blocked")).to_be_visible()
    expect(page.get_by_role("button", name="Block Bart Blocked", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Invite .* to connect"))).to_have_count(0)
    expect(page.get_by_role("link", name="Write to Bart Blocked")).to_have_count(0)
    _look(page, "profile-blocked")
    page.goto(f"/compose?to={other.id}")
    expect(page.locator("main")).to_contain_text("you blocked this member")
    expect(page.locator("main")).not_to_contain_text("does not accept InMail from you")
    _look(page, "compose-blocked")
    page.goto(f"/members/{other.id}")
    page.get_by_role("button", name="Unblock Bart Blocked").click()
    expect(page.get_by_role("button", name="Block Bart Blocked", exact=True)).to_be_visible()
    expect(page.locator("#block-state")).to_have_count(0)


def test_a_member_opening_admin_is_told_operators_only(
    server: Server, new_page: Callable[[], Page]
) -> None:
    page, member = _member_page(server, new_page, "Olga Operatorless")
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Operators only")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"@{member.handle}")
    expect(page.get_by_label("Operator token")).to_have_count(0)
    _look(page, "operators-only")


def test_failed_sign_ins_are_throttled_with_when_to_try_again(page: Page) -> None:
    handle = f"guess-{uuid.uuid4().hex[:8]}"
    page.goto("/login")
    for _ in range(5):
        page.get_by_label("Handle", exact=True).fill(handle)
        page.get_by_label("Password", exact=True).fill("a wrong guess")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("that handle and password do not match")
    page.get_by_label("Password", exact=True).fill("a wrong guess")
    with page.expect_response(lambda r: r.url.endswith("/login")) as answer:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 800
    expect(page.get_by_role("alert")).to_contain_text(
        "Too many failed sign-ins for this handle. Try again in 15 minutes."
    )
    expect(page.get_by_label("Handle", exact=True)).to_have_value(handle)
    _look(page, "sign-in-throttled")


def test_a_stale_form_after_signing_in_again_keeps_the_text(
    server: Server, new_page: Callable[[], Page]
) -> None:
    page, member = _member_page(server, new_page, "Sid Stale")
    page.goto("/settings")
    page.get_by_label("Headline").fill("Typed in the old session")
    other = page.context.new_page()  # a second tab: signs out and in again
    other.goto("/inbox")
    other.get_by_role("button", name=f"Sign out @{member.handle}").click()
    other.get_by_label("Handle", exact=True).fill(member.handle)
    other.get_by_label("Password", exact=True).fill(PASSWORD)
    other.get_by_role("button", name="Sign in", exact=True).click()
    expect(other).to_have_url(re.compile(r"/inbox$"))
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("alert")).to_contain_text("opened before you last signed in")
    expect(page.get_by_label("Headline")).to_have_value("Typed in the old session")
    _look(page, "stale-form")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.get_by_label("Headline")).to_have_value("Typed in the old session")


def test_inviting_with_a_note_picks_the_member_by_name(
    server: Server, new_page: Callable[[], Page]
) -> None:
    page, _ = _member_page(server, new_page, "Ines Inviter")
    other = _fresh(server, f"Nadia Noted{uuid.uuid4().hex[:4]}", plan="basic")
    page.goto("/network")
    page.get_by_label("Name or handle").fill(other.name)
    page.get_by_role("button", name="Search").click()
    page.get_by_text(f"Invite {other.name} with a note").click()
    page.get_by_label(f"Note to {other.name} (optional, up to 300 characters)").fill(
        "We met at the conference."
    )
    _look(page, "invite-by-name")
    page.get_by_role("button", name=f"Send invitation to {other.name}").click()
    expect(page.get_by_text("Invitation sent.")).to_be_visible()
    expect(page.get_by_label("Member id")).to_have_count(0)
