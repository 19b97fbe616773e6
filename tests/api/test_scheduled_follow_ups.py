"""Scheduled follow-ups through HTTP (issue 10 §7), on SQLite and PostgreSQL.

A send may schedule one follow-up; it goes out by itself when due, on the sender's
next request here (no worker runs in these tests), charged then (SPEC §5); a reply,
a decline, the sender or a follow-up by hand cancels it; a refusal fails it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.services.credits import adjust_credits
from tests.api.conftest import ADMIN_TOKEN, Api, Member
from tests.conftest import T0

BODY = "Just checking in: would a short call next week work?"


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[Api, Runtime]]:
    """The API (test clock at T0), and its runtime for what HTTP cannot do (a debit)."""
    settings = Settings(database_url=db_url, admin_token=ADMIN_TOKEN, test_clock=T0)
    runtime = build(settings)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield Api(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"}), runtime


@pytest.fixture
def api(served: tuple[Api, Runtime]) -> Api:
    return served[0]


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _send(api: Api, sender: Member, to: Member, follow_up: Any = None, **headers: str) -> Any:
    body: dict[str, Any] = {"to": to.id, "subject": "Hello", "body": "About the role?"}
    if follow_up is not None:
        body["follow_up"] = follow_up
    return api.client.post("/v1/inmails", json=body, headers={**sender.auth, **headers})


def _scheduled(api: Api, sender: Member, to: Member, days: int = 7) -> dict[str, Any]:
    sent = _send(api, sender, to, {"after_days": days, "body": BODY})
    assert sent.status_code == 201, sent.text
    body: dict[str, Any] = sent.json()
    return body


def _schedule(api: Api, member: Member, schedule_id: str) -> dict[str, Any]:
    found = api.client.get(f"/v1/me/scheduled-follow-ups/{schedule_id}", headers=member.auth)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


def _balance(api: Api, member: Member) -> int:
    credits: int = api.client.get("/v1/me/credits", headers=member.auth).json()["balance"]
    return credits


def _spends(api: Api, member: Member) -> list[str]:
    items = api.client.get("/v1/me/credits/ledger?limit=200", headers=member.auth).json()["items"]
    return [e["reference"] for e in items if e["kind"] == "spend"]


def _thread(api: Api, member: Member, thread_id: str) -> dict[str, Any]:
    found = api.client.get(f"/v1/threads/{thread_id}", headers=member.auth)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


def _notes(api: Api, member: Member) -> list[tuple[str, str]]:
    items = api.client.get("/v1/me/notifications", headers=member.auth).json()["items"]
    return [(n["kind"], n["text"]) for n in items]


def _audit_clean(api: Api) -> None:
    assert api.client.get("/v1/admin/audit", headers=api.admin).json() == {
        "ok": True,
        "problems": [],
    }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- scheduling --------------------------------------------------------------------------


def test_a_send_schedules_a_follow_up_that_only_its_sender_sees(api: Api) -> None:
    sender, recipient, stranger = api.member(), api.member("basic"), api.member()
    sent = _scheduled(api, sender, recipient, days=9)
    ref = sent["scheduled_follow_up"]
    assert _time(ref["due_at"]) == T0 + timedelta(days=9)
    assert (sent["cost_credits"], sent["balance_after"]) == (1, 24)  # the follow-up: later
    schedule = _schedule(api, sender, ref["id"])
    assert {k: schedule[k] for k in ("thread_id", "recipient", "after_days", "body")} == {
        "thread_id": sent["thread_id"],
        "recipient": recipient.id,
        "after_days": 9,
        "body": BODY,
    }
    assert (schedule["status"], schedule["reason_code"], schedule["message_id"]) == (
        "pending",
        None,
        None,
    )
    assert _thread(api, sender, sent["thread_id"])["scheduled_follow_up"] == schedule
    assert _thread(api, recipient, sent["thread_id"])["scheduled_follow_up"] is None
    listed = api.client.get("/v1/me/scheduled-follow-ups", headers=sender.auth).json()
    assert listed == {"items": [schedule], "next_cursor": None}
    for other in (recipient, stranger):
        path = f"/v1/me/scheduled-follow-ups/{ref['id']}"
        _problem(api.client.get(path, headers=other.auth), 404, "not-found")
        _problem(api.client.delete(path, headers=other.auth), 404, "not-found")
        assert api.client.get("/v1/me/scheduled-follow-ups", headers=other.auth).json() == {
            "items": [],
            "next_cursor": None,
        }


def test_a_send_without_a_follow_up_schedules_none(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _send(api, sender, recipient)
    assert sent.status_code == 201
    assert sent.json()["scheduled_follow_up"] is None
    assert _thread(api, sender, sent.json()["thread_id"])["scheduled_follow_up"] is None


@pytest.mark.parametrize(
    ("follow_up", "field", "words"),
    [
        ({"after_days": 6, "body": BODY}, "follow_up.after_days", "from 7 to 28 days"),
        ({"after_days": 29, "body": BODY}, "follow_up.after_days", "from 7 to 28 days"),
        ({"after_days": -1, "body": BODY}, "follow_up.after_days", "greater than or equal"),
        ({"after_days": "7", "body": BODY}, "follow_up.after_days", "valid integer"),
        ({"after_days": 7}, "follow_up.body", "body or from template_id"),
        ({"after_days": 7, "body": " "}, "follow_up.body", ""),
        ({"after_days": 7, "body": "x" * 2001}, "follow_up.body", "2000"),
        ({"after_days": 7, "body": BODY, "template_id": "tpl_1"}, "follow_up.body", "one of"),
        ({"after_days": 7, "body": BODY, "when": "later"}, "follow_up.when", "Extra inputs"),
        ({"after_days": 7, "body": None}, "follow_up.body", "null"),
    ],
)
def test_a_follow_up_outside_the_rules_is_refused_naming_the_field_and_nothing_is_sent(
    api: Api, follow_up: dict[str, Any], field: str, words: str
) -> None:
    sender, recipient = api.member(), api.member("basic")
    refused = _problem(_send(api, sender, recipient, follow_up), 422, "validation-error")
    assert refused["field"] == field
    assert words in refused["detail"]
    assert _balance(api, sender) == 25
    assert api.client.get("/v1/threads", headers=sender.auth).json()["items"] == []


def test_the_longest_schedule_is_a_setting(db_url: str) -> None:
    settings = Settings(
        database_url=db_url, admin_token=ADMIN_TOKEN, test_clock=T0, follow_up_max_days=10
    )
    with TestClient(create_app(runtime=build(settings))) as client:
        api = Api(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        sender, recipient = api.member(), api.member("basic")
        refused = _problem(
            _send(api, sender, recipient, {"after_days": 11, "body": BODY}), 422, "validation-error"
        )
        assert "from 7 to 10 days" in refused["detail"]
        assert _send(api, sender, recipient, {"after_days": 10, "body": BODY}).status_code == 201


def _edit_plan(api: Api, code: str, **terms: int) -> None:
    edited = api.client.put(f"/v1/admin/plans/{code}", json=terms, headers=api.admin)
    assert edited.status_code == 200, edited.text


def test_a_plan_without_follow_ups_cannot_schedule_one(api: Api) -> None:
    _edit_plan(api, "recruiter", max_followups=0)
    sender, recipient = api.member("recruiter"), api.member("basic")  # on the new terms
    refused = _problem(
        _send(api, sender, recipient, {"after_days": 7, "body": BODY}), 422, "validation-error"
    )
    assert refused["field"] == "follow_up"
    assert "allows no follow-ups" in refused["detail"]
    assert _balance(api, sender) == 50


def test_a_plan_whose_wait_is_longer_than_the_longest_schedule_cannot_schedule_one(
    api: Api,
) -> None:
    _edit_plan(api, "recruiter", followup_after_days=30)
    sender, recipient = api.member("recruiter"), api.member("basic")
    refused = _problem(
        _send(api, sender, recipient, {"after_days": 28, "body": BODY}), 422, "validation-error"
    )
    assert refused["field"] == "follow_up.after_days"
    assert "(30 days) is longer than the longest schedule (28 days)" in refused["detail"]


def test_the_range_starts_at_the_plans_own_wait(api: Api) -> None:
    _edit_plan(api, "recruiter", followup_after_days=3)
    sender, recipient = api.member("recruiter"), api.member("basic")
    sent = _scheduled(api, sender, recipient, days=3)
    assert _time(sent["scheduled_follow_up"]["due_at"]) == T0 + timedelta(days=3)


def test_a_retried_send_answers_its_first_schedule_and_a_changed_one_is_a_reused_key(
    api: Api,
) -> None:
    sender, recipient = api.member(), api.member("basic")
    follow_up = {"after_days": 7, "body": BODY}
    first = _send(api, sender, recipient, follow_up, **{"Idempotency-Key": "k1"})
    again = _send(api, sender, recipient, follow_up, **{"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    other = _send(
        api, sender, recipient, {"after_days": 8, "body": BODY}, **{"Idempotency-Key": "k1"}
    )
    _problem(other, 422, "idempotency-key-reused")
    plain = _send(api, sender, recipient, **{"Idempotency-Key": "k1"})
    _problem(plain, 422, "idempotency-key-reused")
    listed = api.client.get("/v1/me/scheduled-follow-ups", headers=sender.auth).json()["items"]
    assert len(listed) == 1
    assert _balance(api, sender) == 24


# --- sent when due -----------------------------------------------------------------------


def test_a_due_follow_up_goes_out_on_the_senders_next_request_charged_once(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    schedule_id = sent["scheduled_follow_up"]["id"]
    api.advance(days=6, seconds=86_399)
    assert _balance(api, sender) == 24  # a second early: nothing yet
    assert _schedule(api, sender, schedule_id)["status"] == "pending"
    api.advance(seconds=1)
    assert _balance(api, sender) == 23  # this request sent it first
    schedule = _schedule(api, sender, schedule_id)
    assert (schedule["status"], schedule["attempts"]) == ("sent", 1)
    thread = _thread(api, sender, sent["thread_id"])
    assert [(m["kind"], m["body"], m["cost_credits"]) for m in thread["messages"]] == [
        ("inmail", "About the role?", 1),
        ("followup", BODY, 1),
    ]
    assert thread["messages"][1]["id"] == schedule["message_id"]
    assert (thread["status"], thread["followups_sent"]) == ("awaiting_response", 1)
    assert _spends(api, sender) == [f"inmail:{sent['id']}", f"inmail:{schedule['message_id']}"]
    assert ("scheduled_follow_up_sent", "Your scheduled follow-up was sent (1 credit spent)") in (
        _notes(api, sender)
    )
    assert [k for k, _ in _notes(api, recipient)] == ["new_inmail", "new_inmail"]
    api.advance(days=30)
    assert _balance(api, sender) == 23 + 25  # the renewal; no second follow-up
    assert len(_thread(api, sender, sent["thread_id"])["messages"]) == 2
    _audit_clean(api)


def test_a_due_follow_up_goes_out_on_any_request_of_the_sender_but_not_of_others(
    api: Api,
) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    api.advance(days=8)
    api.client.get(f"/v1/threads/{sent['thread_id']}", headers=recipient.auth)
    assert len(_thread(api, recipient, sent["thread_id"])["messages"]) == 1
    assert api.client.get("/v1/me", headers=sender.auth).status_code == 200
    assert len(_thread(api, recipient, sent["thread_id"])["messages"]) == 2


def test_a_reply_cancels_the_follow_up_in_its_own_step(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    reply = {"body": "Sure, let us talk."}
    answered = api.client.post(
        f"/v1/threads/{sent['thread_id']}/messages", json=reply, headers=recipient.auth
    )
    assert answered.status_code == 201
    schedule = _schedule(api, sender, sent["scheduled_follow_up"]["id"])
    assert (schedule["status"], schedule["reason_code"]) == ("cancelled", "answered")
    api.advance(days=8)
    assert _balance(api, sender) == 24
    assert len(_thread(api, sender, sent["thread_id"])["messages"]) == 2  # InMail and reply


def test_a_decline_cancels_the_follow_up(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    declined = api.client.post(f"/v1/threads/{sent['thread_id']}/decline", headers=recipient.auth)
    assert declined.status_code == 200
    api.advance(days=8)
    schedule = _schedule(api, sender, sent["scheduled_follow_up"]["id"])
    assert (schedule["status"], schedule["reason_code"]) == ("cancelled", "declined")
    assert _balance(api, sender) == 24


def test_the_sender_cancels_it_until_it_is_sent(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    path = f"/v1/me/scheduled-follow-ups/{sent['scheduled_follow_up']['id']}"
    api.advance(days=6)
    cancelled = api.client.delete(path, headers=sender.auth)
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["reason_code"]) == (
        "cancelled",
        "cancelled-by-sender",
    )
    again = api.client.delete(path, headers=sender.auth)
    assert again.json() == cancelled.json()  # cancelling a cancelled one changes nothing
    api.advance(days=2)
    assert _balance(api, sender) == 24
    assert len(_thread(api, sender, sent["thread_id"])["messages"]) == 1


def test_a_sent_follow_up_cannot_be_cancelled(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    api.advance(days=7)
    path = f"/v1/me/scheduled-follow-ups/{sent['scheduled_follow_up']['id']}"
    refused = _problem(
        api.client.delete(path, headers=sender.auth), 409, "scheduled-follow-up-not-pending"
    )
    assert "a sent InMail cannot be cancelled" in refused["detail"]
    assert _schedule(api, sender, sent["scheduled_follow_up"]["id"])["status"] == "sent"
    assert _balance(api, sender) == 23


def test_a_follow_up_written_by_hand_cancels_the_scheduled_one(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient, days=10)
    api.advance(days=7)
    by_hand = api.client.post(
        f"/v1/threads/{sent['thread_id']}/messages", json={"body": "Any news?"}, headers=sender.auth
    )
    assert by_hand.status_code == 201
    schedule = _schedule(api, sender, sent["scheduled_follow_up"]["id"])
    assert (schedule["status"], schedule["reason_code"]) == ("cancelled", "followed-up-by-hand")
    api.advance(days=3)
    assert _balance(api, sender) == 23
    assert [m["body"] for m in _thread(api, sender, sent["thread_id"])["messages"]] == [
        "About the role?",
        "Any news?",
    ]


def test_refused_for_money_it_fails_tells_the_sender_and_charges_nothing(
    served: tuple[Api, Runtime],
) -> None:
    api, runtime = served
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    api.client.put("/v1/me/settings", json={"auto_overage": False}, headers=sender.auth)
    adjust_credits(runtime.deps, member_id=sender.id, amount=-24, reason="used up", now=T0)
    api.advance(days=7)
    assert _balance(api, sender) == 0
    schedule = _schedule(api, sender, sent["scheduled_follow_up"]["id"])
    assert (schedule["status"], schedule["reason_code"], schedule["message_id"]) == (
        "failed",
        "insufficient-credits",
        None,
    )
    assert "automatic overage is turned off" in schedule["reason"]
    failed = [text for kind, text in _notes(api, sender) if kind == "scheduled_follow_up_failed"]
    assert len(failed) == 1
    assert failed[0].startswith("Your scheduled follow-up was not sent: you have 0 credit(s)")
    assert failed[0].endswith("Nothing was charged.")
    assert _spends(api, sender) == [f"inmail:{sent['id']}"]
    assert len(_thread(api, sender, sent["thread_id"])["messages"]) == 1
    _problem(
        api.client.delete(f"/v1/me/scheduled-follow-ups/{schedule['id']}", headers=sender.auth),
        409,
        "scheduled-follow-up-not-pending",
    )
    _audit_clean(api)


def test_with_overage_on_it_is_billed_as_a_send_would_be(served: tuple[Api, Runtime]) -> None:
    api, runtime = served
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    adjust_credits(runtime.deps, member_id=sender.id, amount=-24, reason="used up", now=T0)
    api.advance(days=7)
    assert _schedule(api, sender, sent["scheduled_follow_up"]["id"])["status"] == "sent"
    charges = api.client.get("/v1/me/charges", headers=sender.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription", "overage"]
    assert _balance(api, sender) == 0


def test_a_recipient_who_turned_inmail_off_fails_it_with_the_reason(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    sent = _scheduled(api, sender, recipient)
    api.client.put("/v1/me/settings", json={"inmail_open": False}, headers=recipient.auth)
    api.advance(days=7)
    schedule = _schedule(api, sender, sent["scheduled_follow_up"]["id"])
    assert (schedule["status"], schedule["reason_code"]) == (
        "failed",
        "recipient-not-accepting-inmail",
    )
    assert _balance(api, sender) == 24


# --- the list ----------------------------------------------------------------------------


def test_the_list_pages_soonest_due_first_and_filters_by_status(api: Api) -> None:
    sender = api.member()
    recipients = [api.member("basic") for _ in range(5)]
    made = [
        _scheduled(api, sender, r, days=7 + i)["scheduled_follow_up"]
        for i, r in enumerate(recipients)
    ]
    api.client.delete(f"/v1/me/scheduled-follow-ups/{made[1]['id']}", headers=sender.auth)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/me/scheduled-follow-ups", params=params, headers=sender.auth)
        assert page.status_code == 200
        seen += [s["id"] for s in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [m["id"] for m in made]
    pending = api.client.get(
        "/v1/me/scheduled-follow-ups?status=pending", headers=sender.auth
    ).json()["items"]
    assert [s["id"] for s in pending] == [m["id"] for i, m in enumerate(made) if i != 1]
    _problem(
        api.client.get("/v1/me/scheduled-follow-ups?status=done", headers=sender.auth),
        422,
        "validation-error",
    )
    _problem(
        api.client.get("/v1/me/scheduled-follow-ups?cursor=bm9wZQ", headers=sender.auth),
        422,
        "validation-error",
    )


def test_a_follow_up_from_a_template_is_rendered_for_the_recipient_when_scheduled(
    api: Api,
) -> None:
    sender, recipient = api.member(), api.member("basic")
    template = api.client.post(
        "/v1/me/templates",
        json={"name": "Nudge", "subject": "Hi", "body": "{first_name|Hello}, any thoughts?"},
        headers=sender.auth,
    )
    assert template.status_code == 201, template.text
    follow_up = {"after_days": 7, "template_id": template.json()["id"]}
    sent = _send(api, sender, recipient, follow_up)
    assert sent.status_code == 201, sent.text
    scheduled = _thread(api, sender, sent.json()["thread_id"])["scheduled_follow_up"]
    first_name = api.client.get(f"/v1/members/{recipient.id}", headers=sender.auth).json()
    assert scheduled["body"] == f"{first_name['name'].split()[0]}, any thoughts?"


def test_a_follow_up_from_someone_elses_or_no_template_is_not_found_and_nothing_is_sent(
    api: Api,
) -> None:
    sender, recipient = api.member(), api.member("basic")
    refused = _send(api, sender, recipient, {"after_days": 7, "template_id": "tpl_nope"})
    _problem(refused, 404, "not-found")
    assert _balance(api, sender) == 25
    assert api.client.get("/v1/threads", headers=sender.auth).json()["items"] == []
