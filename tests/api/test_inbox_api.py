"""The inbox through HTTP (issue 11, "Inbox and threads"): boxes with subject, snippet and
unread state, cursor pages, archiving (and back on a new message), unread counts, read
notifications that say who, declines with a reason counted in the sender's stats."""

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


_made = iter(range(1, 10_000))


def _created(api: Api, name: str, plan: str) -> Member:
    handle = f"inbox{next(_made)}"
    body = {"handle": handle, "name": name, "plan": plan}
    created = api.client.post("/v1/admin/members", json=body, headers=api.admin)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    token = api.client.post(f"/v1/admin/members/{member_id}/tokens", headers=api.admin)
    return Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})


def _send(api: Api, sender: Member, to: Member, subject: str = "A role", body: str = "Hi") -> str:
    sent = api.client.post(
        "/v1/inmails", json={"to": to.id, "subject": subject, "body": body}, headers=sender.auth
    )
    assert sent.status_code == 201, sent.text
    thread_id: str = sent.json()["thread_id"]
    return thread_id


def _box(api: Api, member: Member, box: str, **query: Any) -> dict[str, Any]:
    listed = api.client.get("/v1/threads", params={"box": box, **query}, headers=member.auth)
    assert listed.status_code == 200, listed.text
    page: dict[str, Any] = listed.json()
    return page


def _unread(api: Api, member: Member) -> dict[str, int]:
    counts: dict[str, int] = api.client.get("/v1/me/unread", headers=member.auth).json()
    return counts


def test_the_inbox_shows_subject_snippet_and_unread_until_the_thread_is_read(api: Api) -> None:
    ada, bob = _created(api, "Ada Lovelace", "premium_business"), api.member("basic")
    thread_id = _send(api, ada, bob, "Analytical engines", "Hello Bob,\nwould you talk?")

    inbox = _box(api, bob, "inbox")["items"]
    assert [(t["id"], t["subject"], t["unread"], t["archived"]) for t in inbox] == [
        (thread_id, "Analytical engines", True, False)
    ]
    assert inbox[0]["last_message"]["snippet"] == "Hello Bob,\nwould you talk?"
    assert _unread(api, bob) == {"threads": 1, "notifications": 1}
    assert _box(api, ada, "inbox")["items"] == []  # nothing from Bob yet
    assert [t["unread"] for t in _box(api, ada, "sent")["items"]] == [False]

    read = api.client.post(f"/v1/threads/{thread_id}/read", headers=bob.auth)
    assert read.status_code == 200
    assert read.json()["opened_at"] is not None
    assert [t["unread"] for t in _box(api, bob, "inbox")["items"]] == [False]
    # Reading the thread reads its notification too.
    assert _unread(api, bob) == {"threads": 0, "notifications": 0}

    api.client.post(f"/v1/threads/{thread_id}/messages", json={"body": "Yes!"}, headers=bob.auth)
    assert [t["unread"] for t in _box(api, ada, "inbox")["items"]] == [True]
    assert api.client.get(f"/v1/threads/{thread_id}", headers=ada.auth).json()["unread"] is True
    sender_read = api.client.post(f"/v1/threads/{thread_id}/read", headers=ada.auth)
    assert sender_read.status_code == 200  # the sender marks it read; the receipt stays Bob's
    assert sender_read.json()["opened_at"] == read.json()["opened_at"]
    assert _unread(api, ada)["threads"] == 0


def test_awaiting_lists_only_the_senders_unanswered_inmails(api: Api) -> None:
    ada, bob, cat = api.member(), api.member("basic"), api.member("basic")
    waiting = _send(api, ada, bob)
    answered = _send(api, ada, cat)
    api.client.post(f"/v1/threads/{answered}/messages", json={"body": "Hi"}, headers=cat.auth)
    assert [t["id"] for t in _box(api, ada, "awaiting")["items"]] == [waiting]
    assert _box(api, bob, "awaiting")["items"] == []  # the recipient awaits nothing


def test_archiving_hides_a_thread_until_a_new_message_brings_it_back(api: Api) -> None:
    ada, bob = api.member(), api.member("basic")
    thread_id = _send(api, ada, bob)
    archived = api.client.post(f"/v1/threads/{thread_id}/archive", headers=bob.auth)
    assert archived.json() == {"thread_id": thread_id, "archived": True}
    assert _box(api, bob, "inbox")["items"] == []
    assert [t["id"] for t in _box(api, bob, "archived")["items"]] == [thread_id]
    assert [t["id"] for t in _box(api, ada, "sent")["items"]] == [thread_id]  # Ada's is hers
    assert _unread(api, bob)["threads"] == 0  # an archived thread does not count

    api.advance(days=8)
    followed = api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "Any news?"}, headers=ada.auth
    )
    assert followed.status_code == 201, followed.text
    assert [(t["id"], t["unread"]) for t in _box(api, bob, "inbox")["items"]] == [(thread_id, True)]
    assert _box(api, bob, "archived")["items"] == []

    api.client.post(f"/v1/threads/{thread_id}/archive", headers=bob.auth)
    back = api.client.post(f"/v1/threads/{thread_id}/unarchive", headers=bob.auth)
    assert back.json() == {"thread_id": thread_id, "archived": False}
    assert [t["id"] for t in _box(api, bob, "inbox")["items"]] == [thread_id]


def test_archiving_someone_elses_thread_is_not_found(api: Api) -> None:
    ada, bob, eve = api.member(), api.member("basic"), api.member("basic")
    thread_id = _send(api, ada, bob)
    _problem(
        api.client.post(f"/v1/threads/{thread_id}/archive", headers=eve.auth), 404, "not-found"
    )
    _problem(api.client.post("/v1/threads/th_nobody/unarchive", headers=bob.auth), 404, "not-found")
    assert [t["id"] for t in _box(api, bob, "inbox")["items"]] == [thread_id]


def test_boxes_page_with_a_cursor_newest_first(api: Api) -> None:
    ada = api.member()
    recipients = [api.member("basic") for _ in range(5)]
    sent = []
    for recipient in recipients:
        sent.append(_send(api, ada, recipient))
        api.advance(seconds=60)
    first = _box(api, ada, "sent", limit=2)
    second = _box(api, ada, "sent", limit=2, cursor=first["next_cursor"])
    third = _box(api, ada, "sent", limit=2, cursor=second["next_cursor"])
    shown = [t["id"] for page in (first, second, third) for t in page["items"]]
    assert shown == list(reversed(sent))
    assert third["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [({"box": "spam"}, "box"), ({"box": "inbox", "cursor": "bm90LWEtY3Vyc29y"}, "cursor")],
)
def test_a_bad_box_or_cursor_is_a_clear_422(api: Api, query: dict[str, str], field: str) -> None:
    ada = api.member()
    answer = api.client.get("/v1/threads", params=query, headers=ada.auth)
    body = _problem(answer, 422, "validation-error")
    assert field in answer.text, body


def test_notifications_say_who_and_what_and_can_be_marked_read(api: Api) -> None:
    ada, bob = _created(api, "Ada Lovelace", "premium_business"), api.member("basic")
    first = _send(api, ada, bob, "Analytical engines")
    cat = _created(api, "Cat Herschel", "premium_business")
    _send(api, cat, bob, "Comets")

    items = api.client.get("/v1/me/notifications", headers=bob.auth).json()["items"]
    assert [(n["text"], n["read_at"], n["actor"]) for n in items] == [
        ("New InMail from Cat Herschel: Comets", None, cat.id),
        ("New InMail from Ada Lovelace: Analytical engines", None, ada.id),
    ]
    assert items[1]["reference"] == f"thread:{first}"

    one = api.client.post(f"/v1/me/notifications/{items[1]['id']}/read", headers=bob.auth)
    assert one.status_code == 200
    assert one.json()["id"] == items[1]["id"]
    assert _unread(api, bob)["notifications"] == 1
    everything = api.client.post("/v1/me/notifications/read", headers=bob.auth)
    assert everything.json() == {"marked": 1}
    again = api.client.get("/v1/me/notifications", headers=bob.auth).json()["items"]
    assert all(n["read_at"] is not None for n in again)
    assert _unread(api, bob)["notifications"] == 0


def test_marking_another_members_notification_read_is_not_found(api: Api) -> None:
    ada, bob, eve = api.member(), api.member("basic"), api.member("basic")
    _send(api, ada, bob)
    notice = api.client.get("/v1/me/notifications", headers=bob.auth).json()["items"][0]
    path = f"/v1/me/notifications/{notice['id']}/read"
    _problem(api.client.post(path, headers=eve.auth), 404, "not-found")
    _problem(api.client.post("/v1/me/notifications/abc/read", headers=bob.auth), 404, "not-found")
    items = api.client.get("/v1/me/notifications", headers=bob.auth).json()["items"]
    assert items[0]["read_at"] is None


def test_a_decline_with_a_reason_is_stored_told_and_counted(api: Api) -> None:
    ada = api.member()
    bob, cat, dan = (_created(api, n, "basic") for n in ("Bob Babbage", "Cat H", "Dan D"))
    for recipient, reason in ((bob, "not_now"), (cat, "wrong_person")):
        thread_id = _send(api, ada, recipient)
        declined = api.client.post(
            f"/v1/threads/{thread_id}/decline", json={"reason": reason}, headers=recipient.auth
        )
        assert declined.json() == {"status": "declined", "reason": reason}
        thread = api.client.get(f"/v1/threads/{thread_id}", headers=ada.auth).json()
        assert (thread["status"], thread["decline_reason"]) == ("declined", reason)
    plain = _send(api, ada, dan)
    assert api.client.post(f"/v1/threads/{plain}/decline", headers=dan.auth).status_code == 200

    stats = api.client.get("/v1/me/stats", headers=ada.auth).json()
    assert stats["declined"] == 3
    assert stats["declines_by_reason"] == {
        "not_interested": 0,
        "not_now": 1,
        "wrong_person": 1,
        "not_given": 1,
    }
    texts = [
        n["text"] for n in api.client.get("/v1/me/notifications", headers=ada.auth).json()["items"]
    ]
    assert "Bob Babbage declined your InMail (not now)" in texts
    assert "Dan D declined your InMail" in texts


def test_a_decline_with_an_unknown_reason_is_refused_and_changes_nothing(api: Api) -> None:
    ada, bob = api.member(), api.member("basic")
    thread_id = _send(api, ada, bob)
    refused = api.client.post(
        f"/v1/threads/{thread_id}/decline", json={"reason": "rude"}, headers=bob.auth
    )
    _problem(refused, 422, "validation-error")
    thread = api.client.get(f"/v1/threads/{thread_id}", headers=bob.auth).json()
    assert (thread["status"], thread["decline_reason"]) == ("awaiting_response", None)


def test_a_too_early_follow_up_names_the_day_not_a_timestamp(api: Api) -> None:
    ada, bob = api.member(), api.member("basic")
    thread_id = _send(api, ada, bob)
    early = api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "Any news?"}, headers=ada.auth
    )
    body = _problem(early, 409, "follow-up-too-early")
    # T0 is 2026-01-31 09:00 UTC; the week is over on Sat 7 Feb 2026 at 09:00 UTC.
    assert body["detail"] == (
        "a follow-up is possible from Sat 7 Feb 2026, 09:00 UTC (7 days without a response)"
    )
