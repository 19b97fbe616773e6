"""The "Who is likely to answer" page through the app in-process: a GET form, no JavaScript."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.services import passwords
from inmail.services.groups import create_group, join_group
from inmail.services.inmail import decline, send_inmail
from inmail.services.members import create_member
from inmail.services.network import connect
from inmail.services.passwords import set_password
from tests.conftest import T0

PASSWORD = "targeting pages password"


class Site:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.app = create_app(runtime=runtime)
        self.ids: dict[str, str] = {}

    def member(self, handle: str, name: str, plan: str = "basic", **profile: Any) -> str:
        made = create_member(
            self.runtime.deps, handle=handle, name=name, plan=plan, now=T0, **profile
        )
        set_password(self.runtime.deps, member_id=made.id, password=PASSWORD, now=T0)
        self.ids[handle] = made.id
        return made.id

    def connect(self, a: str, b: str) -> None:
        connect(self.runtime.deps, a=self.ids[a], b=self.ids[b], now=T0)

    def signed_in(self, handle: str) -> TestClient:
        client = TestClient(self.app)
        form = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        body = {"csrf": csrf.group(1), "handle": handle, "password": PASSWORD, "next": "/"}
        assert client.post("/login", data=body).url.path == "/inbox"
        return client


def _text(response: httpx2.Response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def _ranked(response: httpx2.Response) -> list[str]:
    """The handles in the ranked list, in order."""
    found = re.search(
        r'<ol class="ranked" id="ranked">(.*?)</ol>\s*(?:<p>|</section>)', response.text, re.S
    )
    return re.findall(r'<span class="muted">@([a-z0-9_-]+)</span>', found.group(1)) if found else []


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    runtime = build(Settings(database_url=db_url, admin_token="op", test_clock=T0))
    built = Site(runtime)
    deps = runtime.deps
    built.member("ada", "Ada Lovelace", "premium_business", company="Acme")
    built.member("ana", "Ana Ruiz")
    built.member("bo", "Bo Brandt", company="acme")
    built.member("cy", "Cy Chen")
    built.member("fay", "Fay Decliner")
    built.connect("ada", "ana")
    built.connect("ana", "bo")
    built.connect("ana", "cy")
    group = create_group(
        deps, owner_id=built.ids["ada"], name="Rust Berlin", description="", closed=False, now=T0
    )
    join_group(deps, member_id=built.ids["cy"], group_id=group.id, now=T0)
    sent = send_inmail(
        deps, sender_id=built.ids["ada"], to=built.ids["fay"], subject="Hi", body="Hi", now=T0
    )
    decline(deps, member_id=built.ids["fay"], thread_id=sent.thread_id, now=T0)
    yield built
    runtime.close()


def test_pasted_handles_are_ranked_with_reasons_cost_and_a_write_link(site: Site) -> None:
    ada = site.signed_in("ada")
    shown = ada.get("/targeting", params={"handles": "@fay, bo\n@cy  ana"})
    assert shown.status_code == 200
    assert _ranked(shown) == ["ana", "bo", "cy", "fay"]  # 10, 9, 7, and a decline last
    text = _text(shown)
    assert "1 mutual connection: Ana Ruiz" in text
    assert "you both work at acme" in text
    assert "free: you can message them in a group you share" in text
    assert "free: a 1st-degree connection, so a message costs nothing" in text
    assert re.search(r"they declined your InMail on 2026-01-31: ranked last", text)
    assert f'href="/compose?to={site.ids["bo"]}"' in shown.text
    assert "1 credit" in text
    assert "free" in text


def test_a_search_or_nothing_ranks_the_matches_or_the_network(site: Site) -> None:
    ada = site.signed_in("ada")
    assert _ranked(ada.get("/targeting", params={"q": "Chen"})) == ["cy"]
    network = ada.get("/targeting")
    assert _ranked(network) == ["bo", "cy"]  # ana's connections Ada is not connected to
    assert "Ranked: your 2nd-degree network · 2 people" in _text(network)
    nobody = ada.get("/targeting", params={"q": "zzz"})
    assert "Nobody to rank matches “zzz”." in _text(nobody)


def test_unknown_handles_both_inputs_and_only_yourself_are_refused_in_words(site: Site) -> None:
    ada = site.signed_in("ada")
    for params, words in [
        ({"handles": "@bo @ghost @nobody"}, "No member has the handles @ghost and @nobody."),
        ({"handles": "bo", "q": "cy"}, "Paste handles or type a search, not both."),
        ({"handles": "@ada"}, "That is only you: add the handles of the people to rank."),
        ({"handles": " ".join(f"h{i}" for i in range(201))}, "201 handles: at most 200"),
        ({"after": "not-a-cursor"}, "That link to a next page is broken"),
    ]:
        refused = ada.get("/targeting", params=params)
        assert refused.status_code == 422, params
        assert words in _text(refused)
        assert 'id="handles"' in refused.text  # the form again, what was typed kept
    kept = ada.get("/targeting", params={"handles": "@bo @ghost"})
    assert ">@bo @ghost</textarea>" in kept.text


def test_pages_continue_with_the_next_link(site: Site) -> None:
    for i in range(25):
        site.member(f"p{i:02d}", f"Person {i:02d}")
    ada = site.signed_in("ada")
    handles = " ".join(f"p{i:02d}" for i in range(25))
    first = ada.get("/targeting", params={"handles": handles})
    assert len(_ranked(first)) == 20
    link = re.search(r'href="(/targeting\?[^"]+)">Next page', first.text)
    assert link is not None
    second = ada.get(html.unescape(link.group(1)))
    assert len(_ranked(second)) == 5
    assert set(_ranked(first)).isdisjoint(_ranked(second))
    assert "Next page" not in second.text


def test_the_page_is_in_the_nav_and_strangers_are_sent_to_sign_in(site: Site) -> None:
    ada = site.signed_in("ada")
    assert '<a href="/targeting" aria-current="page">Who answers</a>' in ada.get("/targeting").text
    assert '<a href="/targeting" >Who answers</a>' in ada.get("/inbox").text
    stranger = TestClient(site.app).get("/targeting", follow_redirects=False)
    assert stranger.status_code == 303
    assert stranger.headers["location"] == "/login?next=/targeting"


def test_how_the_score_works_lists_this_deployments_points(site: Site) -> None:
    text = _text(site.signed_in("ada").get("/targeting"))
    assert "How the score works" in text
    assert "each mutual connection +3, up to 5" in text
    assert "rarely answers InMail -6" in text
    assert "active in the last 30 days +4" in text
