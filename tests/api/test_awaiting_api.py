"""One InMail awaiting a response per sender and recipient (SPEC §4, issue 10 §5), over HTTP.

A second InMail to someone who has not answered the first is refused with 409
``inmail-already-awaiting-response``, charging and writing nothing; the problem names the
thread and when a follow-up there becomes possible. A reply or a decline ends the wait.
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, Member

FOLLOW_UP_AT = "2026-02-07T09:00:00Z"  # the test clock's T0 (Jan 31 09:00) + 7 days


def _send(api: Api, sender: Member, to: Member, key: str | None = None, **extra: Any) -> Any:
    body = {"to": to.id, "subject": "Hello", "body": "Would you talk about the role?", **extra}
    headers = sender.auth if key is None else {**sender.auth, "Idempotency-Key": key}
    return api.client.post("/v1/inmails", json=body, headers=headers)


def _sent(api: Api, sender: Member, to: Member, key: str | None = None) -> dict[str, Any]:
    answer = _send(api, sender, to, key)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refused(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["code"] == "inmail-already-awaiting-response"
    assert body["type"] == "https://inmail.dev/problems/inmail-already-awaiting-response"
    return body


def _state(api: Api, sender: Member, recipient: Member) -> dict[str, Any]:
    """What the two members can check: balance, ledger, threads, notifications."""
    ledger = api.client.get("/v1/me/credits/ledger?limit=200", headers=sender.auth).json()
    threads = api.client.get("/v1/threads?limit=200", headers=sender.auth).json()
    notes = api.client.get("/v1/me/notifications?limit=200", headers=recipient.auth).json()
    return {
        "balance": api.client.get("/v1/me/credits", headers=sender.auth).json()["balance"],
        "ledger": [(e["kind"], e["amount"], e["reference"]) for e in ledger["items"]],
        "threads": [(t["id"], t["status"]) for t in threads["items"]],
        "notifications": [n["kind"] for n in notes["items"]],
        "charges": api.client.get("/v1/me/charges", headers=sender.auth).json()["items"],
    }


def _reply(api: Api, recipient: Member, thread_id: str) -> None:
    replied = api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "Sure."}, headers=recipient.auth
    )
    assert (replied.status_code, replied.json()["kind"]) == (201, "reply")


def test_a_second_inmail_while_the_first_awaits_is_refused_and_changes_nothing(api: Api) -> None:
    sender, recipient = api.member("premium_business"), api.member("basic")
    first = _sent(api, sender, recipient)
    before = _state(api, sender, recipient)
    assert before["balance"] == 24
    assert before["threads"] == [(first["thread_id"], "awaiting_response")]

    problem = _refused(_send(api, sender, recipient, subject="Hello again"))

    assert problem["thread_id"] == first["thread_id"]
    assert problem["follow_up_at"] == FOLLOW_UP_AT
    assert problem["status"] == 409
    assert f"thread {first['thread_id']}" in problem["detail"]
    assert f"POST /v1/threads/{first['thread_id']}/messages" in problem["detail"]
    assert f"possible from {FOLLOW_UP_AT}" in problem["detail"]
    assert "nothing was charged" in problem["detail"]
    assert _state(api, sender, recipient) == before  # no credit, entry, thread or notice
    assert api.client.get("/v1/admin/audit", headers=api.admin).json()["ok"]


def test_the_wait_is_per_sender_and_recipient(api: Api) -> None:
    sender, other_sender, recipient, someone = (api.member() for _ in range(4))
    first = _sent(api, sender, recipient)
    assert _sent(api, sender, someone)["thread_id"] != first["thread_id"]
    assert _sent(api, other_sender, recipient)["thread_id"] != first["thread_id"]
    assert _sent(api, recipient, sender)["cost_credits"] == 1  # the other way is another pair
    _refused(_send(api, sender, recipient))


def test_a_reply_ends_the_wait_and_a_new_inmail_goes(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    first = _sent(api, sender, recipient)
    _refused(_send(api, sender, recipient))
    _reply(api, recipient, first["thread_id"])

    second = _sent(api, sender, recipient)

    assert second["thread_id"] != first["thread_id"]
    assert (second["cost_credits"], second["balance_after"]) == (1, 23)
    _refused(_send(api, sender, recipient))  # and the new one waits in turn


def test_a_decline_ends_the_wait_and_a_new_inmail_goes(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    first = _sent(api, sender, recipient)
    declined = api.client.post(f"/v1/threads/{first['thread_id']}/decline", headers=recipient.auth)
    assert declined.status_code == 200, declined.text

    second = _sent(api, sender, recipient)

    assert second["thread_id"] != first["thread_id"]
    assert second["balance_after"] == 23


def test_a_retry_of_the_first_send_with_its_key_still_answers_its_201(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    first = _send(api, sender, recipient, key="first-send")
    assert first.status_code == 201

    again = _send(api, sender, recipient, key="first-send")
    other_key = _send(api, sender, recipient, key="second-send")

    assert (again.status_code, again.json()) == (201, first.json())
    assert _refused(other_key)["thread_id"] == first.json()["thread_id"]
    assert _send(api, sender, recipient, key="second-send").status_code == 409  # not stored
    assert api.client.get("/v1/me/credits", headers=sender.auth).json()["balance"] == 24


def test_a_free_open_profile_inmail_waits_for_its_answer_too(api: Api) -> None:
    sender, recipient = api.member("basic"), api.member("premium_business")
    opened = api.client.put("/v1/me/settings", json={"open_profile": True}, headers=recipient.auth)
    assert opened.status_code == 200, opened.text
    first = _sent(api, sender, recipient)
    assert first["cost_credits"] == 0

    assert _refused(_send(api, sender, recipient))["thread_id"] == first["thread_id"]


def test_the_follow_up_is_the_way_to_write_again_and_when_used_up_none_is_left(
    api: Api,
) -> None:
    sender, recipient = api.member(), api.member()
    first = _sent(api, sender, recipient)
    thread = first["thread_id"]
    api.advance(days=7)
    follow_up = api.client.post(
        f"/v1/threads/{thread}/messages", json={"body": "Any news?"}, headers=sender.auth
    )
    assert (follow_up.status_code, follow_up.json()["kind"]) == (201, "followup")

    problem = _refused(_send(api, sender, recipient))

    assert (problem["thread_id"], problem["follow_up_at"]) == (thread, None)
    assert "no further follow-up is possible" in problem["detail"]
    assert api.client.get("/v1/me/credits", headers=sender.auth).json()["balance"] == 23


def test_the_quote_says_a_new_inmail_waits_and_names_the_follow_up(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    before = api.client.get(f"/v1/me/quote?to={recipient.id}", headers=sender.auth).json()
    assert (before["allowed"], before["thread_id"], before["follow_up_at"]) == (True, None, None)
    first = _sent(api, sender, recipient)

    quote = api.client.get(f"/v1/me/quote?to={recipient.id}", headers=sender.auth)

    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert (body["channel"], body["allowed"]) == ("inmail", False)
    assert (body["thread_id"], body["follow_up_at"]) == (first["thread_id"], FOLLOW_UP_AT)
    assert "awaiting a response" in body["reason"]
    assert f"POST /v1/threads/{first['thread_id']}/messages" in body["reason"]
    assert body["overage_charge"] is None


def test_the_problem_extensions_are_published(api: Api) -> None:
    problem = api.client.get("/openapi.json").json()["components"]["schemas"]["Problem"]
    assert {"thread_id", "follow_up_at"} <= set(problem["properties"])
    quote = api.client.get("/openapi.json").json()["components"]["schemas"]["QuoteOut"]
    assert {"thread_id", "follow_up_at"} <= set(quote["properties"])
