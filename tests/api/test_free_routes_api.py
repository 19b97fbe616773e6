"""Every free way to reach someone, through HTTP: groups, mentions, contact info, introductions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, Member


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _connect(api: Api, a: Member, b: Member) -> None:
    made = api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert made.status_code == 201


def _group(api: Api, owner: Member, closed: bool = False) -> str:
    made = api.client.post(
        "/v1/groups", json={"name": "Rustaceans", "closed": closed}, headers=owner.auth
    )
    assert made.status_code == 201
    group_id: str = made.json()["id"]
    return group_id


def _handle(api: Api, member: Member) -> str:
    handle: str = api.client.get("/v1/me", headers=member.auth).json()["handle"]
    return handle


def test_open_groups_take_members_directly_and_closed_ones_by_approval(api: Api) -> None:
    owner, joiner, applicant = api.member("basic"), api.member("basic"), api.member("basic")
    open_group, closed_group = _group(api, owner), _group(api, owner, closed=True)
    joined = api.client.post(f"/v1/groups/{open_group}/join", headers=joiner.auth)
    assert (joined.status_code, joined.json()["status"]) == (200, "member")
    asked = api.client.post(f"/v1/groups/{closed_group}/join", headers=applicant.auth)
    assert (asked.status_code, asked.json()["status"]) == (202, "pending")
    _problem(
        api.client.get(f"/v1/groups/{closed_group}/members", headers=applicant.auth),
        403,
        "forbidden",
    )
    approve = f"/v1/groups/{closed_group}/requests/{applicant.id}/approve"
    _problem(api.client.post(approve, headers=joiner.auth), 403, "forbidden")
    assert api.client.post(approve, headers=owner.auth).json()["status"] == "member"
    listed = api.client.get(f"/v1/groups/{closed_group}/members", headers=applicant.auth).json()[
        "items"
    ]
    assert {m["id"] for m in listed} == {owner.id, applicant.id}
    assert api.client.post(f"/v1/groups/{open_group}/leave", headers=joiner.auth).status_code == 204
    listed = api.client.get(f"/v1/groups/{open_group}/members", headers=owner.auth).json()["items"]
    assert [m["id"] for m in listed] == [owner.id]
    _problem(api.client.post("/v1/groups/g_nobody/join", headers=joiner.auth), 404, "not-found")


def test_group_messages_are_free_between_group_peers_who_accept_them(api: Api) -> None:
    a, b, outsider, closed = (api.member("basic") for _ in range(4))
    group = _group(api, a)
    for member in (b, closed):
        api.client.post(f"/v1/groups/{group}/join", headers=member.auth)
    api.client.put("/v1/me/settings", json={"group_messages_open": False}, headers=closed.auth)
    url = f"/v1/groups/{group}/messages"
    sent = api.client.post(url, json={"to": b.id, "body": "Hi fellow member"}, headers=a.auth)
    assert (sent.status_code, sent.json()["cost_credits"]) == (201, 0)
    reply = api.client.post(url, json={"to": a.id, "body": "Hello!"}, headers=b.auth)
    assert reply.json()["thread_id"] == sent.json()["thread_id"]
    _problem(
        api.client.post(url, json={"to": outsider.id, "body": "x"}, headers=a.auth),
        403,
        "not-group-peers",
    )
    _problem(
        api.client.post(url, json={"to": closed.id, "body": "x"}, headers=a.auth),
        403,
        "group-messages-closed",
    )
    quote = api.client.get(f"/v1/me/quote?to={b.id}", headers=a.auth).json()
    assert (quote["channel"], quote["cost_credits"]) == ("conversation", 0)
    thread = api.client.get(f"/v1/threads/{sent.json()['thread_id']}", headers=b.auth).json()
    assert (thread["kind"], thread["status"]) == ("group", "open")


def test_the_monthly_group_conversation_limit_resets_with_the_calendar_month(api: Api) -> None:
    sender = api.member("basic")
    group = _group(api, sender)
    peers = [api.member("basic") for _ in range(17)]
    for peer in peers:
        api.client.post(f"/v1/groups/{group}/join", headers=peer.auth)
    url = f"/v1/groups/{group}/messages"
    for peer in peers[:15]:
        assert (
            api.client.post(
                url, json={"to": peer.id, "body": "hi"}, headers=sender.auth
            ).status_code
            == 201
        )
    refused = api.client.post(url, json={"to": peers[15].id, "body": "hi"}, headers=sender.auth)
    assert "15" in _problem(refused, 429, "group-message-limit-reached")["detail"]
    again = api.client.post(url, json={"to": peers[0].id, "body": "more"}, headers=sender.auth)
    assert again.status_code == 201  # an existing conversation does not count
    reply = api.client.post(url, json={"to": sender.id, "body": "reply"}, headers=peers[16].auth)
    assert reply.status_code == 201  # starting is counted for the starter only
    api.advance(seconds=15 * 3600 - 1)  # 2026-01-31T23:59:59Z: still January
    _problem(
        api.client.post(url, json={"to": peers[15].id, "body": "hi"}, headers=sender.auth),
        429,
        "group-message-limit-reached",
    )
    api.advance(seconds=1)  # February
    assert (
        api.client.post(
            url, json={"to": peers[15].id, "body": "hi"}, headers=sender.auth
        ).status_code
        == 201
    )


def test_mentions_notify_members_once_and_ignore_unknown_handles_and_addresses(api: Api) -> None:
    author, ada, bob = api.member("basic"), api.member("basic"), api.member("basic")
    ada_handle, bob_handle = _handle(api, ada), _handle(api, bob)
    body = (
        f"Thanks @{ada_handle} and @{ada_handle.upper()}! @nobody-here, mail "
        f"x@{bob_handle}.com or see https://example.com/@{bob_handle}"
    )
    post = api.client.post("/v1/posts", json={"body": body}, headers=author.auth)
    assert post.status_code == 201
    assert post.json()["mentions"] == [ada.id]
    notes = api.client.get("/v1/me/notifications", headers=ada.auth).json()["items"]
    assert [n["kind"] for n in notes] == ["mention"]
    assert api.client.get("/v1/me/notifications", headers=bob.auth).json()["items"] == []
    mentions = api.client.get("/v1/me/mentions", headers=ada.auth).json()["items"]
    assert [m["id"] for m in mentions] == [post.json()["id"]]
    comment = api.client.post(
        f"/v1/posts/{post.json()['id']}/comments",
        json={"body": f"cc @{bob_handle}"},
        headers=ada.auth,
    )
    assert (comment.status_code, comment.json()["parent_id"]) == (201, post.json()["id"])
    assert [
        m["parent_id"] for m in api.client.get("/v1/me/mentions", headers=bob.auth).json()["items"]
    ] == [post.json()["id"]]
    _problem(
        api.client.post("/v1/posts", json={"body": "  "}, headers=author.auth),
        422,
        "validation-error",
    )
    _problem(
        api.client.post("/v1/posts/p_nobody/comments", json={"body": "x"}, headers=author.auth),
        404,
        "not-found",
    )


def test_the_feed_shows_own_connections_and_mentioning_posts_newest_first(api: Api) -> None:
    me, friend, stranger, mentioner = (api.member("basic") for _ in range(4))
    _connect(api, me, friend)
    mine = api.client.post("/v1/posts", json={"body": "mine"}, headers=me.auth).json()["id"]
    theirs = api.client.post("/v1/posts", json={"body": "friend"}, headers=friend.auth).json()["id"]
    api.client.post("/v1/posts", json={"body": "unrelated"}, headers=stranger.auth)
    about = api.client.post(
        "/v1/posts", json={"body": f"hey @{_handle(api, me)}"}, headers=mentioner.auth
    ).json()["id"]
    page = api.client.get("/v1/feed?limit=2", headers=me.auth).json()
    rest = api.client.get(f"/v1/feed?limit=2&cursor={page['next_cursor']}", headers=me.auth).json()
    assert [p["id"] for p in page["items"] + rest["items"]] == [about, theirs, mine]


VISIBILITIES = ["only_me", "connections", "network", "everyone"]


def test_contact_info_shows_each_viewer_exactly_what_its_visibility_allows(api: Api) -> None:
    owner, first, second, third = (api.member("basic") for _ in range(4))
    _connect(api, owner, first)
    _connect(api, first, second)
    for visibility in VISIBILITIES:
        put = api.client.put(
            "/v1/me/contact-info",
            json={"email": {"value": "o@example.com", "visibility": visibility}},
            headers=owner.auth,
        )
        assert put.json()["email"] == {"value": "o@example.com", "visibility": visibility}
        seen = {
            name: api.client.get(f"/v1/members/{owner.id}/contact-info", headers=viewer.auth).json()
            for name, viewer in (("self", owner), ("1", first), ("2", second), ("3", third))
        }
        expected = {
            "only_me": {"self"},
            "connections": {"self", "1"},
            "network": {"self", "1", "2"},
            "everyone": {"self", "1", "2", "3"},
        }[visibility]
        assert {name for name, fields in seen.items() if fields["email"]} == expected
        assert all(fields["phone"] is None for fields in seen.values())


def test_contact_info_defaults_and_validation(api: Api) -> None:
    owner = api.member("basic")
    put = api.client.put(
        "/v1/me/contact-info",
        json={"email": {"value": "a@b.c"}, "website": {"value": "https://a.b"}},
        headers=owner.auth,
    ).json()
    assert (put["email"]["visibility"], put["website"]["visibility"]) == ("connections", "everyone")
    removed = api.client.put("/v1/me/contact-info", json={"website": None}, headers=owner.auth)
    assert removed.json()["website"] is None
    bad = api.client.put(
        "/v1/me/contact-info", json={"email": {"value": "a", "visibility": "x"}}, headers=owner.auth
    )
    _problem(bad, 422, "validation-error")


def test_introductions_through_a_mutual_connection_open_a_free_thread(api: Api) -> None:
    me, via, target, stranger = (api.member("basic") for _ in range(4))
    _connect(api, me, via)
    _connect(api, via, target)
    mutual = api.client.get(f"/v1/members/{target.id}/mutual-connections", headers=me.auth)
    mutual = mutual.json()["items"]
    assert [m["id"] for m in mutual] == [via.id]
    asked = api.client.post(
        "/v1/introductions",
        json={"target": target.id, "via": via.id, "note": "Could you?"},
        headers=me.auth,
    )
    assert (asked.status_code, asked.json()["status"]) == (201, "pending")
    intro = asked.json()["id"]
    _problem(
        api.client.post(f"/v1/introductions/{intro}/forward", json={}, headers=me.auth),
        403,
        "forbidden",
    )
    forwarded = api.client.post(
        f"/v1/introductions/{intro}/forward", json={"note": "You two should talk"}, headers=via.auth
    ).json()
    assert forwarded["status"] == "forwarded"
    thread = api.client.get(f"/v1/threads/{forwarded['thread_id']}", headers=target.auth).json()
    assert [m["body"] for m in thread["messages"]] == ["You two should talk", "Could you?"]
    answer = api.client.post(
        f"/v1/threads/{forwarded['thread_id']}/messages",
        json={"body": "Happy to!"},
        headers=target.auth,
    )
    assert (answer.status_code, answer.json()["cost_credits"]) == (201, 0)
    _problem(
        api.client.post(f"/v1/introductions/{intro}/decline", headers=via.auth), 409, "conflict"
    )
    refused = api.client.post(
        "/v1/introductions",
        json={"target": target.id, "via": stranger.id, "note": "hi"},
        headers=me.auth,
    )
    _problem(refused, 403, "not-a-mutual-connection")


def test_a_declined_introduction_tells_the_requester(api: Api) -> None:
    me, via, target = (api.member("basic") for _ in range(3))
    _connect(api, me, via)
    _connect(api, via, target)
    intro = api.client.post(
        "/v1/introductions",
        json={"target": target.id, "via": via.id, "note": "please"},
        headers=me.auth,
    ).json()["id"]
    assert (
        api.client.post(f"/v1/introductions/{intro}/decline", headers=via.auth).json()["status"]
        == "declined"
    )
    kinds = [
        n["kind"] for n in api.client.get("/v1/me/notifications", headers=me.auth).json()["items"]
    ]
    assert "introduction_declined" in kinds


def test_the_quote_lists_every_free_route_to_a_person(api: Api) -> None:
    me, via, target = api.member("premium_business"), api.member("basic"), api.member("basic")
    _connect(api, me, via)
    _connect(api, via, target)
    group = _group(api, target)
    api.client.post(f"/v1/groups/{group}/join", headers=me.auth)
    api.client.put(
        "/v1/me/contact-info",
        json={"email": {"value": "t@example.com", "visibility": "network"}},
        headers=target.auth,
    )
    quote = api.client.get(f"/v1/me/quote?to={target.id}", headers=me.auth).json()
    assert (quote["channel"], quote["cost_credits"], quote["allowed"]) == ("group_message", 0, True)
    channels = [a["channel"] for a in quote["alternatives"]]
    assert channels == ["group_message", "introduction", "contact_info", "mention"]
    assert "t@example.com" in quote["alternatives"][2]["detail"]


@pytest.mark.parametrize("plan", ["basic", "premium_business"])
def test_no_free_route_ever_spends_a_credit(api: Api, plan: str) -> None:
    me, via, target = api.member(plan), api.member("basic"), api.member("basic")
    before = api.client.get("/v1/me/credits/ledger", headers=me.auth).json()["items"]
    _connect(api, me, via)
    _connect(api, via, target)
    group = _group(api, me)
    api.client.post(f"/v1/groups/{group}/join", headers=target.auth)
    api.client.post(
        f"/v1/groups/{group}/messages", json={"to": target.id, "body": "hi"}, headers=me.auth
    )
    api.client.post("/v1/posts", json={"body": f"@{_handle(api, target)} hi"}, headers=me.auth)
    api.client.post("/v1/messages", json={"to": via.id, "body": "hi"}, headers=me.auth)
    intro = api.client.post(
        "/v1/introductions", json={"target": target.id, "via": via.id, "note": "n"}, headers=me.auth
    ).json()["id"]
    api.client.post(f"/v1/introductions/{intro}/forward", json={}, headers=via.auth)
    assert api.client.get("/v1/me/credits/ledger", headers=me.auth).json()["items"] == before
    assert api.client.get("/v1/admin/audit", headers=api.admin).json()["ok"]
