"""Templates through HTTP on each engine: keeping them, rendering them, sending from them,
and their response rates in the stats; the stored state checked after each answer."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from inmail.services.context import Deps
from inmail.store.tables import messages, templates
from tests.api.conftest import Api, Member

_handles = itertools.count(1)
TEMPLATE = {
    "name": "Role outreach",
    "subject": "A role at {company|your company}",
    "body": "Hi {first_name},\nwe are both in {shared_group|a group}. {my_name}",
}


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _person(api: Api, name: str, plan: str = "premium_business", **profile: Any) -> Member:
    body = {"handle": f"person{next(_handles)}", "name": name, "plan": plan, **profile}
    created = api.client.post("/v1/admin/members", json=body, headers=api.admin)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    token = api.client.post(f"/v1/admin/members/{member_id}/tokens", headers=api.admin)
    return Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})


def _create(api: Api, owner: Member, **changes: Any) -> dict[str, Any]:
    created = api.client.post("/v1/me/templates", json={**TEMPLATE, **changes}, headers=owner.auth)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def _deps(api: Api) -> Deps:
    deps: Deps = api.client.app.state.runtime.deps  # type: ignore[attr-defined]
    return deps


def _stored_templates(api: Api) -> int:
    with _deps(api).db.read() as conn:
        return len(conn.execute(select(templates.c.id)).all())


def _balance(api: Api, member: Member) -> int:
    credits: int = api.client.get("/v1/me/credits", headers=member.auth).json()["balance"]
    return credits


# ---- keeping templates ---------------------------------------------------------------------


def test_a_template_is_created_read_listed_replaced_and_deleted(api: Api) -> None:
    me = _person(api, "Grace Hopper")
    b = {"subject": "B: {first_name}", "body": "Short B"}
    created = _create(api, me, variants={"b": b})
    assert created["name"] == "Role outreach"
    assert (created["subject"], created["body"]) == (TEMPLATE["subject"], TEMPLATE["body"])
    assert created["variants"] == {"b": b}
    assert created["id"].startswith("tpl")
    read = api.client.get(f"/v1/me/templates/{created['id']}", headers=me.auth)
    assert read.status_code == 200
    assert read.json() == created

    replaced = api.client.put(
        f"/v1/me/templates/{created['id']}",
        json={"name": "Renamed", "subject": "New", "body": "New body"},
        headers=me.auth,
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["name"], replaced.json()["variants"]) == ("Renamed", {"b": None})
    assert replaced.json()["created_at"] == created["created_at"]
    again = api.client.get(f"/v1/me/templates/{created['id']}", headers=me.auth).json()
    assert (again["subject"], again["body"], again["variants"]) == ("New", "New body", {"b": None})

    deleted = api.client.delete(f"/v1/me/templates/{created['id']}", headers=me.auth)
    assert deleted.status_code == 204
    _problem(api.client.get(f"/v1/me/templates/{created['id']}", headers=me.auth), 404, "not-found")
    _problem(
        api.client.delete(f"/v1/me/templates/{created['id']}", headers=me.auth), 404, "not-found"
    )
    assert api.client.get("/v1/me/templates", headers=me.auth).json()["items"] == []
    assert _stored_templates(api) == 1  # kept for the stats of what was sent from it


def test_the_list_is_a_page_newest_first(api: Api) -> None:
    me, other = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    ids = [_create(api, me, name=f"T{i}")["id"] for i in range(5)]
    _create(api, other)
    first = api.client.get("/v1/me/templates?limit=2", headers=me.auth).json()
    assert [t["id"] for t in first["items"]] == ids[::-1][:2]
    second = api.client.get(
        f"/v1/me/templates?limit=2&cursor={first['next_cursor']}", headers=me.auth
    ).json()
    third = api.client.get(
        f"/v1/me/templates?limit=2&cursor={second['next_cursor']}", headers=me.auth
    ).json()
    assert [t["id"] for t in second["items"] + third["items"]] == ids[::-1][2:]
    assert third["next_cursor"] is None
    bad = api.client.get("/v1/me/templates?cursor=nonsense", headers=me.auth)
    assert _problem(bad, 422, "validation-error")["field"] == "cursor"


def test_another_members_template_is_not_found_whatever_is_asked(api: Api) -> None:
    owner, other = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    template = _create(api, owner)["id"]
    url = f"/v1/me/templates/{template}"
    _problem(api.client.get(url, headers=other.auth), 404, "not-found")
    _problem(api.client.put(url, json=TEMPLATE, headers=other.auth), 404, "not-found")
    _problem(api.client.delete(url, headers=other.auth), 404, "not-found")
    rendered = api.client.post(f"{url}/render", json={"to": owner.id}, headers=other.auth)
    _problem(rendered, 404, "not-found")
    sent = api.client.post(
        "/v1/inmails", json={"to": owner.id, "template_id": template}, headers=other.auth
    )
    _problem(sent, 404, "not-found")
    assert _balance(api, other) == 25
    assert api.client.get(url, headers=owner.auth).json()["name"] == "Role outreach"


def test_creation_is_keyed_like_every_create(api: Api) -> None:
    me = _person(api, "Grace Hopper")
    headers = {**me.auth, "Idempotency-Key": "tpl-1"}
    first = api.client.post("/v1/me/templates", json=TEMPLATE, headers=headers)
    again = api.client.post("/v1/me/templates", json=TEMPLATE, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert _stored_templates(api) == 1
    other = api.client.post("/v1/me/templates", json={**TEMPLATE, "name": "x"}, headers=headers)
    _problem(other, 422, "idempotency-key-reused")


def test_an_unknown_placeholder_is_refused_at_save_with_its_position(api: Api) -> None:
    me = _person(api, "Grace Hopper")
    body = {
        "name": "Broken",
        "subject": "Hi {nickname}",
        "body": "Line one\nat {company} }",
        "variants": {"b": {"subject": "fine", "body": "{ first_name }"}},
    }
    refused = _problem(
        api.client.post("/v1/me/templates", json=body, headers=me.auth), 422, "validation-error"
    )
    assert refused["field"] == "subject"
    positions = [(e["field"], e["offset"], e["line"], e["column"]) for e in refused["errors"]]
    assert positions == [
        ("subject", 3, 1, 4),
        ("body", 22, 2, 14),
        ("variants.b.body", 0, 1, 1),
    ]
    assert "unknown placeholder {nickname}" in refused["errors"][0]["message"]
    assert "did you mean {first_name}?" in refused["errors"][2]["message"]
    assert refused["detail"].startswith("subject, line 1, column 4: unknown placeholder")
    assert "; body, line 2, column 14: a '}' that closes nothing" in refused["detail"]
    assert _stored_templates(api) == 0
    template = _create(api, me)["id"]
    put = api.client.put(f"/v1/me/templates/{template}", json=body, headers=me.auth)
    _problem(put, 422, "validation-error")
    kept = api.client.get(f"/v1/me/templates/{template}", headers=me.auth).json()
    assert kept["subject"] == TEMPLATE["subject"]


def test_template_texts_follow_the_text_rules(api: Api) -> None:
    me = _person(api, "Grace Hopper")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subject": "x" * 201}, "subject"),
        ({"body": "x" * 2001}, "body"),
        ({"name": " "}, "name"),
        ({"subject": "two\nlines"}, "subject"),
        ({"variants": {"b": {"subject": "s", "body": ""}}}, "variants.b.body"),
        ({"variants": {"c": {"subject": "s", "body": "b"}}}, "variants.c"),
        ({"variants": {"b": None}}, "variants.b"),
        ({"body": None}, "body"),
    ]
    for change, field in cases:
        answer = api.client.post("/v1/me/templates", json={**TEMPLATE, **change}, headers=me.auth)
        assert _problem(answer, 422, "validation-error")["field"] == field, change
    assert _stored_templates(api) == 0


# ---- rendering -----------------------------------------------------------------------------


def test_render_fills_the_placeholders_for_the_recipient(api: Api) -> None:
    me = _person(api, "Grace Hopper", school="Yale", interests=["chess"])
    ada = _person(
        api, "Ada Lovelace", company="Engines Ltd", school="yale", interests=["Chess", "poetry"]
    )
    body = "{first_name} {last_name}, {school}, {shared_school}, {shared_interest}, {my_name}"
    template = _create(api, me, body=body, variants={"b": {"subject": "B", "body": "B body"}})
    url = f"/v1/me/templates/{template['id']}/render"
    rendered = api.client.post(url, json={"to": ada.id}, headers=me.auth)
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "subject": "A role at Engines Ltd",
        "body": "Ada Lovelace, yale, yale, Chess, Grace Hopper",
        "template_id": template["id"],
        "variant": "a",
        "to": ada.id,
    }
    b = api.client.post(url, json={"to": ada.id, "variant": "b"}, headers=me.auth).json()
    assert (b["subject"], b["body"], b["variant"]) == ("B", "B body", "b")


def test_a_missing_placeholder_names_each_one_and_the_recipient(api: Api) -> None:
    me, plato = _person(api, "Grace Hopper"), _person(api, "Plato")
    template = _create(
        api, me, subject="For {company}", body="Dear {first_name} {last_name} of {company}"
    )
    answer = api.client.post(
        f"/v1/me/templates/{template['id']}/render", json={"to": plato.id}, headers=me.auth
    )
    refused = _problem(answer, 422, "template-placeholder-missing")
    assert refused["recipient"] == plato.id
    assert refused["missing"] == [
        {"placeholder": "company", "field": "subject"},
        {"placeholder": "last_name", "field": "body"},
        {"placeholder": "company", "field": "body"},
    ]
    assert "{last_name} (in the body)" in refused["detail"]


def test_render_refusals_name_what_is_wrong(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace", headline="h" * 250)
    template = _create(api, me)["id"]
    url = f"/v1/me/templates/{template}/render"
    no_b = api.client.post(url, json={"to": ada.id, "variant": "b"}, headers=me.auth)
    assert _problem(no_b, 422, "validation-error")["field"] == "variant"
    yourself = api.client.post(url, json={"to": me.id}, headers=me.auth)
    assert _problem(yourself, 422, "validation-error")["field"] == "to"
    _problem(api.client.post(url, json={"to": "m_nobody"}, headers=me.auth), 404, "not-found")
    bad_variant = api.client.post(url, json={"to": ada.id, "variant": "c"}, headers=me.auth)
    assert _problem(bad_variant, 422, "validation-error")["field"] == "variant"
    long = _create(api, me, subject="About {headline}")["id"]
    too_long = api.client.post(
        f"/v1/me/templates/{long}/render", json={"to": ada.id}, headers=me.auth
    )
    refused = _problem(too_long, 422, "validation-error")
    assert refused["field"] == "subject"
    assert "at most 200" in refused["detail"]


# ---- sending -------------------------------------------------------------------------------


def test_a_send_from_a_template_stores_the_rendered_text_template_and_variant(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace", company="Engines")
    template = _create(api, me, variants={"b": {"subject": "B {first_name}", "body": "B body"}})
    sent = api.client.post(
        "/v1/inmails",
        json={"to": ada.id, "template_id": template["id"], "variant": "b"},
        headers=me.auth,
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["cost_credits"], sent.json()["balance_after"]) == (1, 24)
    thread = api.client.get(f"/v1/threads/{sent.json()['thread_id']}", headers=ada.auth).json()
    assert [(m["subject"], m["body"]) for m in thread["messages"]] == [("B Ada", "B body")]
    with _deps(api).db.read() as conn:
        row = conn.execute(select(messages).where(messages.c.id == sent.json()["id"])).one()
    assert (row.template_id, row.variant) == (template["id"], "b")

    bob = _person(api, "Bob Builder")
    plain_a = api.client.post(
        "/v1/inmails", json={"to": bob.id, "template_id": template["id"]}, headers=me.auth
    )
    assert plain_a.status_code == 201
    with _deps(api).db.read() as conn:
        row = conn.execute(select(messages).where(messages.c.id == plain_a.json()["id"])).one()
    assert (row.subject, row.variant) == ("A role at your company", "a")


def test_a_send_takes_a_template_or_subject_and_body_not_both_not_neither(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    template = _create(api, me)["id"]
    cases = [
        ({"template_id": template, "subject": "s", "body": "b"}, "template_id"),
        ({"template_id": template, "body": "b"}, "template_id"),
        ({}, "subject"),
        ({"subject": "s"}, "body"),
        ({"body": "b"}, "subject"),
        ({"subject": "s", "body": "b", "variant": "a"}, "variant"),
        ({"template_id": "bad id!"}, "template_id"),
        ({"subject": None, "body": "b"}, "subject"),
    ]
    for extra, field in cases:
        answer = api.client.post("/v1/inmails", json={"to": ada.id, **extra}, headers=me.auth)
        assert _problem(answer, 422, "validation-error")["field"] == field, extra
    assert _balance(api, me) == 25
    assert api.client.get("/v1/threads", headers=me.auth).json()["items"] == []


def test_a_send_refused_for_a_missing_placeholder_charges_nothing(api: Api) -> None:
    me, plato = _person(api, "Grace Hopper"), _person(api, "Plato")
    template = _create(api, me, body="Dear {first_name} {last_name}")["id"]
    headers = {**me.auth, "Idempotency-Key": "send-1"}
    answer = api.client.post(
        "/v1/inmails", json={"to": plato.id, "template_id": template}, headers=headers
    )
    refused = _problem(answer, 422, "template-placeholder-missing")
    assert (refused["recipient"], refused["missing"]) == (
        plato.id,
        [{"placeholder": "last_name", "field": "body"}],
    )
    assert _balance(api, me) == 25
    assert api.client.get("/v1/threads", headers=me.auth).json()["items"] == []
    deleted = _create(api, me)["id"]
    api.client.delete(f"/v1/me/templates/{deleted}", headers=me.auth)
    gone = api.client.post(
        "/v1/inmails", json={"to": plato.id, "template_id": deleted}, headers=me.auth
    )
    _problem(gone, 404, "not-found")
    assert _balance(api, me) == 25


def test_a_retried_template_send_answers_the_first_send_after_an_edit(api: Api) -> None:
    me, ada = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    template = _create(api, me)["id"]
    headers = {**me.auth, "Idempotency-Key": "send-1"}
    body = {"to": ada.id, "template_id": template}
    first = api.client.post("/v1/inmails", json=body, headers=headers)
    changed = {**TEMPLATE, "body": "Entirely new text"}
    api.client.put(f"/v1/me/templates/{template}", json=changed, headers=me.auth)
    again = api.client.post("/v1/inmails", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert _balance(api, me) == 24
    other = api.client.post("/v1/inmails", json={**body, "variant": "b"}, headers=headers)
    _problem(other, 422, "idempotency-key-reused")


def test_a_template_send_keeps_the_send_rules(api: Api) -> None:
    me, friend = _person(api, "Grace Hopper"), _person(api, "Ada Lovelace")
    api.client.post("/v1/admin/connections", json={"a": me.id, "b": friend.id}, headers=api.admin)
    template = _create(api, me)["id"]
    answer = api.client.post(
        "/v1/inmails", json={"to": friend.id, "template_id": template}, headers=me.auth
    )
    _problem(answer, 409, "recipient-is-connection")
    assert _balance(api, me) == 25


# ---- stats ---------------------------------------------------------------------------------


def test_stats_give_each_template_and_variant_its_counts(api: Api) -> None:
    me = _person(api, "Grace Hopper", plan="recruiter")
    template = _create(api, me, variants={"b": {"subject": "B", "body": "B body"}})["id"]
    people = [_person(api, f"Person {i}", plan="basic") for i in range(4)]
    threads = []
    for person, variant in zip(people, ["a", "b", "a", "b"], strict=True):
        body = {"to": person.id, "template_id": template, "variant": variant}
        threads.append(api.client.post("/v1/inmails", json=body, headers=me.auth).json())
    reply = {"body": "Sure, let's talk"}
    api.client.post(
        f"/v1/threads/{threads[0]['thread_id']}/messages", json=reply, headers=people[0].auth
    )
    api.client.post(f"/v1/threads/{threads[1]['thread_id']}/decline", headers=people[1].auth)
    api.client.post(
        "/v1/inmails", json={"to": people[0].id, "subject": "s", "body": "b"}, headers=me.auth
    )

    stats = api.client.get("/v1/me/stats", headers=me.auth).json()
    assert stats["inmails_sent"] == 5
    (line,) = stats["templates"]
    assert (line["template_id"], line["name"], line["deleted"]) == (
        template,
        "Role outreach",
        False,
    )
    counts = ("sent", "answered", "declined", "pending_under_30_days", "counted", "response_rate")
    assert [line["total"][k] for k in counts] == [4, 1, 1, 2, 2, 1.0]
    by_variant = {v["variant"]: [v[k] for k in counts] for v in line["variants"]}
    assert by_variant == {"a": [2, 1, 0, 1, 1, 1.0], "b": [2, 0, 1, 1, 1, 1.0]}

    api.advance(days=31)
    api.client.delete(f"/v1/me/templates/{template}", headers=me.auth)
    later = api.client.get("/v1/me/stats", headers=me.auth).json()
    (line,) = later["templates"]
    assert line["deleted"] is True
    assert [line["total"][k] for k in counts] == [4, 1, 1, 0, 4, 0.5]
    assert line["total"]["no_response"] == 2
