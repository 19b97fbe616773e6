"""Every list is a page ({items, next_cursor}, ?limit=&cursor=), and threads are listed with
their last message."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, Member


def _pages(api: Api, url: str, auth: dict[str, str], limit: int) -> list[list[Any]]:
    """Every page of a list, following next_cursor."""
    pages, cursor = [], None
    while True:
        query: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        answer = api.client.get(url, params=query, headers=auth)
        assert answer.status_code == 200, answer.text
        assert set(answer.json()) == {"items", "next_cursor"}
        pages.append(answer.json()["items"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20


def _connect(api: Api, a: Member, b: Member) -> None:
    made = api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert made.status_code == 201


def test_mutual_connections_page_by_member_id(api: Api) -> None:
    me, target = api.member("basic"), api.member("basic")
    mutuals = [api.member("basic") for _ in range(3)]
    for mutual in mutuals:
        _connect(api, me, mutual)
        _connect(api, mutual, target)
    pages = _pages(api, f"/v1/members/{target.id}/mutual-connections", me.auth, limit=2)
    assert [[m["id"] for m in page] for page in pages] == [
        sorted(m.id for m in mutuals)[:2],
        sorted(m.id for m in mutuals)[2:],
    ]


def test_group_members_page_longest_standing_first(api: Api) -> None:
    owner = api.member("basic")
    group = api.client.post("/v1/groups", json={"name": "Makers"}, headers=owner.auth).json()
    joiners = []
    for _ in range(3):
        api.advance(seconds=1)
        joiner = api.member("basic")
        assert api.client.post(f"/v1/groups/{group['id']}/join", headers=joiner.auth).is_success
        joiners.append(joiner.id)
    pages = _pages(api, f"/v1/groups/{group['id']}/members", owner.auth, limit=3)
    assert [[m["id"] for m in page] for page in pages] == [[owner.id, *joiners[:2]], joiners[2:]]


def test_invitations_page_newest_first(api: Api) -> None:
    invited = api.member("basic")
    senders = []
    for _ in range(3):
        api.advance(seconds=1)
        sender = api.member("basic")
        sent = api.client.post("/v1/invitations", json={"to": invited.id}, headers=sender.auth)
        assert sent.status_code == 201
        senders.append(sender.id)
    pages = _pages(api, "/v1/me/invitations", invited.auth, limit=2)
    assert [[i["from_member"] for i in page] for page in pages] == [
        senders[::-1][:2],
        senders[::-1][2:],
    ]


def test_follow_ups_page_longest_due_first(api: Api) -> None:
    sender = api.member("premium_business")
    threads = []
    for _ in range(3):
        to = api.member("basic")
        body = {"to": to.id, "subject": "Hi", "body": "Hello"}
        threads.append(api.client.post("/v1/inmails", json=body, headers=sender.auth).json())
        api.advance(seconds=1)
    api.advance(days=7)
    pages = _pages(api, "/v1/me/follow-ups", sender.auth, limit=2)
    ids = [t["thread_id"] for t in threads]
    assert [[d["thread_id"] for d in page] for page in pages] == [ids[:2], ids[2:]]


def test_the_plan_catalog_and_the_packs_are_pages(api: Api) -> None:
    member = api.member("basic")
    plans = _pages(api, "/v1/admin/plans", api.admin, limit=2)
    assert [[p["code"] for p in page] for page in plans] == [  # cheapest first
        ["basic", "premium_business"],
        ["sales_navigator_professional", "recruiter_lite"],
        ["recruiter", "recruiter_corporate"],
    ]
    packs = _pages(api, "/v1/packs", member.auth, limit=3)
    assert [[p["code"] for p in page] for page in packs] == [
        ["pack_1", "pack_5", "pack_10"],
        ["pack_25"],
    ]


def test_a_cursor_the_server_did_not_hand_out_is_refused(api: Api) -> None:
    member = api.member("basic")
    for url in ("/v1/packs", "/v1/me/invitations", "/v1/me/follow-ups", "/v1/threads"):
        answer = api.client.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=member.auth)
        assert answer.status_code == 422, url
        assert (answer.json()["code"], answer.json()["field"]) == ("validation-error", "cursor")


def test_threads_are_listed_with_their_last_message(api: Api) -> None:
    sender, recipient = api.member("premium_business"), api.member("basic")
    sent = api.client.post(
        "/v1/inmails",
        json={"to": recipient.id, "subject": "Hi", "body": "Hello"},
        headers=sender.auth,
    ).json()
    api.advance(seconds=60)
    reply = "Thanks! " + "x" * 300
    url = f"/v1/threads/{sent['thread_id']}/messages"
    answered = api.client.post(url, json={"body": reply}, headers=recipient.auth).json()
    listed = api.client.get("/v1/threads", headers=sender.auth).json()["items"]
    assert len(listed) == 1
    assert listed[0]["last_message"] == {
        "id": answered["id"],
        "sender": recipient.id,
        "kind": "reply",
        "snippet": reply[:140],
        "at": "2026-01-31T09:01:00Z",
    }
    assert [(m["kind"], m["body"]) for m in listed[0]["messages"]] == [("reply", reply)]
    whole = api.client.get(f"/v1/threads/{sent['thread_id']}", headers=sender.auth).json()
    assert [m["kind"] for m in whole["messages"]] == ["inmail", "reply"]
    assert whole["last_message"] == listed[0]["last_message"]
