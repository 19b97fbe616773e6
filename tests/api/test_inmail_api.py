"""Sending InMail and everything after it, through HTTP, with the stored state checked."""

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


def _send(api: Api, sender: Member, to: Member, **extra: Any) -> Any:
    body = {"to": to.id, "subject": "Hello", "body": "Would you talk about the role?", **extra}
    return api.client.post("/v1/inmails", json=body, headers=sender.auth)


def _balance(api: Api, member: Member) -> int:
    credits: int = api.client.get("/v1/me/credits", headers=member.auth).json()["balance"]
    return credits


def _ledger_kinds(api: Api, member: Member) -> list[tuple[str, int]]:
    items = api.client.get("/v1/me/credits/ledger?limit=200", headers=member.auth).json()["items"]
    return [(e["kind"], e["amount"]) for e in items]


def _connect(api: Api, a: Member, b: Member) -> None:
    made = api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert made.status_code == 201


def test_an_inmail_spends_one_credit_with_the_message_in_one_step(api: Api) -> None:
    sender, recipient = api.member("premium_business"), api.member("basic")
    sent = _send(api, sender, recipient)
    assert sent.status_code == 201
    body = sent.json()
    assert (body["cost_credits"], body["overage_charge"], body["balance_after"]) == (1, None, 24)
    assert _balance(api, sender) == 24
    spends = [
        e
        for e in api.client.get("/v1/me/credits/ledger", headers=sender.auth).json()["items"]
        if e["kind"] == "spend"
    ]
    assert [(e["amount"], e["reference"]) for e in spends] == [(-1, f"inmail:{body['id']}")]
    thread = api.client.get(f"/v1/threads/{body['thread_id']}", headers=recipient.auth).json()
    assert (thread["kind"], thread["status"], thread["initiator"]) == (
        "inmail",
        "awaiting_response",
        sender.id,
    )
    assert [(m["kind"], m["subject"], m["cost_credits"]) for m in thread["messages"]] == [
        ("inmail", "Hello", 1)
    ]
    notes = api.client.get("/v1/me/notifications", headers=recipient.auth).json()["items"]
    assert [n["kind"] for n in notes] == ["new_inmail"]
    assert api.client.get("/v1/admin/audit", headers=api.admin).json()["ok"]


def test_a_retried_send_with_the_same_key_sends_and_charges_once(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    headers = {**sender.auth, "Idempotency-Key": "send-1"}
    body = {"to": recipient.id, "subject": "Hi", "body": "Hello there"}
    first = api.client.post("/v1/inmails", json=body, headers=headers)
    again = api.client.post("/v1/inmails", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert _balance(api, sender) == 24
    assert len(api.client.get("/v1/threads", headers=sender.auth).json()["items"]) == 1
    other = api.client.post("/v1/inmails", json={**body, "body": "changed"}, headers=headers)
    _problem(other, 422, "idempotency-key-reused")


def test_every_refusal_has_its_code_and_charges_nothing(api: Api) -> None:
    sender = api.member("sales_navigator_professional")
    basic, connection, closed, blocker = (api.member("basic") for _ in range(4))
    _connect(api, sender, connection)
    api.client.put("/v1/me/settings", json={"inmail_open": False}, headers=closed.auth)
    api.client.put(f"/v1/members/{sender.id}/block", headers=blocker.auth)
    refusals = [
        (_send(api, basic, sender), 403, "inmail-not-on-plan"),
        (_send(api, sender, connection), 409, "recipient-is-connection"),
        (_send(api, sender, closed), 403, "recipient-not-accepting-inmail"),
        (_send(api, sender, blocker), 403, "recipient-not-accepting-inmail"),
        (_send(api, sender, basic, subject=" "), 422, "validation-error"),
        (_send(api, sender, basic, subject="s" * 201), 422, "validation-error"),
        (_send(api, sender, basic, body=""), 422, "validation-error"),
        (_send(api, sender, basic, body="b" * 2001), 422, "validation-error"),
        (_send(api, sender, Member("m_nobody", {})), 404, "not-found"),
    ]
    for response, status, code in refusals:
        _problem(response, status, code)
    assert _balance(api, sender) == 15
    assert _ledger_kinds(api, sender) == [("grant", 15)]
    assert api.client.get("/v1/threads", headers=sender.auth).json()["items"] == []


def test_a_basic_member_is_told_the_free_routes(api: Api) -> None:
    basic, target, mutual = api.member("basic"), api.member(), api.member()
    _connect(api, basic, mutual)
    _connect(api, mutual, target)
    refused = _problem(_send(api, basic, target), 403, "inmail-not-on-plan")
    handle = api.client.get(f"/v1/members/{target.id}", headers=basic.auth).json()["handle"]
    via = api.client.get(f"/v1/members/{mutual.id}", headers=basic.auth).json()["handle"]
    assert refused["free_routes"] == [
        f"ask Member (@{via}) to introduce you",
        f"mention @{handle} in a post",
    ]


def test_running_out_with_overage_off_is_refused_and_with_overage_on_is_billed(api: Api) -> None:
    sender = api.member("sales_navigator_professional")
    # A recipient each: a second InMail to one who has not answered would wait (SPEC §4).
    recipients = iter([api.member() for _ in range(18)])
    for _ in range(15):
        assert _send(api, sender, next(recipients)).status_code == 201
    api.client.put("/v1/me/settings", json={"auto_overage": False}, headers=sender.auth)
    _problem(_send(api, sender, next(recipients)), 402, "insufficient-credits")
    api.client.put(
        "/v1/me/settings",
        json={"auto_overage": True, "overage_limit_minor": 1000},
        headers=sender.auth,
    )
    billed = _send(api, sender, next(recipients)).json()
    assert billed["overage_charge"] == {"amount_minor": 1000, "currency": "USD"}
    assert billed["balance_after"] == 0
    _problem(_send(api, sender, next(recipients)), 402, "overage-limit-reached")
    notes = api.client.get("/v1/me/notifications", headers=sender.auth).json()["items"]
    assert "overage_purchase" in [n["kind"] for n in notes]
    charges = api.client.get("/v1/me/charges", headers=sender.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription", "overage"]


def test_an_open_profile_can_be_reached_for_free_even_from_basic(api: Api) -> None:
    basic, open_member = api.member("basic"), api.member("premium_business")
    api.client.put("/v1/me/settings", json={"open_profile": True}, headers=open_member.auth)
    sent = _send(api, basic, open_member).json()
    assert (sent["cost_credits"], sent["balance_after"]) == (0, 0)
    assert _ledger_kinds(api, basic) == []


def test_a_sent_inmail_cannot_be_cancelled_edited_or_deleted(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    sent = _send(api, sender, recipient).json()
    for method in ("DELETE", "PATCH"):
        refused = api.client.request(method, f"/v1/inmails/{sent['id']}", headers=sender.auth)
        assert (
            "cannot be cancelled" in _problem(refused, 409, "cannot-cancel-sent-inmail")["detail"]
        )
    outsider = api.member()
    _problem(
        api.client.delete(f"/v1/inmails/{sent['id']}", headers=outsider.auth), 404, "not-found"
    )
    assert _balance(api, sender) == 24


def test_a_reply_opens_a_free_conversation_both_ways_and_keeps_the_credit_spent(api: Api) -> None:
    sender, recipient = api.member(), api.member("basic")
    thread_id = _send(api, sender, recipient).json()["thread_id"]
    read = api.client.post(f"/v1/threads/{thread_id}/read", headers=recipient.auth)
    assert read.json()["opened_at"] == "2026-01-31T09:00:00Z"
    reply = api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "Sure!"}, headers=recipient.auth
    )
    assert (reply.status_code, reply.json()["kind"], reply.json()["cost_credits"]) == (
        201,
        "reply",
        0,
    )
    more = api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "Great"}, headers=sender.auth
    )
    assert (more.json()["kind"], more.json()["cost_credits"]) == ("message", 0)
    thread = api.client.get(f"/v1/threads/{thread_id}", headers=sender.auth).json()
    assert thread["status"] == "answered"
    assert [m["kind"] for m in thread["messages"]] == ["inmail", "reply", "message"]
    assert _balance(api, sender) == 24  # no refund by default
    quote = api.client.get(f"/v1/me/quote?to={recipient.id}", headers=sender.auth).json()
    assert (quote["channel"], quote["cost_credits"]) == ("conversation", 0)


def test_a_decline_closes_the_thread_and_keeps_the_credit_spent(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    thread_id = _send(api, sender, recipient).json()["thread_id"]
    _problem(
        api.client.post(f"/v1/threads/{thread_id}/decline", headers=sender.auth), 403, "forbidden"
    )
    declined = api.client.post(f"/v1/threads/{thread_id}/decline", headers=recipient.auth)
    assert declined.json() == {"status": "declined"}
    post = api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "why?"}, headers=sender.auth
    )
    _problem(post, 409, "thread-closed")
    assert _balance(api, sender) == 24
    notes = api.client.get("/v1/me/notifications", headers=sender.auth).json()["items"]
    assert notes[0]["kind"] == "decline"


def test_follow_ups_wait_seven_days_cost_a_credit_and_are_limited(api: Api) -> None:
    sender, recipient = api.member(), api.member()
    thread_id = _send(api, sender, recipient).json()["thread_id"]
    url = f"/v1/threads/{thread_id}/messages"
    _problem(
        api.client.post(url, json={"body": "ping"}, headers=sender.auth), 409, "follow-up-too-early"
    )
    assert api.client.get("/v1/me/follow-ups", headers=sender.auth).json()["items"] == []
    api.advance(days=7)
    due = api.client.get("/v1/me/follow-ups", headers=sender.auth).json()["items"]
    assert [(d["thread_id"], d["due_at"]) for d in due] == [(thread_id, "2026-02-07T09:00:00Z")]
    notes = api.client.get("/v1/me/notifications", headers=sender.auth).json()["items"]
    assert [n["kind"] for n in notes].count("follow_up_due") == 1
    followed = api.client.post(url, json={"body": "Any thoughts?"}, headers=sender.auth)
    assert (followed.status_code, followed.json()["kind"], followed.json()["cost_credits"]) == (
        201,
        "followup",
        1,
    )
    assert _balance(api, sender) == 23
    api.advance(days=8)
    _problem(
        api.client.post(url, json={"body": "again"}, headers=sender.auth),
        409,
        "follow-up-limit-reached",
    )
    assert api.client.get("/v1/me/follow-ups", headers=sender.auth).json()["items"] == []


def test_a_plan_with_credit_back_refunds_once_to_the_original_lot(api: Api) -> None:
    api.client.put(
        "/v1/admin/plans/premium_business", json={"credit_back_days": 90}, headers=api.admin
    )
    sender, recipient = api.member("premium_business"), api.member()
    thread_id = _send(api, sender, recipient).json()["thread_id"]
    api.advance(days=10)
    api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "yes"}, headers=recipient.auth
    )
    assert _balance(api, sender) == 25
    ledger = api.client.get("/v1/me/credits/ledger", headers=sender.auth).json()["items"]
    spend = next(e for e in ledger if e["kind"] == "spend")
    refund = [e for e in ledger if e["kind"] == "refund"]
    assert [(e["lot_id"], e["amount"], e["reference"]) for e in refund] == [
        (spend["lot_id"], 1, spend["reference"])
    ]
    api.client.post(
        f"/v1/threads/{thread_id}/messages", json={"body": "more"}, headers=recipient.auth
    )
    assert _balance(api, sender) == 25
    assert api.client.get("/v1/admin/audit", headers=api.admin).json()["ok"]


def test_free_messages_go_only_to_connections(api: Api) -> None:
    a, b, stranger = api.member("basic"), api.member("basic"), api.member("basic")
    _connect(api, a, b)
    first = api.client.post("/v1/messages", json={"to": b.id, "body": "hi"}, headers=a.auth)
    second = api.client.post("/v1/messages", json={"to": a.id, "body": "hey"}, headers=b.auth)
    assert first.status_code == second.status_code == 201
    assert first.json()["thread_id"] == second.json()["thread_id"]
    assert first.json()["cost_credits"] == 0
    refused = api.client.post(
        "/v1/messages", json={"to": stranger.id, "body": "hi"}, headers=a.auth
    )
    _problem(refused, 403, "not-a-connection")
    quote = api.client.get(f"/v1/me/quote?to={b.id}", headers=a.auth).json()
    assert (quote["channel"], quote["cost_credits"], quote["allowed"]) == ("message", 0, True)


def test_the_quote_explains_cost_refusals_and_overage(api: Api) -> None:
    sender, target, basic = (
        api.member("sales_navigator_professional"),
        api.member(),
        api.member("basic"),
    )
    quote = api.client.get(f"/v1/me/quote?to={target.id}", headers=sender.auth).json()
    assert (quote["channel"], quote["cost_credits"], quote["allowed"], quote["overage_charge"]) == (
        "inmail",
        1,
        True,
        None,
    )
    for other in [api.member() for _ in range(15)]:  # spent elsewhere: none awaits target
        assert _send(api, sender, other).status_code == 201
    quote = api.client.get(f"/v1/me/quote?to={target.id}", headers=sender.auth).json()
    assert quote["overage_charge"] == {"amount_minor": 1000, "currency": "USD"}
    assert "overage will bill 10.00 USD" in quote["reason"]
    refused = api.client.get(f"/v1/me/quote?to={target.id}", headers=basic.auth).json()
    assert (refused["allowed"], refused["channel"]) == (False, "inmail")
    assert "does not include InMail" in refused["reason"]
    _problem(api.client.get("/v1/me/quote?to=m_nobody", headers=sender.auth), 404, "not-found")
    _problem(api.client.get("/v1/me/quote", headers=sender.auth), 422, "validation-error")


def test_stats_count_responses_within_thirty_days(api: Api) -> None:
    sender = api.member("recruiter")
    recipients = [api.member() for _ in range(4)]
    threads = [_send(api, sender, r).json()["thread_id"] for r in recipients]
    api.client.post(
        f"/v1/threads/{threads[0]}/messages", json={"body": "yes"}, headers=recipients[0].auth
    )
    api.client.post(f"/v1/threads/{threads[1]}/decline", headers=recipients[1].auth)
    stats = api.client.get("/v1/me/stats", headers=sender.auth).json()
    assert (stats["inmails_sent"], stats["responses"], stats["response_rate"]) == (4, 2, 1.0)
    api.advance(days=31)
    stats = api.client.get("/v1/me/stats", headers=sender.auth).json()
    assert stats["response_rate"] == 0.5


def test_degree_and_invitations(api: Api) -> None:
    a, b, c, d = (api.member("basic") for _ in range(4))
    invited = api.client.post("/v1/invitations", json={"to": b.id, "note": "hi"}, headers=a.auth)
    assert (invited.status_code, invited.json()["status"]) == (201, "pending")
    _problem(
        api.client.post(f"/v1/invitations/{invited.json()['id']}/accept", headers=a.auth),
        403,
        "forbidden",
    )
    pending = api.client.get("/v1/me/invitations", headers=b.auth).json()["items"]
    assert [i["id"] for i in pending] == [invited.json()["id"]]
    accepted = api.client.post(f"/v1/invitations/{invited.json()['id']}/accept", headers=b.auth)
    assert accepted.json()["status"] == "accepted"
    _problem(
        api.client.post(f"/v1/invitations/{invited.json()['id']}/accept", headers=b.auth),
        409,
        "conflict",
    )
    _connect(api, b, c)
    degrees = [
        api.client.get(f"/v1/members/{x.id}", headers=a.auth).json()["degree"] for x in (b, c, d)
    ]
    assert degrees == [1, 2, 3]
    _problem(api.client.get("/v1/members/m_nobody", headers=a.auth), 404, "not-found")


@pytest.mark.parametrize("path", ["/v1/threads/th_nobody", "/v1/threads/th_nobody/read"])
def test_someone_elses_or_unknown_threads_are_not_found(api: Api, path: str) -> None:
    member = api.member()
    method = "GET" if path.endswith("nobody") else "POST"
    _problem(api.client.request(method, path, headers=member.auth), 404, "not-found")


def test_notifications_warn_about_renewals_forfeits_expiry_and_low_balance(api: Api) -> None:
    member = api.member("sales_navigator_professional")  # 15 a month, cap 45
    api.client.post("/v1/me/purchases", json={"pack": "pack_1"}, headers=member.auth)
    api.advance(days=28 + 31 + 27)  # three days before the fourth cycle starts
    kinds = [
        n["kind"]
        for n in api.client.get("/v1/me/notifications", headers=member.auth).json()["items"]
    ]
    assert kinds.count("credits_renewed") == 2
    assert "forfeit_soon" in kinds
    api.advance(days=365 - 86 - 2)  # two days before the pack expires
    notes = api.client.get("/v1/me/notifications", headers=member.auth).json()["items"]
    assert [n["text"] for n in notes if n["kind"] == "expiring_soon"] == [
        "1 credits expire on 31 Jan 2027"
    ]
    again = api.client.get("/v1/me/notifications", headers=member.auth).json()["items"]
    assert len(again) == len(notes)  # each warning is written once


def test_a_low_balance_is_notified_once_per_cycle(api: Api) -> None:
    sender = api.member("sales_navigator_professional")
    for recipient in [api.member() for _ in range(13)]:  # one InMail awaiting each (SPEC §4)
        assert _send(api, sender, recipient).status_code == 201
    for _ in range(2):
        notes = api.client.get("/v1/me/notifications", headers=sender.auth).json()["items"]
        assert [n["text"] for n in notes if n["kind"] == "low_balance"] == [
            "Low balance: 2 credits left"
        ]
