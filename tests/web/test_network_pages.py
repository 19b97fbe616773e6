"""The network pages through the app in-process: profiles, contact info, invitations,
introductions, groups, posts with mentions, notifications; forms post, redirect and flash.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.services import passwords
from inmail.services.inmail import post_in_thread, send_inmail
from inmail.services.members import create_member
from inmail.services.network import connect
from inmail.services.passwords import set_password
from inmail.web.community_pages import notification_link
from tests.conftest import T0

PASSWORD = "network pages password"
PAGES = ["/network", "/groups", "/feed", "/mentions", "/notifications"]


@dataclass
class Visitor:
    """One browser: its own cookies, signed in as one member (or nobody)."""

    client: TestClient
    id: str = ""
    csrf: str = ""

    def get(self, path: str) -> httpx2.Response:
        return self.client.get(path)

    def post(self, path: str, **form: str) -> httpx2.Response:
        """Submit a form as the page would, with the session's CSRF token; follows the 303."""
        answer = self.client.post(path, data={"csrf": self.csrf, **form}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return self.client.get(answer.headers["location"])

    def refused(self, path: str, status: int, **form: str) -> str:
        """Submit a form that is refused: its page again (HTML) with the words; the page's text."""
        answer = self.client.post(path, data={"csrf": self.csrf, **form}, follow_redirects=False)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", answer.text)).split())


@dataclass
class Site:
    runtime: Runtime
    app: Any
    ids: dict[str, str] = field(default_factory=dict)

    def member(self, handle: str, name: str = "", **profile: Any) -> str:
        now = self.runtime.clock.now()
        made = create_member(
            self.runtime.deps, handle=handle, name=name or handle.title(), now=now, **profile
        )
        set_password(self.runtime.deps, member_id=made.id, password=PASSWORD, now=now)
        self.ids[handle] = made.id
        return made.id

    def connect(self, a: str, b: str) -> None:
        connect(self.runtime.deps, a=self.ids[a], b=self.ids[b], now=self.runtime.clock.now())

    def stranger(self) -> Visitor:
        return Visitor(TestClient(self.app))

    def visitor(self, handle: str) -> Visitor:
        visitor = self.stranger()
        form = visitor.get("/login")
        visitor.csrf = _csrf(form.text)
        signed_in = visitor.client.post(
            "/login",
            data={"csrf": visitor.csrf, "handle": handle, "password": PASSWORD, "next": "/"},
        )
        assert signed_in.url.path == "/inbox", signed_in.text
        visitor.id = self.ids[handle]
        return visitor


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _text(response: httpx2.Response) -> str:
    """The page as a reader sees its text (entities decoded, whitespace collapsed)."""
    assert response.status_code == 200, response.text
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: these tests sign in often and are not about hashing."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def make_site(db_url: str) -> Iterator[Callable[..., Site]]:
    runtimes: list[Runtime] = []

    def make(**settings: Any) -> Site:
        runtime = build(Settings(database_url=db_url, admin_token="op", test_clock=T0, **settings))
        runtimes.append(runtime)
        return Site(runtime, create_app(runtime=runtime))

    yield make
    for runtime in runtimes:
        runtime.close()


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    built = make_site()
    built.member("ada", "Ada Lovelace", headline="Analyst", company="Engines Ltd")
    built.member("bob", "Bob Babbage")
    built.member("cat", "Cat Herschel")
    return built


def test_every_page_renders_for_a_member_and_sends_strangers_to_sign_in(site: Site) -> None:
    ada = site.visitor("ada")
    group = ada.post("/groups", name="Engines", description="Analytical")
    group_path = group.url.path
    paths = [*PAGES, f"/members/{site.ids['bob']}", f"/members/{site.ids['ada']}", group_path]
    for path in paths:
        shown = ada.get(path)
        assert shown.status_code == 200, path
        assert "Sign out @ada" in shown.text
        assert "Traceback" not in shown.text
    stranger = site.stranger()
    for path in paths:
        sent = stranger.client.get(path, follow_redirects=False)
        assert sent.status_code == 303, path
        assert sent.headers["location"] == f"/login?next={path}"


def test_pages_say_when_there_is_nothing_yet(site: Site) -> None:
    ada = site.visitor("ada")
    network = _text(ada.get("/network"))
    assert "No invitations." in network
    assert "No introduction requests." in network
    assert "No connections yet." in network
    assert "No posts yet." in _text(ada.get("/feed"))
    assert "No mentions yet." in _text(ada.get("/mentions"))
    assert "You are not in any group yet." in _text(ada.get("/groups"))
    assert "No mutual connections." in _text(ada.get(f"/members/{site.ids['bob']}"))


def test_unknown_members_and_groups_are_a_page_in_words(site: Site) -> None:
    ada = site.visitor("ada")
    for path, words in [("/members/m_nobody", "no member"), ("/groups/g_none", "no group")]:
        missing = ada.get(path)
        assert missing.status_code == 404
        assert words in html.unescape(missing.text)


def test_contact_info_shows_to_a_connection_but_not_to_a_stranger(site: Site) -> None:
    site.connect("ada", "bob")
    ada = site.visitor("ada")
    saved = ada.post(
        "/network/contact",
        email="ada@example.com",
        email_visibility="connections",
        phone="+44 20 7946 0000",
        phone_visibility="only_me",
        website="ada.example.org",
        website_visibility="everyone",
    )
    assert "Contact info saved." in _text(saved)
    assert 'value="ada@example.com"' in saved.text
    assert re.search(r'<option value="only_me" selected>', saved.text)  # the phone's choice kept

    profile = f"/members/{site.ids['ada']}"
    as_connection = _text(site.visitor("bob").get(profile))
    assert "1st" in as_connection
    assert "ada@example.com" in as_connection
    assert "ada.example.org" in as_connection
    assert "+44 20 7946 0000" not in as_connection

    as_stranger = _text(site.visitor("cat").get(profile))
    assert "3rd+" in as_stranger
    assert "ada@example.com" not in as_stranger
    assert "+44 20 7946 0000" not in as_stranger
    assert "ada.example.org" in as_stranger

    assert "+44 20 7946 0000" in _text(ada.get(profile))  # yourself: everything


def test_a_refused_change_is_explained_in_words(site: Site) -> None:
    ada = site.visitor("ada")
    refused = ada.refused("/invitations", 404, to="m_nobody")
    assert "there is no member 'm_nobody'" in refused
    blank = "cannot be blank (only spaces or invisible characters)"
    assert f"name {blank}" in ada.refused("/groups", 422, name=" ")
    assert f"body {blank}" in ada.refused("/posts", 422, body="   ")


def test_accepting_an_invitation_makes_a_first_degree_connection(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.visitor("bob")
    bob_profile = f"/members/{site.ids['bob']}"
    assert "3rd+" in _text(ada.get(bob_profile))
    sent = ada.post(f"{bob_profile}/invite", note="We met at the Royal Society")
    assert "Invitation sent." in _text(sent)
    assert "Bob Babbage" in _text(ada.get("/network"))  # listed as waiting for an answer

    invited = bob.get("/network")
    assert "Ada Lovelace @ada wants to connect" in _text(invited)
    assert "We met at the Royal Society" in _text(invited)
    accept = re.search(r'action="(/invitations/[^"]+/accept)"', invited.text)
    assert accept is not None
    accepted = bob.post(accept.group(1))
    assert "Invitation accepted: you are connected." in _text(accepted)
    assert "No invitations." in _text(accepted)

    assert "1st" in _text(ada.get(bob_profile))
    assert f'href="/members/{site.ids["bob"]}"' in ada.get("/network").text  # a connection now
    assert "Your invitation was accepted" in _text(ada.get("/notifications"))


def test_an_invitation_by_search_and_a_declined_one(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.visitor("bob")
    found = ada.get("/network?q=bob")
    assert "Bob Babbage" in _text(found)
    assert "Invitation sent." in _text(ada.post("/invitations", to=site.ids["bob"]))
    decline = re.search(r'action="(/invitations/[^"]+/decline)"', bob.get("/network").text)
    assert decline is not None
    assert "Invitation declined." in _text(bob.post(decline.group(1)))
    assert "3rd+" in _text(ada.get(f"/members/{site.ids['bob']}"))


def test_an_introduction_forwarded_opens_a_free_thread(site: Site) -> None:
    site.connect("ada", "cat")
    site.connect("cat", "bob")
    ada, cat = site.visitor("ada"), site.visitor("cat")
    bob_profile = f"/members/{site.ids['bob']}"
    profile = ada.get(bob_profile)
    assert "2nd" in _text(profile)
    assert "Ask Cat Herschel for an introduction" in _text(profile)
    asked = ada.post(
        f"{bob_profile}/introductions", via=site.ids["cat"], note="Keen to talk about engines"
    )
    assert "Introduction requested" in _text(asked)

    network = cat.get("/network")
    assert "Ada Lovelace @ada asks to be introduced to Bob Babbage @bob" in _text(network)
    forward = re.search(r'action="(/introductions/[^"]+/forward)"', network.text)
    assert forward is not None
    forwarded = cat.post(forward.group(1), note="You two should meet")
    assert "Introduction made" in _text(forwarded)
    assert "No introduction requests." in _text(forwarded)

    notices = ada.get("/notifications")
    assert "An introduction was made" in _text(notices)
    link = re.search(r'href="(/notifications/[^"]+\?to=thread[^"]+)"', notices.text)
    assert link is not None
    thread = _text(ada.get(link.group(1)))
    assert "You two should meet" in thread
    assert "Keen to talk about engines" in thread


def test_a_declined_introduction_tells_the_requester(site: Site) -> None:
    site.connect("ada", "cat")
    site.connect("cat", "bob")
    ada, cat = site.visitor("ada"), site.visitor("cat")
    ada.post(f"/members/{site.ids['bob']}/introductions", via=site.ids["cat"], note="Please?")
    decline = re.search(r'action="(/introductions/[^"]+/decline)"', cat.get("/network").text)
    assert decline is not None
    assert "Introduction declined." in _text(cat.post(decline.group(1)))
    assert "Your introduction request was declined" in _text(ada.get("/notifications"))


def test_groups_join_message_and_the_monthly_limit_in_words(
    make_site: Callable[..., Site],
) -> None:
    site = make_site(group_message_monthly_limit=1)
    for handle in ("ada", "bob", "cat"):
        site.member(handle)
    ada, bob, cat = (site.visitor(h) for h in ("ada", "bob", "cat"))
    created = ada.post("/groups", name="Difference Engines", description="Gears & levers")
    assert "Group “Difference Engines” created." in _text(created)
    group = created.url.path
    for member in (bob, cat):
        opened = member.client.get(f"/groups/open?group={group.rsplit('/', 1)[1]}")
        assert opened.url.path == group
        assert "You joined the group." in _text(member.post(f"{group}/join"))
    members = _text(ada.get(group))
    assert "Bob @bob" in members
    assert "Cat @cat" in members
    assert "Difference Engines" in _text(bob.get("/groups"))

    sent = ada.post(f"{group}/messages", to=site.ids["bob"], body="Hello from the group")
    assert sent.url.path.startswith("/threads/")
    assert "Group message sent for free." in _text(sent)
    assert "Hello from the group" in _text(sent)

    limited = ada.refused(f"{group}/messages", 429, to=site.ids["cat"], body="And you?")
    assert "you started 1 group conversations this month, the most allowed (1)" in limited
    assert "And you?" in limited  # what was typed is kept
    again = ada.post(f"{group}/messages", to=site.ids["bob"], body="Still free")
    assert "Group message sent for free." in _text(again)  # an existing conversation


def test_a_closed_group_takes_requests_the_owner_approves(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.visitor("bob")
    group = ada.post("/groups", name="Private", description="", closed="on").url.path
    assert "visible to its members only" in _text(bob.get(group))
    requested = _text(bob.post(f"{group}/join"))
    assert "Request sent" in requested
    assert "Ask to join" not in requested

    owner_view = ada.get(group)
    assert "Bob" in _text(owner_view)
    approved = ada.post(f"{group}/approve", member=site.ids["bob"])
    assert "Request approved" in _text(approved)
    assert "No requests waiting." in _text(approved)
    assert "You are a member." in _text(bob.get(group))
    assert "You are now a member of Private" in _text(bob.get("/notifications"))


def test_a_mention_reaches_the_members_mentions_and_notifications(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.visitor("bob")
    posted = ada.post("/posts", body="Notes on the engine, thanks @bob!")
    assert "Posted; 1 mentioned member notified." in _text(posted)
    assert "Notes on the engine" in _text(posted)

    mentions = _text(bob.get("/mentions"))
    assert "Notes on the engine, thanks @bob!" in mentions
    assert "Ada Lovelace" in mentions
    assert "Notes on the engine" in _text(bob.get("/feed"))  # mentioning posts are in the feed

    notices = bob.get("/notifications")
    assert "@ada mentioned you: Notes on the engine" in _text(notices)
    # Each links through its own read mark to the post it is about.
    link = re.search(r'href="(/notifications/\d+\?to=post%3A[^"]+)"', notices.text)
    assert link is not None
    opened = bob.client.get(link.group(1), follow_redirects=False)
    assert opened.headers["location"].startswith("/mentions#post-")

    post_id = re.search(r'action="/posts/([^"]+)/comments"', bob.get("/feed").text)
    assert post_id is not None
    commented = bob.post(f"/posts/{post_id.group(1)}/comments", body="Glad to help, @ada")
    assert "Comment posted; 1 mentioned member notified." in _text(commented)
    assert "Glad to help, @ada" in _text(ada.get("/mentions"))


def test_script_in_a_post_or_comment_renders_as_text(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.visitor("bob")
    posted = ada.post("/posts", body="<script>alert('post')</script>")
    assert "<script>alert" not in posted.text
    assert "&lt;script&gt;alert(&#39;post&#39;)&lt;/script&gt;" in posted.text
    post_id = re.search(r'action="/posts/([^"]+)/comments"', posted.text)
    assert post_id is not None
    ada.post(f"/posts/{post_id.group(1)}/comments", body="@bob <script>alert('comment')</script>")
    mentions = bob.get("/mentions")
    assert "<script>alert" not in mentions.text
    assert "&lt;script&gt;alert(&#39;comment&#39;)&lt;/script&gt;" in mentions.text
    assert "<script>alert" not in bob.get("/notifications").text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    ada = site.visitor("ada")
    for form in ({}, {"csrf": "not-the-token"}):
        refused = ada.client.post("/posts", data={"body": "forged post", **form})
        assert refused.status_code == 403
        stored = ada.client.post(
            "/network/contact",
            data={"email": "forged@example.com", "email_visibility": "everyone", **form},
        )
        assert stored.status_code == 403
        grouped = ada.client.post("/groups", data={"name": "Forged group", **form})
        assert grouped.status_code == 403
    assert "forged post" not in ada.get("/feed").text
    assert "forged@example.com" not in ada.get("/network").text
    assert "Forged group" not in ada.get("/groups").text


def test_notifications_link_to_where_they_are_about() -> None:
    assert notification_link("thread:th_1") == "/threads/th_1"
    assert notification_link("post:p_1") == "/mentions#post-p_1"
    assert notification_link("group:g_1") == "/groups/g_1"
    assert notification_link("invitation:inv_1") == "/network#invitations"
    assert notification_link("thread:a/b?c") == "/threads/a%2Fb%3Fc"
    assert notification_link("demo:x") is None
    assert notification_link("thread:") is None


def test_comments_are_listed_under_their_post(site: Site) -> None:
    ada = site.visitor("ada")
    posted = ada.post("/posts", body="A question for everyone")
    assert "Posted" in _text(posted)
    feed = ada.get("/feed")
    post_id = re.search(r'id="post-(p_[0-9a-f]+)"', feed.text)
    assert post_id is not None
    ada.post(f"/posts/{post_id.group(1)}/comments", body="My own first answer")
    shown = _text(ada.get("/feed"))
    assert shown.index("A question for everyone") < shown.index("My own first answer")


def test_the_inbox_lists_my_inmails_awaiting_a_response_until_answered(
    make_site: Callable[..., Site],
) -> None:
    built = make_site()
    built.member("sam", "Sam Sender", plan="premium_business")
    built.member("rae", "Rae Recipient")
    sam = built.visitor("sam")
    assert "No InMail of yours is waiting for an answer." in _text(sam.get("/inbox?box=awaiting"))
    sent = send_inmail(
        built.runtime.deps,
        sender_id=built.ids["sam"],
        to=built.ids["rae"],
        subject="Hello",
        body="Open to a chat?",
        now=built.runtime.clock.now(),
    )
    inbox = _text(sam.get("/inbox?box=awaiting"))
    assert "Rae Recipient 31 Jan 2026 Hello You: Open to a chat?" in inbox
    assert "awaiting response not read yet" in inbox
    post_in_thread(
        built.runtime.deps,
        member_id=built.ids["rae"],
        thread_id=sent.thread_id,
        body="Sure",
        now=built.runtime.clock.now(),
    )
    assert "No InMail of yours is waiting for an answer." in _text(sam.get("/inbox?box=awaiting"))
