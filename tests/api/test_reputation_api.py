"""Sender reputation over HTTP on SQLite and PostgreSQL (SPEC §10, issue 14 §3;
docs/rules.md "Sender reputation"): spam reports, the escalating send bans on the test
clock, appeals, and the response-rate floor switching bulk sending off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.domain.templates import Letter, TemplateText
from inmail.services.templates import create_template
from inmail.store.tables import outbox_events
from tests.api.conftest import ADMIN_TOKEN, Api, Member
from tests.conftest import T0


def inmail(api: Api, sender: Member, to: Member, subject: str = "Hello") -> Any:
    body = {"to": to.id, "subject": subject, "body": "Would you talk about the role?"}
    return api.client.post("/v1/inmails", json=body, headers=sender.auth)


def sent_thread(api: Api, sender: Member, to: Member) -> str:
    sent = inmail(api, sender, to)
    assert sent.status_code == 201, sent.text
    thread: str = sent.json()["thread_id"]
    return thread


def report(api: Api, who: Member, thread_id: str, reason: str = "spam") -> Any:
    return api.client.post(
        f"/v1/threads/{thread_id}/report", json={"reason": reason}, headers=who.auth
    )


def standing(api: Api, member: Member) -> dict[str, Any]:
    found = api.client.get("/v1/me/standing", headers=member.auth)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


def credits(api: Api, member: Member) -> tuple[int, int]:
    """(balance, ledger entries)."""
    balance = api.client.get("/v1/me/credits", headers=member.auth).json()["balance"]
    ledger = api.client.get("/v1/me/credits/ledger", headers=member.auth).json()
    entries = ledger["items"] if isinstance(ledger, dict) else ledger
    return balance, len(entries)


def events(api: Api, kind: str) -> list[dict[str, Any]]:
    """The outbox's events of ``kind``, read from the table (the pull API may lag on a shared
    PostgreSQL server: tests/api/test_events_api.py)."""
    rt = api.client.app.state.runtime  # type: ignore[attr-defined]
    query = select(outbox_events).where(outbox_events.c.type == kind).order_by(outbox_events.c.seq)
    with rt.deps.db.read() as conn:
        rows = conn.execute(query).all()
    return [{"member_id": r.member_id, "data": json.loads(r.payload)} for r in rows]


def notices(api: Api, member: Member) -> list[str]:
    found = api.client.get("/v1/me/notifications", headers=member.auth).json()["items"]
    return [n["kind"] for n in found]


def ban_by_three_reports(api: Api, sender: Member) -> list[str]:
    """Three new recipients each get an InMail from ``sender`` and report it."""
    threads = []
    for _ in range(3):
        to = api.member()
        thread = sent_thread(api, sender, to)
        assert report(api, to, thread).status_code == 201
        threads.append(thread)
    return threads


def test_a_report_is_one_per_recipient_per_thread(api: Api) -> None:
    sender, to = api.member(), api.member()
    thread = sent_thread(api, sender, to)
    first = report(api, to, thread, "not_relevant")
    assert first.status_code == 201
    again = report(api, to, thread, "spam")
    assert again.status_code == 200
    assert again.json() == first.json()  # the first report, its reason too
    assert first.json()["reason"] == "not_relevant"
    assert len(events(api, "inmail.reported")) == 1
    assert standing(api, sender)["spam_reports"]["counted"] == 1


def test_only_the_recipient_of_an_inmail_reports_it(api: Api) -> None:
    sender, to, stranger = api.member(), api.member(), api.member()
    thread = sent_thread(api, sender, to)
    mine = report(api, sender, thread)
    assert (mine.status_code, mine.json()["code"]) == (403, "forbidden")
    hidden = report(api, stranger, thread)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not-found")
    bad = report(api, to, thread, "boring")
    assert (bad.status_code, bad.json()["code"]) == (422, "validation-error")
    assert standing(api, sender)["spam_reports"]["counted"] == 0


def test_a_suspended_sender_is_refused_with_nothing_charged_and_may_still_reply(api: Api) -> None:
    sender = api.member()
    ban_by_three_reports(api, sender)
    before = credits(api, sender)
    refused = inmail(api, sender, api.member())
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "sending-suspended"
    assert problem["until"] == standing(api, sender)["suspension"]["until"]
    assert "reported" in problem["reason"]
    assert credits(api, sender) == before  # balance and ledger unchanged
    # A reply in a thread someone else started is still allowed.
    other = api.member()
    theirs = sent_thread(api, other, sender)
    reply = api.client.post(
        f"/v1/threads/{theirs}/messages",
        json={"body": "Thanks, happy to talk"},
        headers=sender.auth,
    )
    assert reply.status_code == 201, reply.text
    # So is writing on in a conversation the recipient answered.
    answered_by = api.member()
    api.advance(days=2)  # the ban is over for this one InMail
    ours = sent_thread(api, sender, answered_by)
    api.client.post(f"/v1/threads/{ours}/messages", json={"body": "Sure"}, headers=answered_by.auth)
    # Banned again (72 h): the conversation the recipient answered stays open to the sender.
    ban_by_three_reports(api, sender)
    assert standing(api, sender)["status"] == "suspended"
    assert notices(api, sender).count("sending_suspended") == 2
    free = api.client.post(
        f"/v1/threads/{ours}/messages", json={"body": "Great"}, headers=sender.auth
    )
    assert free.status_code == 201, free.text


def test_the_whole_escalation_24h_72h_one_week_on_the_test_clock(api: Api) -> None:
    sender = api.member()
    lengths = []
    for step in range(3):
        ban_by_three_reports(api, sender)
        s = standing(api, sender)
        assert s["status"] == "suspended"
        suspension = s["suspension"]
        assert suspension["level"] == step + 1
        lengths.append(suspension["until"])
        refused = inmail(api, sender, api.member())
        assert refused.status_code == 403
        assert refused.json()["until"] == suspension["until"]
        hours = [24, 72, 168][step]
        api.advance(seconds=hours * 3600 - 60)  # a minute before the end: still refused
        assert inmail(api, sender, api.member()).json()["code"] == "sending-suspended"
        api.advance(seconds=60)  # at the end: sending again
        assert standing(api, sender)["status"] == "ok"
    listed = api.client.get("/v1/admin/suspensions", headers=api.admin).json()["items"]
    mine = [s for s in listed if s["member_id"] == sender.id]
    assert [s["level"] for s in mine] == [3, 2, 1]  # newest first
    assert len(events(api, "member.suspended")) == 3
    assert notices(api, sender).count("sending_suspended") == 3


def test_an_accepted_appeal_lifts_the_ban_and_is_not_a_step(api: Api) -> None:
    sender = api.member()
    ban_by_three_reports(api, sender)
    sid = standing(api, sender)["suspension"]["id"]
    appealed = api.client.post(
        "/v1/me/standing/appeal", json={"text": "These were colleagues"}, headers=sender.auth
    )
    assert appealed.status_code == 201, appealed.text
    assert appealed.json()["appeal"]["status"] == "pending"
    twice = api.client.post("/v1/me/standing/appeal", json={"text": "x"}, headers=sender.auth)
    assert (twice.status_code, twice.json()["code"]) == (409, "conflict")
    pending = api.client.get(
        "/v1/admin/suspensions", params={"appeal": "pending"}, headers=api.admin
    ).json()["items"]
    assert [s["id"] for s in pending] == [sid]
    by_member = api.client.post(f"/v1/admin/suspensions/{sid}/appeal/accept", headers=sender.auth)
    assert by_member.status_code == 403
    accepted = api.client.post(f"/v1/admin/suspensions/{sid}/appeal/accept", headers=api.admin)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["lifted_at"] is not None
    assert accepted.json()["appeal"]["status"] == "accepted"
    assert inmail(api, sender, api.member()).status_code == 201  # lifted at once
    again = api.client.post(f"/v1/admin/suspensions/{sid}/appeal/reject", headers=api.admin)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    assert "appeal_accepted" in notices(api, sender)
    (decided,) = events(api, "member.appeal_decided")
    assert decided["data"] == {"suspension_id": sid, "outcome": "accepted", "lifted": True}
    # The next ban is the first step again: the overturned one does not count. (Reports
    # count on InMails sent after the last ban began: a moment later.)
    api.advance(seconds=1)
    ban_by_three_reports(api, sender)
    assert standing(api, sender)["suspension"]["level"] == 1


def test_a_rejected_appeal_keeps_the_ban(api: Api) -> None:
    sender = api.member()
    ban_by_three_reports(api, sender)
    sid = standing(api, sender)["suspension"]["id"]
    api.client.post("/v1/me/standing/appeal", json={"text": "Please"}, headers=sender.auth)
    rejected = api.client.post(f"/v1/admin/suspensions/{sid}/appeal/reject", headers=api.admin)
    assert rejected.status_code == 200
    assert rejected.json()["lifted_at"] is None
    assert inmail(api, sender, api.member()).json()["code"] == "sending-suspended"
    assert "appeal_rejected" in notices(api, sender)


def test_no_appeal_without_a_suspension(api: Api) -> None:
    sender = api.member()
    refused = api.client.post("/v1/me/standing/appeal", json={"text": "?"}, headers=sender.auth)
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")
    empty = api.client.post("/v1/me/standing/appeal", json={"text": ""}, headers=sender.auth)
    assert (empty.status_code, empty.json()["field"]) == (422, "text")


@pytest.fixture
def low_floor(db_url: str) -> Iterator[Api]:
    """The floor with small numbers: 2 InMails in 14 days, half answered."""
    settings = Settings(
        database_url=db_url,
        admin_token=ADMIN_TOKEN,
        test_clock=T0,
        reputation_min_sent=2,
        reputation_floor=0.5,
    )
    with TestClient(create_app(runtime=build(settings)), raise_server_exceptions=False) as client:
        yield Api(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})


def bulk_dry_run(api: Api, sender: Member, to: Member) -> Any:
    rt = api.client.app.state.runtime  # type: ignore[attr-defined]
    letter = Letter("Hello {first_name}", "Hi {first_name}, a question?")
    made = create_template(
        rt.deps, owner_id=sender.id, name="Outreach", text=TemplateText(letter, None), now=T0
    )
    body = {"template_id": made.id, "recipients": [to.id], "dry_run": True}
    return api.client.post("/v1/bulk-sends", json=body, headers=sender.auth)


def test_a_low_response_rate_warns_then_turns_bulk_sending_off(low_floor: Api) -> None:
    api = low_floor
    sender = api.member()
    sent_thread(api, sender, api.member())
    assert standing(api, sender)["status"] == "ok"  # one InMail: under min_sent
    sent_thread(api, sender, api.member())
    warned = standing(api, sender)
    assert warned["status"] == "warned"
    assert warned["response_rate"] | {"rate": 0.0} == {
        "sent": 2,
        "answered": 0,
        "rate": 0.0,
        "window_days": 14,
        "min_sent": 2,
        "floor": 0.5,
    }
    assert "reputation_warning" in notices(api, sender)
    assert len(events(api, "member.warned")) == 1
    assert bulk_dry_run(api, sender, api.member()).status_code == 200  # warned: still allowed
    api.advance(days=7)
    refused = bulk_dry_run(api, sender, api.member())
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "bulk-sending-off"
    assert problem["until"].startswith("2026-")
    assert "response rate" in problem["reason"]
    assert sent_thread(api, sender, api.member())  # 1:1 InMail still allowed
    off = standing(api, sender)
    assert off["status"] == "bulk_off"
    assert off["bulk_off_until"] == problem["until"]
    assert len(events(api, "member.bulk_sending_off")) == 1
    assert len(events(api, "member.warned")) == 1  # written once, however often evaluated
    api.advance(days=14)
    assert bulk_dry_run(api, sender, api.member()).status_code == 200  # back on (under min)


def test_answers_clear_the_warning(low_floor: Api) -> None:
    api = low_floor
    sender = api.member()
    first = api.member()
    thread = sent_thread(api, sender, first)
    sent_thread(api, sender, api.member())
    assert standing(api, sender)["status"] == "warned"
    api.client.post(f"/v1/threads/{thread}/decline", headers=first.auth)
    cleared = standing(api, sender)
    assert cleared["status"] == "ok"
    assert cleared["warned_at"] is None


def test_a_follow_up_is_refused_during_a_ban_with_nothing_charged(api: Api) -> None:
    sender, waiting = api.member(), api.member()
    thread = sent_thread(api, sender, waiting)
    api.advance(days=7)  # a follow-up is due
    ban_by_three_reports(api, sender)
    before = credits(api, sender)
    follow_up = api.client.post(
        f"/v1/threads/{thread}/messages", json={"body": "Any thoughts?"}, headers=sender.auth
    )
    assert (follow_up.status_code, follow_up.json()["code"]) == (403, "sending-suspended")
    assert follow_up.json()["until"] == "2026-02-08T09:00:00Z"  # T0 + 7 days + 24 hours
    assert credits(api, sender) == before


def test_a_report_and_an_appeal_take_an_idempotency_key(api: Api) -> None:
    sender, to = api.member(), api.member()
    thread = sent_thread(api, sender, to)
    keyed = {**to.auth, "Idempotency-Key": "report-1"}
    url = f"/v1/threads/{thread}/report"
    first = api.client.post(url, json={"reason": "spam"}, headers=keyed)
    again = api.client.post(url, json={"reason": "spam"}, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    reused = api.client.post(url, json={"reason": "not_relevant"}, headers=keyed)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency-key-reused")
    other_key = api.client.post(
        url, json={"reason": "spam"}, headers={**to.auth, "Idempotency-Key": "report-2"}
    )
    assert (other_key.status_code, other_key.json()["id"]) == (200, first.json()["id"])
    assert len(events(api, "inmail.reported")) == 1

    for _ in range(2):  # with the first, three reports: a ban
        other = api.member()
        assert report(api, other, sent_thread(api, sender, other)).status_code == 201
    appeal_key = {**sender.auth, "Idempotency-Key": "appeal-1"}
    body = {"text": "Please look again"}
    made = api.client.post("/v1/me/standing/appeal", json=body, headers=appeal_key)
    retried = api.client.post("/v1/me/standing/appeal", json=body, headers=appeal_key)
    assert (made.status_code, retried.status_code) == (201, 201)
    assert retried.json() == made.json()
