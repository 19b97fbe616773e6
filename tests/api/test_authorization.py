"""Every endpoint x every kind of caller -> the expected status. Nothing leaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import Api, Member

NONE, WRONG, SELF, OTHER, OPERATOR = "no token", "wrong token", "self", "other member", "operator"
CALLERS = (NONE, WRONG, SELF, OTHER, OPERATOR)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {me} is the member under test
    body: Callable[[Member], Any] | None
    ok: int
    operator_only: bool


def _admin(
    method: str, path: str, ok: int = 200, body: Callable[[Member], Any] | None = None
) -> Endpoint:
    return Endpoint(method, path, body, ok, operator_only=True)


def _member(
    method: str, path: str, ok: int = 200, body: Callable[[Member], Any] | None = None
) -> Endpoint:
    return Endpoint(method, path, body, ok, operator_only=False)


ENDPOINTS = [
    _admin("POST", "/v1/admin/members", 201, lambda m: {"handle": f"h{m.id[-8:]}", "name": "N"}),
    _admin("POST", "/v1/admin/members/{me}/tokens", 201),
    _admin("POST", "/v1/admin/connections", 201, lambda m: {"a": m.id, "b": "{peer}"}),
    _admin("PUT", "/v1/admin/members/{me}/subscription", 200, lambda m: {"plan": "recruiter"}),
    _admin("GET", "/v1/admin/plans"),
    _admin("PUT", "/v1/admin/plans/recruiter", 200, lambda m: {"max_followups": 2}),
    _admin("POST", "/v1/admin/renewals/run"),
    _admin("GET", "/v1/admin/audit"),
    _admin("GET", "/v1/admin/charges"),
    _admin("GET", "/v1/admin/events"),
    _admin("GET", "/v1/admin/clock"),
    _admin("POST", "/v1/admin/clock", 200, lambda m: {"advance_seconds": 1}),
    _member("GET", "/v1/me"),
    _member("GET", "/v1/me/settings"),
    _member("PUT", "/v1/me/settings", 200, lambda m: {"auto_overage": False}),
    _member("GET", "/v1/me/subscription"),
    _member("PUT", "/v1/me/subscription", 200, lambda m: {"plan": "recruiter"}),
    _member("GET", "/v1/me/credits"),
    _member("GET", "/v1/me/credits/ledger"),
    _member("POST", "/v1/me/purchases", 201, lambda m: {"pack": "pack_1"}),
    _member("GET", "/v1/me/charges"),
]


def _expected(endpoint: Endpoint, caller: str) -> int:
    if caller in (NONE, WRONG):
        return 401
    if endpoint.operator_only:
        return endpoint.ok if caller == OPERATOR else 403
    return 403 if caller == OPERATOR else endpoint.ok


def _headers(api: Api, caller: str, me: Member, other: Member) -> dict[str, str]:
    return {
        NONE: {},
        WRONG: {"Authorization": "Bearer imt_not-a-real-token"},
        SELF: me.auth,
        OTHER: other.auth,
        OPERATOR: api.admin,
    }[caller]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_every_caller_gets_the_status_its_rights_allow(api: Api, endpoint: Endpoint) -> None:
    me, other, peer = api.member(), api.member(), api.member()
    for caller in CALLERS:
        body = endpoint.body(me) if endpoint.body else None
        if isinstance(body, dict) and body.get("b") == "{peer}":
            body["b"] = peer.id
        if caller == OPERATOR and endpoint.path == "/v1/admin/members":
            body = {"handle": "fresh-operator-made", "name": "N"}
        response = api.client.request(
            endpoint.method,
            endpoint.path.format(me=me.id),
            json=body,
            headers=_headers(api, caller, me, other),
        )
        assert response.status_code == _expected(endpoint, caller), (caller, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"


def test_a_member_only_ever_sees_their_own_credits_ledger_and_charges(api: Api) -> None:
    rich, poor = api.member("recruiter_corporate"), api.member("basic")
    api.client.post("/v1/me/purchases", json={"pack": "pack_25"}, headers=rich.auth)
    assert api.client.get("/v1/me/credits", headers=poor.auth).json()["balance"] == 0
    assert api.client.get("/v1/me/credits/ledger", headers=poor.auth).json()["items"] == []
    assert api.client.get("/v1/me/charges", headers=poor.auth).json()["items"] == []
    assert api.client.get("/v1/me", headers=poor.auth).json()["id"] == poor.id
    assert api.client.get("/v1/me/credits", headers=rich.auth).json()["balance"] == 100


def test_the_operator_token_is_refused_when_none_is_configured(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from inmail.api.app import create_app
    from inmail.config import Settings

    with TestClient(create_app(Settings(database_url=db_url))) as client:
        refused = client.get("/v1/admin/plans", headers={"Authorization": "Bearer "})
        assert refused.status_code == 401
        assert (
            client.get("/v1/admin/plans", headers={"Authorization": "Bearer x"}).status_code == 401
        )
