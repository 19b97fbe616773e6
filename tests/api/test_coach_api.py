"""POST /v1/coach through HTTP on each engine: the tips about the recipient, and bad input."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from tests.api.conftest import ADMIN_TOKEN, Api, Member
from tests.conftest import T0

_handles = itertools.count(1)
GOOD_BODY = "I'm writing because of your talk on engines. Would you have 15 minutes next week?"


def _person(api: Api, name: str, plan: str = "premium_business", **profile: Any) -> Member:
    handle = f"coached{next(_handles)}"
    body = {"handle": handle, "name": name, "plan": plan, **profile}
    created = api.client.post("/v1/admin/members", json=body, headers=api.admin)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    token = api.client.post(f"/v1/admin/members/{member_id}/tokens", headers=api.admin)
    return Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})


def _coach(api: Api, who: Member, **draft: Any) -> list[dict[str, Any]]:
    answer = api.client.post(
        "/v1/coach", json={"subject": "", "body": "", **draft}, headers=who.auth
    )
    assert answer.status_code == 200, answer.text
    tips: list[dict[str, Any]] = answer.json()["tips"]
    return tips


def _tip(tips: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    found = [t for t in tips if t["code"] == code]
    assert len(found) <= 1
    return found[0] if found else None


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _connect(api: Api, a: Member, b: Member) -> None:
    made = api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert made.status_code == 201, made.text


# --- The recipient's name ------------------------------------------------------------------


def test_the_recipients_name_missing_is_said_only_when_a_recipient_is_named(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    draft = {"subject": "Engines", "body": "Hello, " + GOOD_BODY}
    tip = _tip(_coach(api, me, to=ada.id, **draft), "name-missing")
    assert tip is not None
    assert tip["severity"] == "suggestion"
    assert tip["text"].startswith("Ada Lovelace's name is not in your message. Greet them")
    assert tip["span"] is None
    assert _tip(_coach(api, me, **draft), "name-missing") is None  # no `to`: no name to miss
    named = {"subject": "Engines", "body": "Hi Ada, " + GOOD_BODY}
    assert _coach(api, me, to=ada.id, **named) == []


def test_what_the_two_have_in_common_is_named_when_no_reason_is_given(api: Api) -> None:
    me = _person(api, "Grace Hopper", school="Vassar", company="Navy", interests=["Compilers"])
    ada = _person(
        api, "Ada Lovelace", school="VASSAR", company="Babbage & Co", interests=["compilers"]
    )
    tips = _coach(api, me, to=ada.id, subject="Engines", body="Hi Ada, I have a job. A call?")
    tip = _tip(tips, "no-reason")
    assert tip is not None
    assert (
        "You have things in common you could name: VASSAR and an interest in compilers"
        in (tip["text"])
    )
    mentioned = _coach(api, me, to=ada.id, subject="Engines", body="Hi Ada, Vassar here. A call?")
    assert _tip(mentioned, "no-reason") is None


# --- Free routes ---------------------------------------------------------------------------


def test_a_connection_is_reachable_for_free(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace", plan="basic")
    _connect(api, me, ada)
    tip = _tip(_coach(api, me, to=ada.id), "free-route")
    assert tip is not None
    assert tip["severity"] == "warning"
    assert tip["text"].startswith("You are connected with Ada: a message to a connection is free")


def test_a_group_peer_is_reachable_for_free_and_the_group_is_named(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace", plan="basic")
    made = api.client.post("/v1/groups", json={"name": "Analytical Engines"}, headers=me.auth)
    api.client.post(f"/v1/groups/{made.json()['id']}/join", headers=ada.auth)
    tip = _tip(_coach(api, me, to=ada.id), "free-route")
    assert tip is not None
    assert (
        "You and Ada are both in the group “Analytical Engines”: a group message is free"
        in (tip["text"])
    )


def test_an_open_profile_makes_the_inmail_free(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper", plan="basic"), _person(api, "Ada Lovelace")
    api.client.put("/v1/me/settings", json={"open_profile": True}, headers=ada.auth)
    tips = _coach(api, me, to=ada.id)
    assert tips == [
        {
            "code": "free-route",
            "severity": "info",
            "text": "Ada's profile is open: an InMail to them costs no credit.",
            "span": None,
        }
    ]


def test_a_mutual_connection_is_offered_for_a_free_introduction(api: Api) -> None:
    me, bob = _person(api, "Grace Hopper"), _person(api, "Bob Middle", plan="basic")
    ada = _person(api, "Ada Lovelace", plan="basic")
    _connect(api, me, bob)
    _connect(api, bob, ada)
    tip = _tip(_coach(api, me, to=ada.id), "free-route")
    assert tip is not None
    assert tip["severity"] == "suggestion"
    assert tip["text"].startswith("Bob Middle knows both you and Ada: ask for an introduction")


def test_an_inmail_the_recipient_does_not_accept_is_said_to_be_refused(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    api.client.put("/v1/me/settings", json={"inmail_open": False}, headers=ada.auth)
    tip = _tip(_coach(api, me, to=ada.id), "inmail-refused")
    assert tip is not None
    assert tip["text"] == "This InMail cannot be sent: this member does not accept InMail from you."


# --- An InMail awaiting a response ---------------------------------------------------------


def test_an_inmail_awaiting_a_response_suggests_a_follow_up_and_when(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace", plan="basic")
    sent = api.client.post(
        "/v1/inmails", json={"to": ada.id, "subject": "Hi", "body": "Hi Ada"}, headers=me.auth
    )
    assert sent.status_code == 201, sent.text
    thread = sent.json()["thread_id"]
    tip = _tip(_coach(api, me, to=ada.id), "awaiting-response")
    assert tip is not None
    assert tip["severity"] == "warning"
    assert tip["text"].startswith(
        f"Your InMail of 2026-01-31 09:00 UTC to Ada Lovelace (thread {thread}) is still "
        "awaiting a response, so a new InMail to them would be refused."
    )
    assert "a follow-up in that thread is possible from 2026-02-07 09:00 UTC" in tip["text"]

    api.advance(days=7)
    tip = _tip(_coach(api, me, to=ada.id), "awaiting-response")
    assert tip is not None
    assert "Write a follow-up in that thread instead: it is possible now" in tip["text"]

    followed = api.client.post(
        f"/v1/threads/{thread}/messages", json={"body": "Ada, a reminder?"}, headers=me.auth
    )
    assert followed.status_code == 201, followed.text
    tip = _tip(_coach(api, me, to=ada.id), "awaiting-response")
    assert tip is not None
    assert "Your plan allows no further follow-up in that thread" in tip["text"]

    api.client.post(f"/v1/threads/{thread}/decline", headers=ada.auth)
    assert _tip(_coach(api, me, to=ada.id), "awaiting-response") is None
    # Only the sender's own InMail counts: Ada has none awaiting from Grace's side.
    assert _tip(_coach(api, ada, to=me.id), "awaiting-response") is None


# --- The draft's text ----------------------------------------------------------------------


def test_tips_point_at_their_text_and_come_most_severe_first(api: Api) -> None:
    me = _person(api, "Grace Hopper")
    body = "Dear Sir or Madam,\nhello {first_name}."
    tips = _coach(api, me, subject="URGENT OPPORTUNITY", body=body)
    assert [t["code"] for t in tips] == [
        "placeholder-left",
        "no-reason",
        "no-question",
        "generic-opening",
        "subject-capitals",
    ]
    assert tips[0]["span"] == {"field": "body", "start": 25, "end": 37}
    assert body[25:37] == "{first_name}"
    assert tips[3]["span"] == {"field": "body", "start": 0, "end": 17}
    assert tips[4]["span"] == {"field": "subject", "start": 0, "end": 18}


def test_an_empty_draft_is_checked_and_nothing_is_written_or_charged(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    before = api.client.get("/v1/me/credits", headers=me.auth).json()["balance"]
    assert _coach(api, me) == []
    assert _coach(api, me, to=ada.id) == []
    _coach(api, me, to=ada.id, subject="x" * 200, body="y " * 1000)
    assert api.client.get("/v1/me/credits", headers=me.auth).json()["balance"] == before
    assert api.client.get("/v1/threads", headers=me.auth).json()["items"] == []
    assert api.client.get("/v1/me/notifications", headers=ada.auth).json()["items"] == []


# --- Bad input -----------------------------------------------------------------------------


def test_an_unknown_recipient_is_404_and_yourself_422(api: Api) -> None:
    me = _person(api, "Grace Hopper")
    unknown = {"to": "m_nobody", "subject": "", "body": ""}
    body = _problem(api.client.post("/v1/coach", json=unknown, headers=me.auth), 404, "not-found")
    assert body["detail"] == "there is no member 'm_nobody'"
    yourself = {"to": me.id, "subject": "", "body": ""}
    body = _problem(
        api.client.post("/v1/coach", json=yourself, headers=me.auth), 422, "validation-error"
    )
    assert body["field"] == "to"


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        ({"subject": "x" * 201, "body": ""}, "subject"),
        ({"subject": "", "body": "x" * 2001}, "body"),
        ({"subject": "a\nb", "body": ""}, "subject"),
        ({"subject": "", "body": "a\x00b"}, "body"),
        ({"subject": "", "body": "  \n "}, "body"),
        ({"subject": None, "body": ""}, "subject"),
        ({"body": ""}, "subject"),
        ({"subject": ""}, "body"),
        ({"subject": "", "body": 5}, "body"),
        ({"subject": "", "body": "", "to": None}, "to"),
        ({"subject": "", "body": "", "to": "not an id"}, "to"),
        ({"subject": "", "body": "", "tone": "friendly"}, "tone"),
    ],
)
def test_bad_drafts_are_422_naming_the_field(api: Api, draft: dict[str, Any], field: str) -> None:
    me = _person(api, "Grace Hopper")
    body = _problem(
        api.client.post("/v1/coach", json=draft, headers=me.auth), 422, "validation-error"
    )
    assert body["field"] == field


def test_the_coach_needs_a_member_token(api: Api) -> None:
    draft = {"subject": "", "body": ""}
    _problem(api.client.post("/v1/coach", json=draft), 401, "unauthorized")
    _problem(api.client.post("/v1/coach", json=draft, headers=api.admin), 403, "forbidden")


# --- Thresholds per deployment -------------------------------------------------------------


@pytest.fixture
def strict_api(db_url: str) -> Iterator[Api]:
    settings = Settings(
        database_url=db_url,
        admin_token=ADMIN_TOKEN,
        test_clock=T0,
        coach_long_message_words=5,
        coach_subject_max_chars=10,
        coach_max_links=0,
    )
    with TestClient(create_app(runtime=build(settings))) as client:
        yield Api(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})


def test_the_thresholds_are_the_deployments_settings(strict_api: Api) -> None:
    me = _person(strict_api, "Grace Hopper")
    draft = {"subject": "A subject of 25 characters", "body": "See https://a.example, " + GOOD_BODY}
    tips = {t["code"]: t for t in _coach(strict_api, me, **draft)}
    assert tips["message-long"]["text"].startswith("Your message is 17 words; aim for 5 or fewer.")
    assert tips["subject-long"]["span"] == {"field": "subject", "start": 10, "end": 26}
    assert tips["many-links"]["text"].startswith("Your message has 1 link. Keep links for the")
