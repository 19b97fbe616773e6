"""The published OpenAPI document states what the server does: one Problem for every error,
the limits and patterns the domain enforces, null only where null is accepted, lists as pages,
and links between operations."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.domain import (
    coach,
    credits,
    messaging,
    network,
    plans,
    profile,
    reputation,
    targeting,
    teams,
    templates,
    webhooks,
)
from inmail.domain.events import EVENT_TYPES
from inmail.domain.text import TextRule
from tests.api.conftest import ADMIN_TOKEN, Api

METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("openapi") / "inmail.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(database_url=f"sqlite:///{path}", admin_token=ADMIN_TOKEN)
    with TestClient(create_app(runtime=build(settings))) as client:
        served = client.get("/openapi.json")
    assert served.status_code == 200
    body: dict[str, Any] = served.json()
    return body


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _schema(document: dict[str, Any], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


# --- 4. One Problem ------------------------------------------------------------------------


def test_every_error_answer_of_every_operation_is_the_one_problem(
    document: dict[str, Any],
) -> None:
    errors = 0
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                errors += 1
                content = response["content"]
                assert content == {"application/problem+json": {"schema": PROBLEM}}, (
                    f"{method.upper()} {path} {status}"
                )
    assert errors > 300  # 58 operations, each with 401, 422, 503 and more
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}


def test_operations_with_a_body_declare_413_and_secured_ones_401(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert "503" in responses
        if "requestBody" in operation:
            assert "413" in responses, f"{method.upper()} {path}"
        if operation.get("security"):
            assert "401" in responses, f"{method.upper()} {path}"


# --- 5. Limits from the domain, stated exactly -----------------------------------------------

# (request schema, field) -> the domain rule the server checks it with.
TEXT_FIELDS: dict[tuple[str, str], TextRule] = {
    ("GrantIn", "reason"): credits.ADJUSTMENT_REASON,
    ("DebitIn", "reason"): credits.ADJUSTMENT_REASON,
    ("InmailIn", "subject"): messaging.SUBJECT,
    ("InmailIn", "body"): messaging.BODY,
    ("MessageIn", "body"): messaging.BODY,
    ("ThreadMessageIn", "body"): messaging.BODY,
    ("GroupMessageIn", "body"): messaging.BODY,
    ("PostIn", "body"): network.POST,
    ("InvitationIn", "note"): network.INVITATION_NOTE,
    ("IntroductionIn", "note"): network.INTRODUCTION_NOTE,
    ("ForwardIn", "note"): network.FORWARD_NOTE,
    ("ContactFieldIn", "value"): network.CONTACT_VALUE,
    ("GroupIn", "name"): network.GROUP_NAME,
    ("GroupIn", "description"): network.GROUP_DESCRIPTION,
    ("MemberIn", "name"): profile.NAME,
    ("MemberIn", "headline"): profile.HEADLINE,
    ("MemberIn", "company"): profile.COMPANY,
    ("MemberIn", "school"): profile.SCHOOL,
    ("MemberIn", "interests"): profile.INTEREST,
    ("PlanIn", "name"): plans.PLAN_NAME,
    ("CoachIn", "subject"): coach.DRAFT_SUBJECT,
    ("CoachIn", "body"): coach.DRAFT_BODY,
    ("TemplateIn", "name"): templates.NAME,
    ("TemplateIn", "subject"): templates.SUBJECT_SOURCE,
    ("TemplateIn", "body"): templates.BODY_SOURCE,
    ("LetterIn", "subject"): templates.SUBJECT_SOURCE,
    ("LetterIn", "body"): templates.BODY_SOURCE,
    ("FollowUpIn", "body"): messaging.BODY,
    ("TargetingIn", "q"): targeting.QUERY,
    ("TeamIn", "name"): teams.TEAM_NAME,
    ("AppealIn", "text"): reputation.APPEAL,
}
ID = {"minLength": 1, "maxLength": 40, "pattern": "^[A-Za-z0-9_-]+$"}
CURSOR_PATTERN = "^[A-Za-z0-9_-]+={0,2}$"
CODE = {"minLength": 1, "maxLength": plans.CODE_MAX, "pattern": plans.CODE_PATTERN}
# Other string fields: ids, codes, the handle, enums and times, by their published constraints.
SHAPED_FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("InmailIn", "to"): ID,
    ("MessageIn", "to"): ID,
    ("GroupMessageIn", "to"): ID,
    ("InvitationIn", "to"): ID,
    ("IntroductionIn", "target"): ID,
    ("IntroductionIn", "via"): ID,
    ("ConnectionIn", "a"): ID,
    ("ConnectionIn", "b"): ID,
    ("MemberIn", "handle"): {"minLength": 2, "maxLength": 30, "pattern": profile.HANDLE_PATTERN},
    ("MemberIn", "plan"): CODE,
    ("PlanChangeIn", "plan"): CODE,
    ("PurchaseIn", "pack"): CODE,
    ("SeatIn", "member"): ID,
    ("TeamIn", "plan"): CODE,
    ("PlanIn", "overage_pack"): CODE,
    ("PriceIn", "currency"): {"pattern": "^[A-Z]{3}$"},
    ("ContactFieldIn", "visibility"): {"enum": ["only_me", "connections", "network", "everyone"]},
    ("ClockIn", "now"): {"format": "date-time"},
    ("GrantIn", "expires_at"): {"format": "date-time"},
    ("CoachIn", "to"): ID,
    ("BulkSendIn", "template_id"): ID,
    ("BulkSendIn", "recipients"): ID,
    ("BulkSendIn", "connections"): {"enum": ["message", "skip"]},
    ("InmailIn", "template_id"): ID,
    ("InmailIn", "variant"): {"enum": ["a", "b"]},
    ("RenderIn", "to"): ID,
    ("RenderIn", "variant"): {"enum": ["a", "b"]},
    ("FollowUpIn", "template_id"): ID,
    ("TargetingIn", "candidates"): ID,
    ("TargetingIn", "cursor"): {"minLength": 1, "maxLength": 200, "pattern": CURSOR_PATTERN},
    ("DeclineIn", "reason"): {"enum": ["not_interested", "not_now", "wrong_person"]},
    ("ReportIn", "reason"): {"enum": ["spam", "not_relevant"]},
    ("SettingsIn", "time_zone"): {
        "minLength": 1,
        "maxLength": profile.TIME_ZONE_MAX,
        "pattern": profile.TIME_ZONE_PATTERN,
    },
    ("WebhookIn", "url"): {
        "minLength": 1,
        "maxLength": webhooks.URL_MAX,
        "pattern": webhooks.URL_PATTERN,
    },
    ("WebhookIn", "events"): {"enum": ["*", *EVENT_TYPES]},
    ("WebhookIn", "secret"): {"maxLength": 200, "pattern": webhooks.SECRET_PATTERN},
}


def _request_schemas(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every schema a request body uses, nested ones included, by name."""
    found: dict[str, dict[str, Any]] = {}
    todo = [
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for _, _, op in _operations(document)
        if "requestBody" in op
    ]
    while todo:
        ref = todo.pop()
        name = ref.rsplit("/", 1)[1]
        if name not in found:
            found[name] = _schema(document, ref)
            todo += re.findall(r"'\$ref': '([^']+)'", str(found[name]))
    return found


def _string_branch(prop: dict[str, Any]) -> dict[str, Any] | None:
    """The string schema of a property (an array's items; the non-null branch), if any."""
    if prop.get("type") == "array":
        return _string_branch(prop["items"])
    for branch in prop.get("anyOf", []):
        if branch.get("type") == "string":
            return dict(branch)
    return prop if prop.get("type") == "string" else None


def test_every_string_field_of_every_request_states_what_the_server_enforces(
    document: dict[str, Any],
) -> None:
    seen = set()
    for name, schema in _request_schemas(document).items():
        for field, prop in schema["properties"].items():
            string = _string_branch(prop)
            if string is None:
                continue
            seen.add((name, field))
            if (name, field) in TEXT_FIELDS:
                rule = TEXT_FIELDS[(name, field)]
                published = (string["minLength"], string["maxLength"], string["pattern"])
                assert published == (rule.min_length, rule.max_length, rule.pattern), (
                    name,
                    field,
                )
            else:
                expected = SHAPED_FIELDS[(name, field)]
                assert {k: string.get(k) for k in expected} == expected, (name, field)
    assert seen == set(TEXT_FIELDS) | set(SHAPED_FIELDS)


def test_the_published_limits_are_the_domain_constants(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["InmailIn"]["properties"]["subject"]["maxLength"] == messaging.SUBJECT_MAX == 200
    assert schemas["InmailIn"]["properties"]["body"]["maxLength"] == messaging.BODY_MAX == 2000
    assert schemas["PostIn"]["properties"]["body"]["maxLength"] == network.POST_MAX == 3000
    contact_value = schemas["ContactFieldIn"]["properties"]["value"]["maxLength"]
    assert contact_value == network.CONTACT_VALUE_MAX == 300  # e-mail, phone and website
    note = schemas["IntroductionIn"]["properties"]["note"]["maxLength"]
    assert note == network.INTRODUCTION_NOTE_MAX == 1000
    handle = schemas["MemberIn"]["properties"]["handle"]
    assert handle["pattern"] == profile.HANDLE_PATTERN == "^[a-z0-9][a-z0-9_-]{1,29}$"
    grant_reason = schemas["GrantIn"]["properties"]["reason"]["maxLength"]
    assert grant_reason == credits.ADJUSTMENT_REASON_MAX == 180


# Every field the document declares nullable, and a request sending it as null.
NULLABLE: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
    ("PlanIn", "plan_credit_lifetime_days"): (
        "PUT",
        "/v1/admin/plans/recruiter",
        {"plan_credit_lifetime_days": None},
    ),
    ("SettingsIn", "overage_limit_minor"): (
        "PUT",
        "/v1/me/settings",
        {"overage_limit_minor": None},
    ),
    ("ClockIn", "advance_days"): ("POST", "/v1/admin/clock", {"advance_days": None}),
    ("ClockIn", "advance_seconds"): ("POST", "/v1/admin/clock", {"advance_seconds": None}),
    ("ClockIn", "now"): ("POST", "/v1/admin/clock", {"now": None}),
    ("ContactInfoIn", "email"): ("PUT", "/v1/me/contact-info", {"email": None}),
    ("ContactInfoIn", "phone"): ("PUT", "/v1/me/contact-info", {"phone": None}),
    ("ContactInfoIn", "website"): ("PUT", "/v1/me/contact-info", {"website": None}),
    ("ContactFieldIn", "visibility"): (
        "PUT",
        "/v1/me/contact-info",
        {"email": {"value": "ada@example.com", "visibility": None}},
    ),
    ("ForwardIn", "note"): ("POST", "/v1/introductions/{intro}/forward", {"note": None}),
    ("TeamIn", "pool_cap"): (
        "POST",
        "/v1/admin/teams",
        {"name": "Null cap", "plan": "recruiter", "seats": 1, "pool_cap": None},
    ),
    ("TeamTermsIn", "pool_cap"): ("PUT", "/v1/admin/teams/{team}", {"seats": 1, "pool_cap": None}),
    ("SeatCapIn", "monthly_cap"): (
        "PUT",
        "/v1/teams/{team}/seats/{me}/cap",
        {"monthly_cap": None},
    ),
}


def test_the_nullable_fields_are_exactly_those_listed(document: dict[str, Any]) -> None:
    nullable = {
        (name, field)
        for name, schema in _request_schemas(document).items()
        for field, prop in schema["properties"].items()
        if {"type": "null"} in prop.get("anyOf", [])
    }
    assert nullable == set(NULLABLE)


def test_every_nullable_field_accepts_null(api: Api) -> None:
    me, via, target = api.member("premium_business"), api.member(), api.member()
    for a, b in ((me, via), (via, target)):
        api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    asked = {"target": target.id, "via": via.id, "note": "Please"}
    intro = api.client.post("/v1/introductions", json=asked, headers=me.auth).json()["id"]
    team_body = {"name": "Nulls", "plan": "recruiter", "seats": 1}
    team = api.client.post("/v1/admin/teams", json=team_body, headers=api.admin).json()["id"]
    seat = {"member": me.id, "admin": True}
    api.client.post(f"/v1/admin/teams/{team}/seats", json=seat, headers=api.admin)
    for (name, field), (method, url, body) in NULLABLE.items():
        auth = (
            api.admin if url.startswith("/v1/admin/") else via.auth if "intro" in url else me.auth
        )
        where = url.format(intro=intro, team=team, me=me.id)
        answer = api.client.request(method, where, json=body, headers=auth)
        assert answer.status_code in (200, 201), f"{name}.{field}: {answer.text}"


# --- 6. Lists are pages --------------------------------------------------------------------


def test_every_list_is_a_page_with_limit_and_cursor(document: dict[str, Any]) -> None:
    pages = 0
    for path, method, operation in _operations(document):
        answer = operation["responses"].get("200", {}).get("content", {})
        schema = answer.get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", f"{method.upper()} {path} answers a bare array"
        if schema.get("$ref", "").startswith("#/components/schemas/Page_"):
            pages += 1
            assert set(_schema(document, schema["$ref"])["properties"]) == {"items", "next_cursor"}
            names = {p["name"] for p in operation.get("parameters", [])}
            if "requestBody" in operation:  # a list asked for with a body pages in its body
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                names |= set(_schema(document, ref)["properties"])
            assert {"limit", "cursor"} <= names, f"{method.upper()} {path}"
    # GET /v1/me/tokens and GET /v1/admin/packs (issue 11); webhooks and their deliveries;
    # GET /v1/me/credits/lots (issue 13); GET /v1/admin/suspensions (issue 14 §3);
    # GET /v1/admin/teams (issue 14 §1)
    assert pages == 26


# --- 8. Links for the stateful phase -----------------------------------------------------------


def test_links_lead_from_what_is_created_to_what_uses_it(document: dict[str, Any]) -> None:
    paths = document["paths"]
    ids = {op["operationId"] for _, _, op in _operations(document)}
    created = paths["/v1/admin/members"]["post"]["responses"]["201"]["links"]
    assert created["IssueToken"]["parameters"] == {"path.member_id": "$response.body#/id"}
    sent = paths["/v1/inmails"]["post"]["responses"]["201"]["links"]
    assert sent["ReadThread"]["parameters"] == {"path.thread_id": "$response.body#/thread_id"}
    for _, _, operation in _operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ids
