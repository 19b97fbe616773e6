"""An API client on each engine, with a test clock and an operator token."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from tests.conftest import T0

ADMIN_TOKEN = "operator-secret"
_handles = itertools.count(1)


@dataclass
class Api:
    client: TestClient
    admin: dict[str, str]

    def member(self, plan: str = "premium_business", handle: str | None = None) -> Member:
        body = {"handle": handle or f"member{next(_handles)}", "name": "Member", "plan": plan}
        created = self.client.post("/v1/admin/members", json=body, headers=self.admin)
        assert created.status_code == 201, created.text
        member_id = created.json()["id"]
        token = self.client.post(f"/v1/admin/members/{member_id}/tokens", headers=self.admin)
        assert token.status_code == 201
        return Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})

    def advance(self, days: int = 0, seconds: int = 0) -> str:
        body = {"advance_days": days, "advance_seconds": seconds}
        moved = self.client.post("/v1/admin/clock", json=body, headers=self.admin)
        assert moved.status_code == 200, moved.text
        now: str = moved.json()["now"]
        return now


@dataclass(frozen=True)
class Member:
    id: str
    auth: dict[str, str]


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    settings = Settings(database_url=db_url, admin_token=ADMIN_TOKEN, test_clock=T0)
    runtime = build(settings)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield Api(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
