"""Members and settings through the web app in-process: the settings page, the invitation
link's page, the operator's create-member form, sign-in throttling, stale forms, blocking."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable

import pytest

from inmail.services import auth, members, settings
from inmail.services.inmail import send_inmail
from inmail.services.search import search_records
from tests.web.test_network_pages import (  # the fixtures are shared with those pages' tests
    PASSWORD,
    Site,
    Visitor,
    _csrf,
    _text,
    make_site,  # noqa: F401
    quick_passwords,  # noqa: F401
)


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site(sign_in_limit_per_handle="3/15 minutes", sign_in_limit_per_address="5/hour")
    built.member("ada", "Ada Lovelace", plan="premium_business")
    built.member("bob", "Bob Babbage")
    return built


def _words(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _sign_in(visitor: Visitor, handle: str, password: str) -> tuple[int, str, dict[str, str]]:
    visitor.csrf = _csrf(visitor.get("/login").text)
    form = {"csrf": visitor.csrf, "handle": handle, "password": password, "next": "/"}
    answer = visitor.client.post("/login", data=form, follow_redirects=False)
    return answer.status_code, _words(answer.text), dict(answer.headers)


# --- the settings page ------------------------------------------------------------------


def test_settings_save_who_may_write_overage_and_time_zone(site: Site) -> None:
    ada = site.visitor("ada")
    page = _text(ada.get("/settings"))
    for heading in ("Who may write to you", "Overage", "Time zone", "Your profile", "API tokens"):
        assert heading in page
    saved = _text(ada.post("/settings/reach", group_messages_open="on"))  # InMail unticked
    assert "Saved: who may write to you." in saved
    _text(ada.post("/settings/overage", auto_overage="on", overage_limit="49.99"))
    _text(ada.post("/settings/time-zone", time_zone="America/New_York"))
    stored = settings.get_settings(site.runtime.deps, member_id=site.ids["ada"])
    assert (stored.inmail_open, stored.open_profile, stored.group_messages_open) == (
        False,
        False,
        True,
    )
    assert (stored.auto_overage, stored.overage_limit_minor) == (True, 4999)
    assert stored.time_zone == "America/New_York"
    shown = ada.get("/settings").text
    assert 'value="49.99"' in shown
    assert '<option value="America/New_York" selected>' in shown


def test_times_are_shown_in_the_members_time_zone_and_utc_without_one(site: Site) -> None:
    now = site.runtime.clock.now()  # 31 Jan 2026, 09:00 UTC
    sent = send_inmail(
        site.runtime.deps,
        sender_id=site.ids["ada"],
        to=site.ids["bob"],
        subject="Hello",
        body="Hi Bob, a question about engines?",
        now=now,
    )
    ada, bob = site.visitor("ada"), site.visitor("bob")
    _text(ada.post("/settings/time-zone", time_zone="America/New_York"))
    thread = f"/threads/{sent.thread_id}"
    assert "Sat 31 Jan 2026, 04:00 EST" in _words(ada.get(thread).text)
    assert "Sat 31 Jan 2026, 09:00 UTC" in _words(bob.get(thread).text)


def test_editing_the_profile_rewrites_what_search_finds(site: Site) -> None:
    ada = site.visitor("ada")
    saved = ada.post(
        "/settings/profile",
        name="Ada King",
        headline="Countess",
        company="Analytical Engines",
        school="",
        interests="poetry, mathematics\nmachines",
    )
    assert "Profile saved." in _text(saved)
    record = members.get_member(site.runtime.deps, site.ids["ada"], now=site.runtime.clock.now())
    assert (record.name, record.headline, record.interests) == (
        "Ada King",
        "Countess",
        ("poetry", "mathematics", "machines"),
    )
    found = search_records(site.runtime.deps, text="Countess", limit=5, viewer=site.ids["bob"])
    assert [r.id for r in found] == [site.ids["ada"]]
    refused = ada.refused("/settings/profile", 422, name="", headline="Kept headline")
    assert "name cannot be blank" in refused
    assert members.get_member(
        site.runtime.deps, site.ids["ada"], now=site.runtime.clock.now()
    ).name == ("Ada King")


def test_a_member_revokes_an_api_token_from_the_settings_page(site: Site) -> None:
    deps, now = site.runtime.deps, site.runtime.clock.now()
    token = auth.issue_token(deps, member_id=site.ids["ada"], now=now)
    (listed,) = auth.list_tokens(deps, member_id=site.ids["ada"])
    ada = site.visitor("ada")
    assert listed.id in _text(ada.get("/settings"))
    revoked = _text(ada.post(f"/settings/tokens/{listed.id}/revoke"))
    assert f"Token {listed.id} revoked" in revoked
    assert "You have no API tokens." in revoked
    assert auth.member_for_token(deps, token) is None
    bob = site.visitor("bob")
    assert "you have no token" in bob.refused(f"/settings/tokens/{listed.id}/revoke", 404)


# --- invitation links -------------------------------------------------------------------


def _operator(site: Site) -> Visitor:
    visitor = site.stranger()
    visitor.csrf = _csrf(visitor.get("/login").text)
    form = {"csrf": visitor.csrf, "token": "op"}
    assert visitor.client.post("/login/operator", data=form).url.path == "/admin"
    return visitor


def test_the_operator_creates_a_member_and_the_link_shown_signs_them_in(site: Site) -> None:
    operator = _operator(site)
    assert "Create a member" in _text(operator.get("/admin/members"))
    assert "Who they are" in _text(operator.get("/admin/members/new"))
    form = {
        "csrf": operator.csrf,
        "once": "create-1",
        "handle": "grace",
        "name": "Grace Hopper",
        "company": "Navy",
        "interests": "compilers",
        "plan": "basic",
    }
    shown = operator.client.post("/admin/members/new", data=form)
    assert shown.status_code == 200
    assert "Member created: @grace" in _words(shown.text)
    found = re.search(r">(http://testserver/welcome/inv_[^<]+)</textarea>", shown.text)
    assert found is not None, shown.text
    path = found.group(1).removeprefix("http://testserver")
    # The member has no password yet: signing in fails until the link is used.
    grace = site.stranger()
    assert _sign_in(grace, "grace", "a password for grace")[0] == 401
    page = grace.get(path)
    assert "Welcome to inmail, Grace Hopper" in _words(page.text)
    grace.csrf = _csrf(page.text)
    differ = {"csrf": grace.csrf, "password": "a password for grace", "password_again": "other"}
    refused = grace.client.post(path, data=differ)
    assert refused.status_code == 422
    assert "the two passwords differ" in _words(refused.text)
    short = {"csrf": grace.csrf, "password": "short", "password_again": "short"}
    assert "at least 8 characters" in _words(grace.client.post(path, data=short).text)
    same = {
        "csrf": grace.csrf,
        "password": "a password for grace",
        "password_again": "a password for grace",
    }
    signed_in = grace.client.post(path, data=same)
    assert signed_in.url.path == "/inbox"
    assert "Your password is set and you are signed in." in _words(signed_in.text)
    assert "Sign out @grace" in signed_in.text
    used = site.stranger().get(path)
    assert used.status_code == 410
    assert "already used" in _words(used.text)
    assert _sign_in(site.stranger(), "grace", "a password for grace")[0] == 303


def test_the_operator_issues_a_new_link_from_the_member_page(site: Site) -> None:
    operator = _operator(site)
    member_page = _text(operator.get(f"/admin/members/{site.ids['bob']}"))
    assert "Issue an invitation link" in member_page
    answer = operator.client.post(
        f"/admin/members/{site.ids['bob']}/invitation", data={"csrf": operator.csrf}
    )
    assert answer.status_code == 200
    assert "New invitation link for @bob" in _words(answer.text)
    assert "works once, until 07 Feb 2026, 09:00 UTC" in _words(answer.text)


# --- sign-in throttling -----------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_handle_with_when_to_try_again(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = site.stranger()
    for _ in range(3):
        assert _sign_in(visitor, "ada", "wrong password")[0] == 401
    with caplog.at_level(logging.WARNING, logger="inmail.sign_in"):
        status, words, headers = _sign_in(visitor, "ada", PASSWORD)  # right, but too late
    assert status == 429
    assert "Too many failed sign-ins for this handle. Try again in 15 minutes." in words
    assert 890 <= int(headers["retry-after"]) <= 900
    assert "too many failures for handle 'ada'" in caplog.text
    # Another handle from the same address still signs in.
    assert _sign_in(site.stranger(), "bob", PASSWORD)[0] == 303


def test_failed_sign_ins_are_limited_per_address_and_on_the_operator_form(site: Site) -> None:
    visitor = site.stranger()
    for n in range(5):
        assert _sign_in(visitor, f"nobody{n}", "wrong password")[0] == 401
    status, words, headers = _sign_in(visitor, "bob", PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins from your address." in words
    assert int(headers["retry-after"]) > 3000


def test_the_operator_token_form_is_limited_too(make_site: Callable[..., Site]) -> None:  # noqa: F811
    site = make_site(sign_in_limit_per_handle="2/15 minutes")
    visitor = site.stranger()
    visitor.csrf = _csrf(visitor.get("/login").text)
    for _ in range(2):
        wrong = visitor.client.post("/login/operator", data={"csrf": visitor.csrf, "token": "x"})
        assert wrong.status_code == 401
    right = visitor.client.post("/login/operator", data={"csrf": visitor.csrf, "token": "op"})
    assert right.status_code == 429
    assert "Try again in 15 minutes" in _words(right.text)
    assert "retry-after" in right.headers


# --- stale forms, blocking --------------------------------------------------------------


def test_a_form_from_before_signing_in_again_keeps_what_was_typed(site: Site) -> None:
    ada = site.visitor("ada")
    old_csrf = ada.csrf
    ada.post("/logout")
    ada.csrf = _csrf(ada.get("/login").text)
    signed_in = ada.client.post(
        "/login", data={"csrf": ada.csrf, "handle": "ada", "password": PASSWORD, "next": "/"}
    )
    assert signed_in.url.path == "/inbox"
    stale = {"csrf": old_csrf, "name": "Ada", "headline": "Typed before signing in again"}
    answer = ada.client.post("/settings/profile", data=stale)
    assert answer.status_code == 403
    words = _words(answer.text)
    assert "This form was opened before you last signed in, so nothing was done." in words
    assert "Not found" not in words
    assert 'value="Typed before signing in again"' in answer.text
    record = members.get_member(site.runtime.deps, site.ids["ada"], now=site.runtime.clock.now())
    assert record.headline == ""
    # The form shown again carries the new session's token: sending it works.
    assert "Profile saved." in _text(
        ada.post("/settings/profile", name="Ada", headline="Typed before signing in again")
    )


def test_a_blocked_member_profile_shows_the_state_and_one_button(site: Site) -> None:
    ada = site.visitor("ada")
    bob_page = f"/members/{site.ids['bob']}"
    before = ada.get(bob_page).text
    assert "Block Bob Babbage" in before
    assert "Unblock" not in before
    assert "Invite Bob Babbage to connect" in before
    blocked = ada.post(f"{bob_page}/block")
    words = _text(blocked)
    assert "You blocked this member" in words
    assert "Unblock Bob Babbage" in words
    assert "Block Bob Babbage" not in words.replace("Unblock Bob Babbage", "")
    assert "Invite Bob Babbage to connect" not in words
    assert "Write to Bob Babbage" not in words
    # Bob sees nothing of it on Ada's page.
    bob = site.visitor("bob")
    assert "You blocked" not in _text(bob.get(f"/members/{site.ids['ada']}"))
    unblocked = _text(ada.post(f"{bob_page}/unblock"))
    assert "Block Bob Babbage" in unblocked
    assert "You blocked this member" not in unblocked
