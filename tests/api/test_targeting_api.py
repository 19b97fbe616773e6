"""POST /v1/me/targeting on SQLite and PostgreSQL: a hand-built network ranked through the API.

The network is built the way members build it (the operator's members and connections,
groups joined, settings changed, InMails sent, answered, declined and ignored, a block),
and the ranking is checked as a member reads it: the order, the reasons, the channel and
cost of each candidate, the buckets of their InMail history, and the refusals.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from tests.api.conftest import ADMIN_TOKEN, Api, Member
from tests.conftest import T0, _fresh_postgres

URL = "/v1/me/targeting"


@dataclass
class Network:
    api: Api
    people: dict[str, Member] = field(default_factory=dict)

    def add(self, handle: str, name: str, plan: str = "basic", **profile: Any) -> Member:
        body = {"handle": handle, "name": name, "plan": plan, **profile}
        created = self.api.client.post("/v1/admin/members", json=body, headers=self.api.admin)
        assert created.status_code == 201, created.text
        member_id = created.json()["id"]
        issued = self.api.client.post(
            f"/v1/admin/members/{member_id}/tokens", headers=self.api.admin
        )
        assert issued.status_code == 201, issued.text
        member = Member(member_id, {"Authorization": f"Bearer {issued.json()['token']}"})
        self.people[handle] = member
        return member

    def id(self, handle: str) -> str:
        return self.people[handle].id

    def connect(self, a: str, b: str) -> None:
        pair = {"a": self.id(a), "b": self.id(b)}
        done = self.api.client.post("/v1/admin/connections", json=pair, headers=self.api.admin)
        assert done.status_code == 201, done.text

    def call(self, who: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer = self.api.client.request(method, path, json=body, headers=self.people[who].auth)
        assert answer.status_code < 300, f"{method} {path}: {answer.text}"
        return answer.json() if answer.content else {}

    def inmail(self, sender: str, to: str) -> str:
        body = {"to": self.id(to), "subject": "Hello", "body": "Would you have a minute?"}
        thread_id: str = self.call(sender, "POST", "/v1/inmails", body)["thread_id"]
        return thread_id

    def rank(self, who: str, **body: Any) -> dict[str, Any]:
        answer = self.api.client.post(URL, json=body, headers=self.people[who].auth)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page

    def handles(self, page: dict[str, Any]) -> list[str]:
        return [item["member"]["handle"] for item in page["items"]]

    def item(self, page: dict[str, Any], handle: str) -> dict[str, Any]:
        found: dict[str, Any] = next(i for i in page["items"] if i["member"]["handle"] == handle)
        return found


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def net(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Network]:
    """One network per engine for the whole module: ranking writes nothing, so every test
    reads the same one (building it takes seconds)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("targeting") / "inmail.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        _fresh_postgres(url).dispose()
    runtime = build(Settings(database_url=url, admin_token=ADMIN_TOKEN, test_clock=T0))
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield build_network(Api(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"}))


def build_network(api: Api) -> Network:
    """Me, Ada (Acme, TU Berlin, rust and hiking), and everyone around her.

    - ana and cy are Ada's connections; bo knows both (2nd degree, 2 mutuals) and works
      at Acme; kit knows only ana; ivy knows cy but blocked Ada;
    - dee shares the group Rust Berlin and both interests with Ada, and posted this week;
    - eve opened her profile; fay declined Ada's InMail; jo has Ada's InMail unanswered;
    - gus answered all 5 InMails he got from others; hal ignored 5 for over 30 days.
    """
    n = Network(api)
    n.add("ada", "Ada Lovelace", "premium_business", company="Acme", school="TU Berlin",
          interests=["rust", "hiking"])  # fmt: skip
    n.add("ana", "Ana Ruiz")
    n.add("cy", "Cy Chen")
    n.add("bo", "Bo Brandt", company="ACME", interests=["Hiking"])
    n.add("kit", "Kit Kowalski")
    n.add("ivy", "Ivy Ito")
    n.add("dee", "Dee Dorn", interests=["Rust", "hiking"])
    n.add("eve", "Eve Open", "premium_business")
    n.add("fay", "Fay Decliner")
    n.add("jo", "Jo Waiting")
    n.add("gus", "Gus Answers")
    n.add("hal", "Hal Silent")
    for a, b in [("ada", "ana"), ("ada", "cy"), ("bo", "ana"), ("bo", "cy"), ("kit", "ana")]:
        n.connect(a, b)
    n.connect("ivy", "cy")
    n.call("ivy", "PUT", f"/v1/members/{n.id('ada')}/block")
    group = n.call("ada", "POST", "/v1/groups", {"name": "Rust Berlin"})["id"]
    n.call("dee", "POST", f"/v1/groups/{group}/join")
    n.call("eve", "PUT", "/v1/me/settings", {"open_profile": True})
    n.call("fay", "POST", f"/v1/threads/{n.inmail('ada', 'fay')}/decline")
    n.inmail("ada", "jo")
    senders = [n.add(f"sender{i}", f"Sender {i}", "premium_business") for i in range(5)]
    for i, _ in enumerate(senders):
        answered = n.inmail(f"sender{i}", "gus")
        n.call("gus", "POST", f"/v1/threads/{answered}/messages", {"body": "Sure, let us talk"})
        n.inmail(f"sender{i}", "hal")
    api.advance(days=31)
    n.call("dee", "POST", "/v1/posts", {"body": "Rust Berlin meets on Thursday"})
    return n


EVERYONE = ["ana", "cy", "bo", "kit", "ivy", "dee", "eve", "fay", "jo", "gus", "hal"]


def test_the_order_follows_the_documented_score(net: Network) -> None:
    page = net.rank("ada", candidates=[net.id(h) for h in EVERYONE])
    scores = {item["member"]["handle"]: item["score"] for item in page["items"]}
    assert scores == {
        "bo": 14,
        "dee": 12,
        "ana": 10,
        "cy": 10,
        "gus": 8,
        "eve": 4,
        "kit": 3,
        "hal": -6,
        "jo": 0,
        "ivy": 3,  # a mutual connection (cy), but blocked: ranked among the unreachable
        "fay": 0,
    }
    order = net.handles(page)
    reachable = order[:8]
    assert reachable[0:2] == ["bo", "dee"]
    assert set(reachable[2:4]) == {"ana", "cy"}  # a tie, broken by member id
    assert reachable[2:4] == sorted(reachable[2:4], key=net.id)
    assert reachable[4:] == ["gus", "eve", "kit", "hal"]
    assert order[8:] == ["jo", "ivy", "fay"]


def test_reasons_name_the_facts_in_plain_sentences(net: Network) -> None:
    page = net.rank("ada", candidates=[net.id(h) for h in EVERYONE])
    bo = net.item(page, "bo")
    assert bo["reasons"] == [
        "2 mutual connections: "
        + ", ".join(
            name for _, name in sorted([(net.id("ana"), "Ana Ruiz"), (net.id("cy"), "Cy Chen")])
        ),
        "you both work at ACME",
        "you share an interest: Hiking",
        "not enough InMail history to say how often they answer",
    ]
    assert (bo["channel"], bo["cost_credits"], bo["reachable"]) == ("inmail", 1, True)
    assert bo["member"]["degree"] == 2
    dee = net.item(page, "dee")
    assert dee["reasons"] == [
        "free: you can message them in a group you share",
        "you are both in Rust Berlin",
        "you share interests: Rust, hiking",
        "not enough InMail history to say how often they answer",
        "active in the last 30 days",
    ]
    assert (dee["channel"], dee["cost_credits"]) == ("group_message", 0)


def test_connections_and_free_routes_are_marked(net: Network) -> None:
    page = net.rank("ada", candidates=[net.id(h) for h in ("ana", "eve", "kit")])
    ana = net.item(page, "ana")
    assert (ana["channel"], ana["cost_credits"], ana["member"]["degree"]) == ("message", 0, 1)
    assert ana["reasons"][0] == "free: a 1st-degree connection, so a message costs nothing"
    eve = net.item(page, "eve")
    assert (eve["channel"], eve["cost_credits"]) == ("open_profile", 0)
    assert eve["reasons"][0] == (
        "free: their profile is open (Open Profile), so InMail costs nothing"
    )
    kit = net.item(page, "kit")
    assert (kit["channel"], kit["cost_credits"]) == ("inmail", 1)
    assert not any(r.startswith("free:") for r in kit["reasons"])


def test_their_inmail_history_shows_only_as_a_bucket(net: Network) -> None:
    answer = net.api.client.post(
        URL,
        json={"candidates": [net.id(h) for h in ("gus", "hal", "kit")]},
        headers=net.people["ada"].auth,
    )
    page = answer.json()
    assert {i["member"]["handle"]: i["answers"] for i in page["items"]} == {
        "gus": "most",
        "hal": "rarely",
        "kit": "not_enough_history",
    }
    assert "answers most InMail they receive" in net.item(page, "gus")["reasons"]
    assert "rarely answers InMail" in net.item(page, "hal")["reasons"]
    # Nothing in the answer counts their InMails or gives a rate: 5 of 5, 0 of 5, 100 %.
    for item in page["items"]:
        assert set(item) == {
            "member",
            "score",
            "reasons",
            "channel",
            "cost_credits",
            "reachable",
            "answers",
        }
        for reason in item["reasons"]:
            assert "%" not in reason
            assert "5" not in reason
    assert "rate" not in json.dumps(page)


def test_someone_who_declined_comes_last_and_an_unanswered_inmail_is_said(net: Network) -> None:
    page = net.rank("ada", candidates=[net.id(h) for h in ("fay", "jo", "hal", "kit")])
    assert net.handles(page) == ["kit", "hal", "jo", "fay"]
    fay = net.item(page, "fay")
    assert fay["reasons"][0].startswith("they declined your InMail on 2026-01-31")
    assert fay["reasons"][0].endswith(": ranked last")
    jo = net.item(page, "jo")
    assert jo["reasons"][0] == (
        "your InMail of 2026-01-31 still awaits their response: "
        "follow it up rather than write again"
    )
    assert jo["reachable"] is True


def test_a_member_who_blocked_you_is_not_reachable_when_named_and_never_suggested(
    net: Network,
) -> None:
    named = net.rank("ada", candidates=[net.id("ivy")])
    ivy = net.item(named, "ivy")
    assert ivy["reachable"] is False
    assert ivy["reasons"][0] == "not reachable: they do not accept InMail from you"
    assert "ivy" not in net.handles(net.rank("ada", q="Ivy"))
    assert "ivy" not in net.handles(net.rank("ada"))


def test_without_candidates_the_pool_is_the_2nd_degree_network(net: Network) -> None:
    page = net.rank("ada")
    # bo (2 mutuals) and kit (1); not the connections ana and cy, not Ada, not ivy (a block).
    assert net.handles(page) == ["bo", "kit"]


def test_a_search_text_picks_the_candidates(net: Network) -> None:
    # The member search finds words of names, handles and profiles (accents and case aside):
    # "hiking" is an interest of Ada (never in her own results), Bo and Dee.
    assert set(net.handles(net.rank("ada", q="Hiking"))) == {"bo", "dee"}
    assert net.handles(net.rank("ada", q="ito")) == []  # ivy blocked Ada: not a candidate
    assert net.handles(net.rank("ada", q="waiting")) == ["jo"]
    assert net.handles(net.rank("ada", q="nobody has this")) == []


def test_pages_follow_the_cursor_to_the_end(net: Network) -> None:
    everyone = [net.id(h) for h in EVERYONE]
    whole = net.handles(net.rank("ada", candidates=everyone))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        body: dict[str, Any] = {"candidates": everyone, "limit": 3}
        if cursor is not None:
            body["cursor"] = cursor
        page = net.rank("ada", **body)
        seen += net.handles(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole


def test_duplicates_are_ranked_once(net: Network) -> None:
    page = net.rank("ada", candidates=[net.id("bo"), net.id("kit"), net.id("bo")])
    assert net.handles(page) == ["bo", "kit"]


def _refused(net: Network, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer = net.api.client.post(URL, json=body, headers=headers or net.people["ada"].auth)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["code"] == "validation-error"
    return problem


def test_unknown_ids_are_refused_by_name(net: Network) -> None:
    problem = _refused(net, {"candidates": [net.id("bo"), "m_nobody", "m_gone"]})
    assert problem["field"] == "candidates"
    assert problem["detail"] == "candidates: there is no member with the ids m_nobody and m_gone"


def test_bad_requests_are_refused_by_field(net: Network) -> None:
    bo = net.id("bo")
    cases: list[tuple[Any, str, str]] = [
        ({"candidates": [bo], "q": "bo"}, "q", "not both"),
        ({"candidates": []}, "candidates", "at least 1"),
        ({"candidates": [f"m_{i}" for i in range(201)]}, "candidates", "at most 200"),
        ({"candidates": [net.id("ada")]}, "candidates", "your own id"),
        ({"candidates": ["not an id!"]}, "candidates.0", "pattern"),
        ({"candidates": None}, "candidates", "null"),
        ({"q": "   "}, "q", "blank"),
        ({"q": "x" * 101}, "q", "at most 100"),
        ({"q": "a\x00b"}, "q", "control"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 201}, "limit", "less than or equal to 200"),
        ({"limit": "5"}, "limit", "integer"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor", "not one this server handed out"),
        ({"cursor": "azF8eHx5fHp8bV8x"}, "cursor", "not one this server handed out"),
        ({"candidate": [bo]}, "candidate", "Extra inputs"),
    ]
    for body, field_name, words in cases:
        problem = _refused(net, body)
        assert problem["field"] == field_name, body
        assert words in problem["detail"], (body, problem["detail"])


def test_only_a_member_may_ask(net: Network) -> None:
    nobody = net.api.client.post(URL, json={})
    assert nobody.status_code == 401
    operator = net.api.client.post(URL, json={}, headers=net.api.admin)
    assert operator.status_code == 403
    assert operator.json()["code"] == "forbidden"


def test_nothing_is_written_or_charged(net: Network) -> None:
    before = net.call("ada", "GET", "/v1/me/credits")["balance"]
    ledger = net.call("ada", "GET", "/v1/me/credits/ledger")["items"]
    net.rank("ada", candidates=[net.id(h) for h in EVERYONE])
    assert net.call("ada", "GET", "/v1/me/credits")["balance"] == before
    assert net.call("ada", "GET", "/v1/me/credits/ledger")["items"] == ledger


def test_a_member_you_blocked_is_named_as_your_block(net: Network) -> None:
    kit = net.id("kit")
    assert net.call("ada", "PUT", f"/v1/members/{kit}/block")["blocked"] is True
    page = net.rank("ada", candidates=[kit])
    item = net.item(page, "kit")
    assert item["reachable"] is False
    assert item["reasons"][0] == "not reachable: you blocked this member (unblock them to write)"
