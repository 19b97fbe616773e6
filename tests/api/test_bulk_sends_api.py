"""Bulk sends over HTTP, on SQLite and PostgreSQL (issue 10 §6; docs/rules.md "Bulk sends").

A dry run writes nothing and its totals are what the real run then spends; the real run
keeps within the credits confirmed, stops at the first refusal for money, answers a retry
with the same bulk send (charging nobody twice), and says per recipient what happened.

The TestClient runs a request's background task before it returns, so a 202 is followed
by a bulk send that is already finished when the test reads it.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import func, select

from inmail.domain.templates import Letter, TemplateText
from inmail.services.credits import adjust_credits
from inmail.services.templates import create_template
from inmail.store.tables import metadata
from tests.api.conftest import Api, Member
from tests.conftest import T0

_handles = itertools.count(1)
HELLO = Letter("Hello {first_name}", "Hi {first_name}, would you talk about the role?")
HEY = Letter("Hey {first_name}", "{first_name}, a quick question about {company|your team}?")


def person(api: Api, plan: str = "basic", *, name: str = "Ada Lovelace", **profile: Any) -> Member:
    body = {"handle": f"bulk{next(_handles)}", "name": name, "plan": plan, **profile}
    created = api.client.post("/v1/admin/members", json=body, headers=api.admin)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    token = api.client.post(f"/v1/admin/members/{member_id}/tokens", headers=api.admin)
    return Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})


def template(api: Api, owner: Member, a: Letter = HELLO, b: Letter | None = HEY) -> str:
    rt = api.client.app.state.runtime  # type: ignore[attr-defined]
    made = create_template(
        rt.deps, owner_id=owner.id, name="Outreach", text=TemplateText(a, b), now=T0
    )
    return made.id


def bulk(api: Api, sender: Member, body: dict[str, Any], key: str | None = None) -> Any:
    headers = dict(sender.auth) | ({} if key is None else {"Idempotency-Key": key})
    return api.client.post("/v1/bulk-sends", json=body, headers=headers)


def balance(api: Api, member: Member) -> int:
    found: int = api.client.get("/v1/me/credits", headers=member.auth).json()["balance"]
    return found


def row_counts(api: Api) -> dict[str, int]:
    rt = api.client.app.state.runtime  # type: ignore[attr-defined]
    with rt.deps.db.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
            if t.name != "test_clock"
        }


def results(answer: Any) -> list[tuple[str, str | None]]:
    """(status, reason code) of each recipient of a dry run or a bulk send page."""
    body = answer.json()
    items = body["recipients"]
    items = items["items"] if isinstance(items, dict) else items
    return [(r["status"], r["reason"] and r["reason"]["code"]) for r in items]


def problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    return body


def test_a_dry_run_writes_nothing_and_its_total_is_what_the_real_run_spends(api: Api) -> None:
    sender = person(api, "premium_business", name="Sam Sender")
    people = [person(api, company="Acme") for _ in range(5)]
    ids = [p.id for p in people]
    body = {"template_id": template(api, sender), "recipients": ids, "dry_run": True}
    before = row_counts(api)

    dry = bulk(api, sender, body, key="dry-1")

    assert dry.status_code == 200, dry.text
    assert row_counts(api) == before
    assert balance(api, sender) == 25
    shown = dry.json()
    assert shown["totals"] == {
        "recipients": 5,
        "to_send": 5,
        "inmails": 5,
        "messages": 0,
        "not_sent": 0,
        "credits_needed": 5,
        "credits_to_spend": 5,
        "credits_available": 25,
        "overage_packs": 0,
        "overage_charge": None,
    }
    first, second = shown["recipients"][:2]
    assert first["preview"] == {
        "subject": "Hello Ada",
        "body": "Hi Ada, would you talk about the role?",
    }
    assert (first["variant"], second["variant"]) == ("a", "b")
    assert second["preview"]["body"] == "Ada, a quick question about Acme?"
    assert [r["channel"] for r in shown["recipients"]] == ["inmail"] * 5

    sent = bulk(api, sender, body | {"dry_run": False, "max_credits": 5}, key="send-1")

    assert sent.status_code == 202, sent.text
    assert sent.headers["location"] == f"/v1/bulk-sends/{sent.json()['id']}"
    done = api.client.get(sent.headers["location"], headers=sender.auth).json()
    assert done["status"] == "done"
    assert done["credits_spent"] == shown["totals"]["credits_to_spend"] == 5
    assert done["counts"] == {"recipients": 5, "pending": 0, "sent": 5, "not_sent": 0}
    assert balance(api, sender) == 25 - 5
    items = done["recipients"]["items"]
    assert [r["variant"] for r in items] == [r["variant"] for r in shown["recipients"]]
    thread = api.client.get(f"/v1/threads/{items[1]['thread_id']}", headers=sender.auth).json()
    assert thread["messages"][0]["subject"] == "Hey Ada"
    assert thread["messages"][0]["body"] == "Ada, a quick question about Acme?"


def test_overage_in_the_dry_run_is_exactly_what_the_real_run_bills(api: Api) -> None:
    sender = person(api, "premium_business")
    rt = api.client.app.state.runtime  # type: ignore[attr-defined]
    adjust_credits(rt.deps, member_id=sender.id, amount=-24, reason="test: used up", now=T0)
    ids = [person(api, company="Acme").id for _ in range(3)]
    body = {"template_id": template(api, sender), "recipients": ids, "dry_run": True}

    dry = bulk(api, sender, body).json()

    assert dry["totals"]["overage_packs"] == 2
    assert dry["totals"]["overage_charge"] == {"amount_minor": 2000, "currency": "USD"}
    assert [r["overage_charge"] for r in dry["recipients"]] == [
        None,
        {"amount_minor": 1000, "currency": "USD"},
        {"amount_minor": 1000, "currency": "USD"},
    ]
    confirmed = {"max_credits": 3, "max_overage_minor": 2000, "dry_run": False}
    sent = bulk(api, sender, body | confirmed, key="k").json()
    done = api.client.get(f"/v1/bulk-sends/{sent['id']}", headers=sender.auth).json()
    assert done["overage_charge"] == {"amount_minor": 2000, "currency": "USD"}
    assert done["credits_spent"] == 3
    charges = api.client.get("/v1/me/charges", headers=sender.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription", "overage", "overage"]
    assert balance(api, sender) == 0


def test_the_real_run_never_spends_more_than_the_credits_confirmed(api: Api) -> None:
    sender = person(api, "premium_business")
    ids = [person(api).id for _ in range(5)]
    body = {"template_id": template(api, sender), "recipients": ids, "dry_run": False}

    sent = bulk(api, sender, body | {"max_credits": 3}, key="k")

    done = api.client.get(f"/v1/bulk-sends/{sent.json()['id']}", headers=sender.auth)
    assert results(done) == [("sent", None)] * 3 + [("not_sent", "over-confirmed-total")] * 2
    assert done.json()["status"] == "done"
    assert done.json()["credits_spent"] == 3
    assert balance(api, sender) == 22
    reason = done.json()["recipients"]["items"][3]["reason"]
    assert reason["detail"].startswith("not sent: over your confirmed total of 3 credit(s)")


def test_it_stops_cleanly_at_the_first_refusal_for_money(api: Api) -> None:
    sender = person(api, "premium_business")
    rt = api.client.app.state.runtime  # type: ignore[attr-defined]
    adjust_credits(rt.deps, member_id=sender.id, amount=-23, reason="test: used up", now=T0)
    api.client.put("/v1/me/settings", json={"auto_overage": False}, headers=sender.auth)
    ids = [person(api).id for _ in range(4)]
    body = {"template_id": template(api, sender), "recipients": ids, "dry_run": True}
    dry = bulk(api, sender, body)
    assert results(dry) == [
        ("send", None),
        ("send", None),
        ("not_sent", "insufficient-credits"),
        ("not_sent", "stopped"),
    ]
    assert dry.json()["stop"]["position"] == 3
    assert dry.json()["totals"]["credits_to_spend"] == 2
    assert dry.json()["totals"]["credits_needed"] == 4

    sent = bulk(api, sender, body | {"dry_run": False, "max_credits": 4}, key="k")

    done = api.client.get(f"/v1/bulk-sends/{sent.json()['id']}", headers=sender.auth)
    assert done.json()["status"] == "stopped"
    assert [s for s, _ in results(done)] == ["sent", "sent", "not_sent", "not_sent"]
    assert [c for _, c in results(done)][2:] == ["insufficient-credits", "stopped"]
    assert done.json()["stop"]["code"] == "insufficient-credits"
    assert done.json()["credits_spent"] == 2
    assert balance(api, sender) == 0
    charges = api.client.get("/v1/me/charges", headers=sender.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription"]


def test_the_overage_limit_stops_it_after_what_the_limit_allows(api: Api) -> None:
    sender = person(api, "premium_business")
    rt = api.client.app.state.runtime  # type: ignore[attr-defined]
    adjust_credits(rt.deps, member_id=sender.id, amount=-25, reason="test: used up", now=T0)
    api.client.put("/v1/me/settings", json={"overage_limit_minor": 1000}, headers=sender.auth)
    ids = [person(api).id for _ in range(3)]
    body = {"template_id": template(api, sender), "recipients": ids, "dry_run": False}

    sent = bulk(api, sender, body | {"max_credits": 3}, key="k").json()

    done = api.client.get(f"/v1/bulk-sends/{sent['id']}", headers=sender.auth)
    assert results(done) == [
        ("sent", None),
        ("not_sent", "overage-limit-reached"),
        ("not_sent", "stopped"),
    ]
    assert done.json()["overage_charge"] == {"amount_minor": 1000, "currency": "USD"}


def test_a_retry_of_the_whole_request_answers_the_same_bulk_send_and_charges_nobody_twice(
    api: Api,
) -> None:
    sender = person(api, "premium_business")
    ids = [person(api).id for _ in range(3)]
    body = {"template_id": template(api, sender), "recipients": ids, "dry_run": False}
    body["max_credits"] = 3

    first = bulk(api, sender, body, key="once")
    again = bulk(api, sender, body, key="once")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "done"
    assert [r["message_id"] for r in again.json()["recipients"]["items"]] == [
        r["message_id"]
        for r in api.client.get(f"/v1/bulk-sends/{first.json()['id']}", headers=sender.auth).json()[
            "recipients"
        ]["items"]
    ]
    assert balance(api, sender) == 22
    listed = api.client.get("/v1/bulk-sends", headers=sender.auth).json()
    assert [b["id"] for b in listed["items"]] == [first.json()["id"]]
    other = bulk(api, sender, body | {"max_credits": 2}, key="once")
    problem(other, 422, "idempotency-key-reused")
    assert balance(api, sender) == 22


def test_each_recipient_says_why_it_is_not_sent(api: Api) -> None:
    sender = person(api, "premium_business", name="Sam Sender")
    stranger = person(api, company="Acme")
    friend = person(api, company="Acme")
    blocked_by_me = person(api)
    blocking_me = person(api)
    inmail_off = person(api)
    awaiting = person(api)
    no_company = person(api)
    open_profile = person(api, "premium_business", company="Acme")
    made = api.client.post(
        "/v1/admin/connections", json={"a": sender.id, "b": friend.id}, headers=api.admin
    )
    assert made.status_code == 201
    api.client.put(f"/v1/members/{blocked_by_me.id}/block", headers=sender.auth)
    api.client.put(f"/v1/members/{sender.id}/block", headers=blocking_me.auth)
    api.client.put("/v1/me/settings", json={"inmail_open": False}, headers=inmail_off.auth)
    api.client.put("/v1/me/settings", json={"open_profile": True}, headers=open_profile.auth)
    first = {"to": awaiting.id, "subject": "Hello", "body": "Are you there?"}
    assert api.client.post("/v1/inmails", json=first, headers=sender.auth).status_code == 201
    listed = [
        stranger,  # a: sent
        friend,  # b: a free message
        blocked_by_me,
        blocking_me,
        inmail_off,
        awaiting,
        no_company,  # variant A, whose {company} has no fallback
        Member("m_nobody", {}),
        stranger,
        sender,
        open_profile,
    ]
    company = Letter("About {company}", "Hello {first_name}")
    body = {
        "template_id": template(api, sender, a=company, b=HEY),
        "recipients": [m.id for m in listed],
        "dry_run": True,
    }

    dry = bulk(api, sender, body)

    assert results(dry) == [
        ("send", None),
        ("send", None),
        ("not_sent", "recipient-blocked"),
        ("not_sent", "recipient-not-accepting-inmail"),
        ("not_sent", "recipient-not-accepting-inmail"),
        ("not_sent", "inmail-already-awaiting-response"),
        ("not_sent", "template-placeholder-missing"),
        ("not_sent", "not-found"),
        ("not_sent", "duplicate-recipient"),
        ("not_sent", "recipient-is-you"),
        ("send", None),
    ]
    items = dry.json()["recipients"]
    assert (items[1]["channel"], items[1]["cost_credits"]) == ("message", 0)
    assert items[1]["preview"]["subject"] is None  # a free message has no subject
    assert items[5]["reason"]["thread_id"] is not None
    assert items[5]["reason"]["follow_up_at"] == "2026-02-07T09:00:00Z"
    assert items[6]["reason"]["missing"] == ["company"]
    assert (items[10]["channel"], items[10]["cost_credits"]) == ("open_profile", 0)
    assert dry.json()["totals"]["credits_to_spend"] == 1

    skip = bulk(api, sender, body | {"connections": "skip"})
    assert results(skip)[1] == ("not_sent", "recipient-is-connection")

    sent = bulk(api, sender, body | {"dry_run": False, "max_credits": 1}, key="k")
    done = api.client.get(f"/v1/bulk-sends/{sent.json()['id']}", headers=sender.auth)
    assert [s for s, _ in results(done)] == ["sent" if s == "send" else s for s, _ in results(dry)]
    message = done.json()["recipients"]["items"][1]
    thread = api.client.get(f"/v1/threads/{message['thread_id']}", headers=sender.auth).json()
    assert thread["kind"] == "message"
    assert balance(api, sender) == 25 - 1 - 1  # the first InMail, then one bulk InMail


def test_bad_requests_are_refused_before_anything_is_written(api: Api) -> None:
    sender = person(api, "premium_business")
    other = person(api, "premium_business")
    mine, theirs = template(api, sender), template(api, other)
    ids = [person(api).id]
    base = {"template_id": mine, "recipients": ids, "dry_run": False, "max_credits": 1}
    before = row_counts(api)

    problem(bulk(api, sender, base), 422, "validation-error")  # no Idempotency-Key
    assert problem(bulk(api, sender, base), 422, "validation-error")["field"] == "Idempotency-Key"
    no_cap = {k: v for k, v in base.items() if k != "max_credits"}
    assert problem(bulk(api, sender, no_cap, "k1"), 422, "validation-error")["field"] == (
        "max_credits"
    )
    too_many = base | {"recipients": ids * 501}
    refused = problem(bulk(api, sender, too_many, "k2"), 422, "validation-error")
    assert refused["field"] == "recipients"
    assert "at most 500 recipients, not 501" in refused["detail"]
    problem(bulk(api, sender, too_many | {"dry_run": True}), 422, "validation-error")
    problem(bulk(api, sender, base | {"recipients": []}, "k3"), 422, "validation-error")
    problem(bulk(api, sender, base | {"template_id": theirs}, "k4"), 404, "not-found")
    problem(bulk(api, sender, base | {"max_credits": -1}, "k5"), 422, "validation-error")
    problem(bulk(api, sender, base | {"connections": "all"}, "k6"), 422, "validation-error")
    problem(bulk(api, sender, base | {"recipients": ["no/slash"]}, "k7"), 422, "validation-error")
    problem(bulk(api, sender, {"recipients": ids, "dry_run": True}), 422, "validation-error")

    assert row_counts(api) == before
    assert bulk(api, sender, base | {"recipients": ids * 500}, "k8").status_code == 202


def test_a_bulk_send_is_its_owners_alone_and_its_recipients_are_a_page(api: Api) -> None:
    sender, other = person(api, "premium_business"), person(api, "premium_business")
    ids = [person(api).id for _ in range(5)]
    body = {"template_id": template(api, sender), "recipients": ids, "dry_run": False}
    bulk_id = bulk(api, sender, body | {"max_credits": 5}, key="k").json()["id"]

    problem(api.client.get(f"/v1/bulk-sends/{bulk_id}", headers=other.auth), 404, "not-found")
    problem(api.client.get("/v1/bulk-sends/blk_nothing", headers=sender.auth), 404, "not-found")
    assert api.client.get("/v1/bulk-sends", headers=other.auth).json()["items"] == []
    page = api.client.get(f"/v1/bulk-sends/{bulk_id}?limit=2", headers=sender.auth).json()
    seen = [r["position"] for r in page["recipients"]["items"]]
    while page["recipients"]["next_cursor"]:
        cursor = page["recipients"]["next_cursor"]
        page = api.client.get(
            f"/v1/bulk-sends/{bulk_id}?limit=2&cursor={cursor}", headers=sender.auth
        ).json()
        seen += [r["position"] for r in page["recipients"]["items"]]
    assert seen == [1, 2, 3, 4, 5]
    bad = api.client.get(f"/v1/bulk-sends/{bulk_id}?cursor=bm90LW91cnM", headers=sender.auth)
    problem(bad, 422, "validation-error")
