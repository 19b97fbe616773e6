"""Members and settings through the API (and the CLI): invitation links, one's own tokens,
the time zone setting, and the words a member hears after blocking someone."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from inmail.cli import app
from tests.api.conftest import Api

LINK = re.compile(r"https?://\S+/welcome/(inv_[A-Za-z0-9_-]+)")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def _set_password(api: Api, url: str, password: str) -> str:
    """Open the link's page and send its form, as a browser would; the final path."""
    path = url[url.index("/welcome/") :]
    opened = api.client.get(path)
    assert opened.status_code == 200, opened.text
    form = {"csrf": _csrf(opened.text), "password": password, "password_again": password}
    return api.client.post(path, data=form).url.path


def test_the_operator_issues_a_link_with_which_a_member_sets_a_password_once(api: Api) -> None:
    member = api.member("basic", handle="linked")
    issued = api.client.post(f"/v1/admin/members/{member.id}/invitations", headers=api.admin)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["member_id"] == member.id
    assert body["expires_at"] == "2026-02-07T09:00:00Z"  # 7 days after the clock's T0
    assert LINK.fullmatch(body["url"])
    assert _set_password(api, body["url"], "a new password") == "/inbox"
    assert "Sign out @linked" in api.client.get("/inbox").text
    # Used once: the page says so, with 410 Gone, and nothing is set again.
    path = body["url"][body["url"].index("/welcome/") :]
    again = api.client.get(path)
    assert again.status_code == 410
    assert "already used" in again.text


def test_a_link_expires_and_a_new_one_replaces_the_old(api: Api) -> None:
    member = api.member("basic")
    first = api.client.post(f"/v1/admin/members/{member.id}/invitations", headers=api.admin)
    second = api.client.post(f"/v1/admin/members/{member.id}/invitations", headers=api.admin)
    old = first.json()["url"]
    assert api.client.get(old[old.index("/welcome/") :]).status_code == 404
    api.advance(days=7)
    new = second.json()["url"]
    expired = api.client.get(new[new.index("/welcome/") :])
    assert expired.status_code == 410
    assert "has expired" in expired.text


def test_only_the_operator_issues_links_and_only_for_members_who_exist(api: Api) -> None:
    member = api.member("basic")
    as_member = api.client.post(f"/v1/admin/members/{member.id}/invitations", headers=member.auth)
    assert as_member.status_code == 403
    unknown = api.client.post("/v1/admin/members/m_nobody/invitations", headers=api.admin)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not-found"


def test_a_member_lists_and_revokes_their_own_tokens(api: Api) -> None:
    ada, bob = api.member(), api.member()
    listed = api.client.get("/v1/me/tokens", headers=ada.auth)
    assert listed.status_code == 200
    (token,) = listed.json()["items"]
    assert token["id"].startswith("tok_")
    assert "token" not in token  # never shown again
    # Another member's token is not theirs to revoke: 404, and it still works.
    refused = api.client.delete(f"/v1/me/tokens/{token['id']}", headers=bob.auth)
    assert refused.status_code == 404
    assert api.client.get("/v1/me", headers=ada.auth).status_code == 200
    revoked = api.client.delete(f"/v1/me/tokens/{token['id']}", headers=ada.auth)
    assert revoked.status_code == 204
    after = api.client.get("/v1/me", headers=ada.auth)
    assert after.status_code == 401
    assert api.client.delete(f"/v1/me/tokens/{token['id']}", headers=bob.auth).status_code == 404


def test_the_time_zone_is_a_setting_named_in_iana_terms(api: Api) -> None:
    ada = api.member()
    assert api.client.get("/v1/me/settings", headers=ada.auth).json()["time_zone"] == "UTC"
    saved = api.client.put("/v1/me/settings", json={"time_zone": "Europe/Paris"}, headers=ada.auth)
    assert saved.status_code == 200, saved.text
    assert saved.json()["time_zone"] == "Europe/Paris"
    assert saved.json()["inmail_open"] is True  # the rest unchanged
    for wrong in ("Mars/Olympus", "../../etc/passwd", "", "Europe/Paris\x00", 5):
        refused = api.client.put("/v1/me/settings", json={"time_zone": wrong}, headers=ada.auth)
        assert refused.status_code == 422, wrong
        assert refused.json()["field"] == "time_zone"
    assert api.client.get("/v1/me/settings", headers=ada.auth).json()["time_zone"] == (
        "Europe/Paris"
    )


def test_writing_to_a_member_you_blocked_says_so_and_the_blocked_one_hears_nothing_of_it(
    api: Api,
) -> None:
    ada, bob = api.member(), api.member()
    assert api.client.put(f"/v1/members/{bob.id}/block", headers=ada.auth).status_code == 200
    mine = {"to": bob.id, "subject": "Hello", "body": "Still there?"}
    refused = api.client.post("/v1/inmails", json=mine, headers=ada.auth)
    assert refused.status_code == 403
    assert refused.json()["code"] == "recipient-blocked"
    assert "you blocked this member" in refused.json()["detail"]
    quote = api.client.get(f"/v1/me/quote?to={bob.id}", headers=ada.auth).json()
    assert "you blocked this member" in quote["reason"]
    group = api.client.post("/v1/groups", json={"name": "Blockers"}, headers=ada.auth).json()
    assert api.client.post(f"/v1/groups/{group['id']}/join", headers=bob.auth).status_code == 200
    in_group = api.client.post(
        f"/v1/groups/{group['id']}/messages", json={"to": bob.id, "body": "Hi"}, headers=ada.auth
    )
    assert (in_group.status_code, in_group.json()["code"]) == (403, "recipient-blocked")
    theirs = {"to": ada.id, "subject": "Hello", "body": "Why?"}
    answered = api.client.post("/v1/inmails", json=theirs, headers=bob.auth)
    assert answered.status_code == 403
    assert answered.json()["code"] == "recipient-not-accepting-inmail"


@pytest.mark.parametrize("given", ["cli", "@cli"])
def test_member_invite_prints_a_link_that_works(
    api: Api, db_url: str, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    api.member("basic", handle="cli")
    monkeypatch.setenv("INMAIL_DATABASE_URL", db_url)
    monkeypatch.setenv("INMAIL_TEST_CLOCK", "2026-01-31T09:00:00Z")
    monkeypatch.setenv("INMAIL_BASE_URL", "https://inmail.example")
    ran = CliRunner().invoke(app, ["member", "invite", given])
    assert ran.exit_code == 0, ran.output
    found = LINK.search(ran.stdout)
    assert found is not None, ran.output
    assert found.group(0).startswith("https://inmail.example/welcome/inv_")
    assert "works once, until Sat 7 Feb 2026, 09:00 UTC" in ran.output
    assert _set_password(api, found.group(0), "typed at the cli") == "/inbox"


def test_member_invite_names_an_unknown_handle(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INMAIL_DATABASE_URL", db_url)
    ran = CliRunner().invoke(app, ["member", "invite", "nobody"])
    assert ran.exit_code == 1
    assert "there is no member with the handle 'nobody'" in ran.output
