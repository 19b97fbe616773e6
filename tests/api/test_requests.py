"""What the API accepts, identically on SQLite and PostgreSQL: text rules, strict JSON types,
a body-size limit, and the HTTP methods of every path (OPTIONS, HEAD, 405 with Allow)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from tests.api.conftest import ADMIN_TOKEN, Api, Member
from tests.conftest import T0


def _problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    if field is not None:
        assert body.get("field") == field, body
    return body


def _state(api: Api, member: Member) -> tuple[int, int, int, int]:
    """Balance, ledger lines, threads and charges: what a refused send must leave alone."""
    get = api.client.get
    return (
        get("/v1/me/credits", headers=member.auth).json()["balance"],
        len(get("/v1/me/credits/ledger?limit=200", headers=member.auth).json()["items"]),
        len(get("/v1/threads", headers=member.auth).json()["items"]),
        len(get("/v1/me/charges", headers=member.auth).json()["items"]),
    )


# --- 1. Control characters and invisible-only text -----------------------------------------

INVISIBLE_OR_CONTROL = {
    "\u0000": "subject cannot contain control characters or line breaks",
    "\u200b": "subject cannot be blank (only spaces or invisible characters)",
    "\ufeff": "subject cannot be blank (only spaces or invisible characters)",
}


@pytest.mark.parametrize("subject", INVISIBLE_OR_CONTROL, ids=["nul", "zwsp", "bom"])
def test_an_inmail_subject_of_a_control_or_invisible_character_is_refused_and_not_charged(
    api: Api, subject: str
) -> None:
    sender, recipient = api.member("premium_business"), api.member("basic")
    before = _state(api, sender)
    assert before == (25, 1, 0, 1)
    sent = api.client.post(
        "/v1/inmails",
        json={"to": recipient.id, "subject": subject, "body": "Hello"},
        headers=sender.auth,
    )
    body = _problem(sent, 422, "validation-error", field="subject")
    assert body["detail"] == f"subject: {INVISIBLE_OR_CONTROL[subject]}"
    assert _state(api, sender) == before


def test_every_text_a_client_sends_follows_the_text_rule(api: Api) -> None:
    ada, bob = api.member("premium_business"), api.member("premium_business")
    api.client.post("/v1/admin/connections", json={"a": ada.id, "b": bob.id}, headers=api.admin)
    group = api.client.post("/v1/groups", json={"name": "Makers"}, headers=ada.auth).json()
    post = api.client.post("/v1/posts", json={"body": "Hello"}, headers=ada.auth).json()
    nul = "Hi\u0000"
    refused = [
        ("/v1/admin/members", {"handle": "eve", "name": nul}, api.admin, "name"),
        ("/v1/admin/members", {"handle": "eve", "name": "Eve", "headline": "\u200b"}, api.admin,
         "headline"),
        ("/v1/admin/members", {"handle": "eve", "name": "Eve", "interests": ["\ufeff"]}, api.admin,
         "interests.0"),
        ("/v1/messages", {"to": bob.id, "body": nul}, ada.auth, "body"),
        ("/v1/groups", {"name": "\u2060"}, ada.auth, "name"),
        ("/v1/groups", {"name": "G", "description": nul}, ada.auth, "description"),
        (f"/v1/groups/{group['id']}/messages", {"to": bob.id, "body": "\u200b"}, ada.auth, "body"),
        ("/v1/posts", {"body": nul}, ada.auth, "body"),
        (f"/v1/posts/{post['id']}/comments", {"body": "\ufeff"}, ada.auth, "body"),
        ("/v1/invitations", {"to": bob.id, "note": nul}, ada.auth, "note"),
        ("/v1/introductions", {"target": bob.id, "via": bob.id, "note": "\u200b"}, ada.auth,
         "note"),
    ]  # fmt: skip
    for url, json, auth, field in refused:
        _problem(api.client.post(url, json=json, headers=auth), 422, "validation-error", field)
    contact = {"website": {"value": "\u200b"}}
    answer = api.client.put("/v1/me/contact-info", json=contact, headers=ada.auth)
    _problem(answer, 422, "validation-error", "website.value")
    plan = api.client.put("/v1/admin/plans/recruiter", json={"name": nul}, headers=api.admin)
    _problem(plan, 422, "validation-error", "name")
    # Nothing was written: no member eve, one group, one post, no contact info, the plan's name.
    assert (
        api.client.post(
            "/v1/admin/members", json={"handle": "eve", "name": "Eve"}, headers=api.admin
        ).status_code
        == 201
    )
    assert len(api.client.get("/v1/feed", headers=ada.auth).json()["items"]) == 1
    assert api.client.get(f"/v1/members/{ada.id}/contact-info", headers=bob.auth).json() == {
        "email": None,
        "phone": None,
        "website": None,
    }
    plans = api.client.get("/v1/admin/plans", headers=api.admin).json()["items"]
    assert next(p for p in plans if p["code"] == "recruiter")["version"] == 1


def test_a_body_keeps_its_line_breaks_and_a_subject_refuses_them(api: Api) -> None:
    sender, recipient = api.member("premium_business"), api.member("basic")
    body = "Dear Ada,\r\n\tthank you.\nBob"
    send = {"to": recipient.id, "subject": "Hi\nthere", "body": body}
    refused = api.client.post("/v1/inmails", json=send, headers=sender.auth)
    _problem(refused, 422, "validation-error", field="subject")
    sent = api.client.post("/v1/inmails", json={**send, "subject": "Hi"}, headers=sender.auth)
    assert sent.status_code == 201
    thread = api.client.get(f"/v1/threads/{sent.json()['thread_id']}", headers=sender.auth)
    assert thread.json()["messages"][0]["body"] == body


# --- 2. Strict JSON types ------------------------------------------------------------------


def test_a_string_is_not_a_boolean(api: Api) -> None:
    member = api.member("premium_business")
    before = api.client.get("/v1/me/settings", headers=member.auth).json()
    answer = api.client.put("/v1/me/settings", json={"inmail_open": "yes"}, headers=member.auth)
    _problem(answer, 422, "validation-error", field="inmail_open")
    assert api.client.get("/v1/me/settings", headers=member.auth).json() == before


def test_a_boolean_is_not_a_number(api: Api) -> None:
    change = {"monthly_allotment": True}
    answer = api.client.put("/v1/admin/plans/recruiter", json=change, headers=api.admin)
    _problem(answer, 422, "validation-error", field="monthly_allotment")
    plans = api.client.get("/v1/admin/plans", headers=api.admin).json()["items"]
    recruiter = next(p for p in plans if p["code"] == "recruiter")
    assert (recruiter["version"], recruiter["monthly_allotment"]) == (1, 50)


def test_numbers_as_strings_and_times_as_numbers_are_refused(api: Api) -> None:
    member = api.member("premium_business")
    limit = {"overage_limit_minor": "500"}
    answer = api.client.put("/v1/me/settings", json=limit, headers=member.auth)
    _problem(answer, 422, "validation-error", field="overage_limit_minor")
    for now in (0, "0", "2026-03-01", "2026-03-01T09:00:00"):
        moved = api.client.post("/v1/admin/clock", json={"now": now}, headers=api.admin)
        _problem(moved, 422, "validation-error", field="now")


def test_times_as_iso_strings_and_whole_numbers_written_with_a_point_are_read(api: Api) -> None:
    moved = api.client.post(
        "/v1/admin/clock", json={"now": "2026-03-01T10:00:00+01:00"}, headers=api.admin
    )
    assert (moved.status_code, moved.json()) == (200, {"now": "2026-03-01T09:00:00Z"})
    change = {"max_followups": 2.0}  # an integer to JSON Schema
    edited = api.client.put("/v1/admin/plans/recruiter", json=change, headers=api.admin)
    assert (edited.status_code, edited.json()["max_followups"]) == (200, 2)
    fraction = api.client.put(
        "/v1/admin/plans/recruiter", json={"max_followups": 2.5}, headers=api.admin
    )
    _problem(fraction, 422, "validation-error", field="max_followups")


def test_null_is_refused_where_leaving_the_field_out_is_meant(api: Api) -> None:
    member = api.member("premium_business")
    answer = api.client.put("/v1/me/settings", json={"auto_overage": None}, headers=member.auth)
    _problem(answer, 422, "validation-error", field="auto_overage")


def test_a_body_that_is_not_json_is_a_validation_error_without_a_field(api: Api) -> None:
    member = api.member("basic")
    headers = {**member.auth, "Content-Type": "application/json"}
    answer = api.client.post("/v1/posts", content=b'{"body": "Hi"', headers=headers)
    body = _problem(answer, 422, "validation-error")
    assert (body["detail"], "field" in body) == (
        "request: the request body is not valid JSON",
        False,
    )


# --- 3. The body-size limit ----------------------------------------------------------------

LIMIT = 4096


@pytest.fixture
def small(db_url: str) -> Iterator[Api]:
    """An API whose bodies are limited to 4 KiB (INMAIL_MAX_BODY_BYTES)."""
    settings = Settings(
        database_url=db_url, admin_token=ADMIN_TOKEN, test_clock=T0, max_body_bytes=LIMIT
    )
    with TestClient(create_app(runtime=build(settings)), raise_server_exceptions=False) as client:
        yield Api(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})


def test_the_default_limit_is_one_mebibyte() -> None:
    assert Settings().max_body_bytes == 1_048_576


def _padded_send(to: str, size: int) -> bytes:
    """A valid send, padded with JSON whitespace to ``size`` bytes."""
    text = f'{{"to": "{to}", "subject": "Hi", "body": "Hello"}}'.encode()
    return text[:-1] + b" " * (size - len(text)) + b"}"


def test_a_body_over_the_limit_is_refused_before_it_is_read(small: Api) -> None:
    sender, recipient = small.member("premium_business"), small.member("basic")
    before = _state(small, sender)
    headers = {**sender.auth, "Content-Type": "application/json"}
    refused = small.client.post(
        "/v1/inmails", content=_padded_send(recipient.id, LIMIT + 1), headers=headers
    )
    body = _problem(refused, 413, "payload-too-large")
    assert body["detail"] == "the request body is over the limit of 4096 bytes"
    assert _state(small, sender) == before
    accepted = small.client.post(
        "/v1/inmails", content=_padded_send(recipient.id, LIMIT), headers=headers
    )
    assert accepted.status_code == 201


def test_a_chunked_body_is_counted_as_it_arrives(small: Api) -> None:
    sender, recipient = small.member("premium_business"), small.member("basic")
    before = _state(small, sender)
    payload = _padded_send(recipient.id, LIMIT * 3)

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    headers = {**sender.auth, "Content-Type": "application/json"}
    refused = small.client.post("/v1/inmails", content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in refused.request.headers}
    _problem(refused, 413, "payload-too-large")
    assert _state(small, sender) == before


# --- 7. Methods: OPTIONS on every path, HEAD with GET, and Allow on 405 ----------------------

ALLOW = {
    "/v1/admin/clock": "GET, HEAD, OPTIONS, POST",
    "/v1/inmails/m_1": "DELETE, OPTIONS, PATCH",
    "/v1/inmails": "OPTIONS, POST",
    "/v1/me/settings": "GET, HEAD, OPTIONS, PUT",
    "/v1/me/subscription": "GET, HEAD, OPTIONS, PUT",
    "/v1/members/m_1/block": "DELETE, OPTIONS, PUT",
    "/v1/me/credits": "GET, HEAD, OPTIONS",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any) -> Iterator[TestClient]:
    import shutil

    path = tmp_path_factory.mktemp("methods") / "inmail.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(database_url=f"sqlite:///{path}", admin_token=ADMIN_TOKEN, test_clock=T0)
    with TestClient(create_app(runtime=build(settings)), raise_server_exceptions=False) as made:
        yield made


@pytest.mark.parametrize(("path", "allow"), ALLOW.items(), ids=ALLOW.keys())
def test_options_answers_every_method_of_the_path_without_a_token(
    client: TestClient, path: str, allow: str
) -> None:
    answer = client.options(path)
    assert (answer.status_code, answer.headers["allow"], answer.content) == (204, allow, b"")


@pytest.mark.parametrize(("path", "allow"), ALLOW.items(), ids=ALLOW.keys())
def test_a_method_the_path_does_not_serve_is_405_with_every_method_allowed(
    client: TestClient, path: str, allow: str
) -> None:
    answer = client.request("TRACE", path)
    _problem(answer, 405, "method-not-allowed")
    assert answer.headers["allow"] == allow


def test_head_answers_like_get_without_the_body(client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    got, head = (
        client.get("/v1/admin/clock", headers=admin),
        client.head("/v1/admin/clock", headers=admin),
    )
    assert (got.status_code, head.status_code) == (200, 200)
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert client.head("/v1/admin/clock").status_code == 401


def test_options_on_an_unknown_path_is_404(client: TestClient) -> None:
    assert client.options("/v1/nothing-here").status_code == 404
