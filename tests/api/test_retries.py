"""A retried write answers its first status and body, whatever happened since (issue 9 §2).

Every write that creates something takes an ``Idempotency-Key``; the key is looked up
before any rule is checked, so a retry is never judged by today's rules, and nothing is
written or charged twice. On both engines, through HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, Member


def _keyed(member: Member, key: str) -> dict[str, str]:
    return {**member.auth, "Idempotency-Key": key}


def _balance(api: Api, member: Member) -> int:
    balance: int = api.client.get("/v1/me/credits", headers=member.auth).json()["balance"]
    return balance


def _spends(api: Api, member: Member) -> int:
    ledger = api.client.get("/v1/me/credits/ledger?limit=200", headers=member.auth).json()
    return sum(1 for line in ledger["items"] if line["kind"] == "spend")


def _messages(api: Api, member: Member, thread_id: str) -> list[tuple[str, str]]:
    thread = api.client.get(f"/v1/threads/{thread_id}", headers=member.auth).json()
    return [(m["kind"], m["body"]) for m in thread["messages"]]


def _send(api: Api, sender: Member, to: Member, key: str) -> Any:
    body = {"to": to.id, "subject": "Hello", "body": "Would you talk about the role?"}
    return api.client.post("/v1/inmails", json=body, headers=_keyed(sender, key))


def _assert_same(first: Any, again: Any) -> None:
    assert (again.status_code, again.json()) == (first.status_code, first.json())


# ---- sends and follow-ups: the examples


@pytest.fixture
def followed_up(api: Api) -> tuple[Member, Member, str, Any]:
    """An InMail, and on day 8 its follow-up posted with Idempotency-Key fu-1."""
    sender, recipient = api.member(), api.member()
    thread_id = _send(api, sender, recipient, "send-1").json()["thread_id"]
    api.advance(days=8)
    url = f"/v1/threads/{thread_id}/messages"
    first = api.client.post(url, json={"body": "Any thoughts?"}, headers=_keyed(sender, "fu-1"))
    assert (first.status_code, first.json()["kind"], first.json()["cost_credits"]) == (
        201,
        "followup",
        1,
    )
    return sender, recipient, thread_id, first


def test_a_retried_follow_up_answers_its_first_201_not_the_limit(
    api: Api, followed_up: tuple[Member, Member, str, Any]
) -> None:
    sender, _, thread_id, first = followed_up
    url = f"/v1/threads/{thread_id}/messages"

    again = api.client.post(url, json={"body": "Any thoughts?"}, headers=_keyed(sender, "fu-1"))

    _assert_same(first, again)
    assert _balance(api, sender) == 23
    assert _spends(api, sender) == 2
    assert [kind for kind, _ in _messages(api, sender, thread_id)] == ["inmail", "followup"]


def test_a_follow_up_retried_after_the_reply_is_not_posted_again(
    api: Api, followed_up: tuple[Member, Member, str, Any]
) -> None:
    sender, recipient, thread_id, first = followed_up
    url = f"/v1/threads/{thread_id}/messages"
    api.client.post(url, json={"body": "Sure, let's talk"}, headers=recipient.auth)

    again = api.client.post(url, json={"body": "Any thoughts?"}, headers=_keyed(sender, "fu-1"))

    _assert_same(first, again)
    assert _messages(api, sender, thread_id) == [
        ("inmail", "Would you talk about the role?"),
        ("followup", "Any thoughts?"),
        ("reply", "Sure, let's talk"),
    ]


@pytest.mark.parametrize("what_changed", ["inmail turned off", "connected", "sender cancelled"])
def test_a_retried_send_answers_its_first_201_whatever_changed(api: Api, what_changed: str) -> None:
    sender, recipient = api.member(), api.member()
    first = _send(api, sender, recipient, "send-1")
    assert first.status_code == 201
    if what_changed == "inmail turned off":
        off = {"inmail_open": False}
        assert api.client.put("/v1/me/settings", json=off, headers=recipient.auth).is_success
    elif what_changed == "connected":
        pair = {"a": sender.id, "b": recipient.id}
        assert api.client.post("/v1/admin/connections", json=pair, headers=api.admin).is_success
    else:
        cancel = {"plan": "basic"}
        assert api.client.put("/v1/me/subscription", json=cancel, headers=sender.auth).is_success
        api.advance(days=31)  # the cancel takes effect: Basic, no InMail

    again = _send(api, sender, recipient, "send-1")

    _assert_same(first, again)
    assert _spends(api, sender) == 1
    assert len(api.client.get("/v1/threads", headers=sender.auth).json()["items"]) == 1


def test_a_fresh_send_after_the_change_is_refused_as_before(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    _send(api, sender, recipient, "send-1")
    api.client.put("/v1/me/settings", json={"inmail_open": False}, headers=recipient.auth)
    refused = _send(api, sender, recipient, "send-2")
    assert (refused.status_code, refused.json()["code"]) == (403, "recipient-not-accepting-inmail")


def test_a_purchase_retried_after_the_cancel_took_effect_answers_its_first_201(api: Api) -> None:
    member = api.member()
    first = api.client.post(
        "/v1/me/purchases", json={"pack": "pack_5"}, headers=_keyed(member, "b1")
    )
    api.client.put("/v1/me/subscription", json={"plan": "basic"}, headers=member.auth)
    api.advance(days=31)

    again = api.client.post(
        "/v1/me/purchases", json={"pack": "pack_5"}, headers=_keyed(member, "b1")
    )

    _assert_same(first, again)
    charges = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription", "pack"]


def test_a_plan_change_retried_a_cycle_later_answers_its_first_200(api: Api) -> None:
    member = api.member("premium_business")
    body = {"plan": "recruiter"}
    first = api.client.put("/v1/me/subscription", json=body, headers=_keyed(member, "up-1"))
    assert (first.status_code, first.json()["plan"]) == (200, "recruiter")
    api.advance(days=40)

    again = api.client.put("/v1/me/subscription", json=body, headers=_keyed(member, "up-1"))

    _assert_same(first, again)
    kinds = [
        c["kind"] for c in api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
    ]
    assert kinds.count("proration") == 1


# ---- free writes get keys too, so a retried message is never posted twice


def _connect(api: Api, a: Member, b: Member) -> None:
    made = api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert made.is_success


def _twice(api: Api, member: Member, path: str, body: dict[str, Any], key: str) -> Any:
    first = api.client.post(path, json=body, headers=_keyed(member, key))
    assert first.status_code == 201, first.text
    _assert_same(first, api.client.post(path, json=body, headers=_keyed(member, key)))
    reused = api.client.post(
        path, json={**body, "body": "other", "note": "other"}, headers=_keyed(member, key)
    )
    assert reused.status_code == 422
    return first.json()


def test_a_retried_message_to_a_connection_is_posted_once(api: Api) -> None:
    a, b = api.member("basic"), api.member("basic")
    _connect(api, a, b)
    sent = _twice(api, a, "/v1/messages", {"to": b.id, "body": "Lunch?"}, "m-1")
    assert _messages(api, a, sent["thread_id"]) == [("message", "Lunch?")]


def test_a_retried_message_in_an_open_thread_is_posted_once(api: Api) -> None:
    a, b = api.member("basic"), api.member("basic")
    _connect(api, a, b)
    thread_id = api.client.post(
        "/v1/messages", json={"to": b.id, "body": "hi"}, headers=a.auth
    ).json()["thread_id"]
    _twice(api, b, f"/v1/threads/{thread_id}/messages", {"body": "hello"}, "r-1")
    assert _messages(api, a, thread_id) == [("message", "hi"), ("message", "hello")]


def test_a_retried_group_message_is_posted_once_and_counts_once(api: Api) -> None:
    a, b = api.member("basic"), api.member("basic")
    group = api.client.post("/v1/groups", json={"name": "Rust"}, headers=a.auth).json()
    api.client.post(f"/v1/groups/{group['id']}/join", headers=b.auth)
    path = f"/v1/groups/{group['id']}/messages"
    sent = _twice(api, a, path, {"to": b.id, "body": "hi"}, "g-1")
    assert _messages(api, a, sent["thread_id"]) == [("message", "hi")]


def test_retried_posts_comments_and_groups_are_created_once(api: Api) -> None:
    member = api.member("basic")
    post = _twice(api, member, "/v1/posts", {"body": "Hiring!"}, "p-1")
    _twice(api, member, f"/v1/posts/{post['id']}/comments", {"body": "Remote ok"}, "c-1")
    feed = api.client.get("/v1/feed", headers=member.auth).json()["items"]
    assert [p["body"] for p in feed] == ["Hiring!"]
    first = api.client.post("/v1/groups", json={"name": "Go"}, headers=_keyed(member, "grp-1"))
    again = api.client.post("/v1/groups", json={"name": "Go"}, headers=_keyed(member, "grp-1"))
    _assert_same(first, again)


def test_retried_introductions_invitations_and_forwards_happen_once(api: Api) -> None:
    requester, via, target = api.member("basic"), api.member("basic"), api.member("basic")
    _connect(api, requester, via)
    _connect(api, via, target)
    body = {"target": target.id, "via": via.id, "note": "Please introduce us"}
    intro = _twice(api, requester, "/v1/introductions", body, "i-1")
    forward = f"/v1/introductions/{intro['id']}/forward"
    first = api.client.post(forward, json={"note": "Meet"}, headers=_keyed(via, "f-1"))
    again = api.client.post(forward, json={"note": "Meet"}, headers=_keyed(via, "f-1"))
    _assert_same(first, again)
    assert first.json()["status"] == "forwarded"
    stranger = api.member("basic")
    invitation = {"to": stranger.id, "note": "Let's connect"}
    first = api.client.post("/v1/invitations", json=invitation, headers=_keyed(requester, "inv-1"))
    again = api.client.post("/v1/invitations", json=invitation, headers=_keyed(requester, "inv-1"))
    _assert_same(first, again)


def test_a_retried_member_creation_answers_the_first_201_not_handle_taken(api: Api) -> None:
    body = {"handle": "grace", "name": "Grace Hopper", "plan": "premium_business"}
    headers = {**api.admin, "Idempotency-Key": "new-grace"}
    first = api.client.post("/v1/admin/members", json=body, headers=headers)
    again = api.client.post("/v1/admin/members", json=body, headers=headers)
    _assert_same(first, again)
    assert first.status_code == 201
    plain = api.client.post("/v1/admin/members", json=body, headers=api.admin)
    assert (plain.status_code, plain.json()["code"]) == (409, "handle-taken")
