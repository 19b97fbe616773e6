"""``/v1/admin/webhooks``: register, list, delete, dead letters and their retry, on each engine;
bad input is a problem+json naming the field, and nothing is written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from inmail.bootstrap import Runtime
from inmail.domain.events import Event
from inmail.domain.webhooks import DeliveryPolicy, RetryPolicy
from inmail.services import webhooks
from tests.api.conftest import Api
from tests.api.served import free_port
from tests.conftest import T0
from tests.webhook_receiver import Receiver, append_and_dispatch, serving

ONE_TRY = DeliveryPolicy(RetryPolicy(max_attempts=1), 2.0, 5.0)


def _runtime(api: Api) -> Runtime:
    rt: Runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    return rt


def _create(api: Api, **body: Any) -> dict[str, Any]:
    made = api.client.post("/v1/admin/webhooks", json=body, headers=api.admin)
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


def _listed(api: Api) -> list[dict[str, Any]]:
    listed = api.client.get("/v1/admin/webhooks", headers=api.admin)
    assert listed.status_code == 200
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def test_an_endpoint_is_registered_with_a_secret_shown_once_then_listed_and_deleted(
    api: Api,
) -> None:
    made = _create(api, url="https://hooks.example.com/inmail", events=["charge.created"])
    assert made["id"].startswith("whk_")
    assert made["secret"].startswith("whsec_")
    assert made["events"] == ["charge.created"]
    assert made["created_at"].startswith("2026-01-31T09:00:00")
    (listed,) = _listed(api)
    assert listed == {
        "id": made["id"],
        "url": "https://hooks.example.com/inmail",
        "events": ["charge.created"],
        "created_at": made["created_at"],
        "pending": 0,
        "dead": 0,
    }
    one = api.client.get(f"/v1/admin/webhooks/{made['id']}", headers=api.admin)
    assert one.json() == listed
    gone = api.client.delete(f"/v1/admin/webhooks/{made['id']}", headers=api.admin)
    assert gone.status_code == 204
    assert _listed(api) == []
    again = api.client.delete(f"/v1/admin/webhooks/{made['id']}", headers=api.admin)
    assert (again.status_code, again.json()["code"]) == (404, "not-found")


def test_the_operators_secret_is_kept_and_a_repeat_with_the_same_key_answers_the_first(
    api: Api,
) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = {"url": "http://127.0.0.1:9/h", "events": ["*"], "secret": secret}
    headers = api.admin | {"Idempotency-Key": "hook-1"}
    first = api.client.post("/v1/admin/webhooks", json=body, headers=headers)
    repeat = api.client.post("/v1/admin/webhooks", json=body, headers=headers)
    assert (first.status_code, repeat.status_code) == (201, 201)
    assert first.json() == repeat.json()
    assert first.json()["secret"] == secret
    assert len(_listed(api)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/", "events": ["*"]}, "url"),
        ({"url": "https://u:p@example.com/", "events": ["*"]}, "url"),
        ({"url": "https://example.com/" + "a" * 2000, "events": ["*"]}, "url"),
        ({"url": "https://example.com/", "events": []}, "events"),
        ({"url": "https://example.com/", "events": ["Not A Type"]}, "events.0"),
        # Well-formed but no event has it (the type is ledger.entry_created): found in the demo.
        ({"url": "https://example.com/", "events": ["ledger_entry.created"]}, "events.0"),
        ({"url": "https://example.com/", "events": ["charge.created", "charge.paid"]}, "events.1"),
        ({"url": "https://example.com/", "events": ["*", "charge.created"]}, "events"),
        ({"url": "https://example.com/", "events": "charge.created"}, "events"),
        ({"url": "https://example.com/", "events": ["*"], "secret": "hunter2"}, "secret"),
        ({"url": "https://example.com/", "events": ["*"], "secret": None}, "secret"),
        ({"url": "https://example.com/", "events": ["*"], "extra": 1}, "extra"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    api: Api, body: dict[str, Any], field: str
) -> None:
    refused = api.client.post("/v1/admin/webhooks", json=body, headers=api.admin)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "validation-error"
    assert refused.json()["field"] == field
    assert _listed(api) == []


def test_members_may_not_manage_webhooks(api: Api) -> None:
    member = api.member()
    body = {"url": "https://example.com/", "events": ["*"]}
    assert api.client.post("/v1/admin/webhooks", json=body, headers=member.auth).status_code == 403
    assert api.client.get("/v1/admin/webhooks").status_code == 401


def test_dead_letters_are_listed_and_a_retry_delivers_them_with_the_same_id(api: Api) -> None:
    rt = _runtime(api)
    port = free_port()  # nobody listens yet: connection refused
    made = _create(api, url=f"http://127.0.0.1:{port}/hooks", events=["*"])
    (event,) = append_and_dispatch(rt.deps, [Event("charge.created", "m_1", T0, {"n": 1})], now=T0)
    webhooks.deliver_due(rt.deps, clock=lambda: T0, policy=ONE_TRY)  # refused: dead at once

    base = f"/v1/admin/webhooks/{made['id']}/deliveries"
    dead = api.client.get(f"{base}?status=dead", headers=api.admin).json()["items"]
    assert len(dead) == 1
    assert dead[0]["event_id"] == event.id
    assert (dead[0]["status"], dead[0]["attempts"], dead[0]["next_attempt_at"]) == ("dead", 1, None)
    assert dead[0]["last_error"].startswith("ConnectError")
    assert api.client.get(f"{base}?status=pending", headers=api.admin).json()["items"] == []
    assert (_listed(api)[0]["dead"], _listed(api)[0]["pending"]) == (1, 0)

    retried = api.client.post(f"{base}/{dead[0]['id']}/retry", headers=api.admin)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert retried.json()["next_attempt_at"].startswith("2026-01-31T09:00:00")
    assert (_listed(api)[0]["dead"], _listed(api)[0]["pending"]) == (0, 1)
    with serving(Receiver(), port) as receiver:  # the receiver is back
        receiver.secret = made["secret"]
        webhooks.deliver_due(rt.deps, clock=lambda: T0, policy=ONE_TRY)
    (got,) = receiver.got
    assert got.verified
    assert got.headers["webhook-id"] == event.id
    done = api.client.get(f"{base}?status=delivered", headers=api.admin).json()["items"]
    assert [d["id"] for d in done] == [dead[0]["id"]]
    unknown = api.client.post(f"{base}/dlv_nope/retry", headers=api.admin)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not-found")


def test_a_delivered_delivery_is_not_retried(api: Api) -> None:
    rt = _runtime(api)
    with serving(Receiver()) as receiver:
        made = _create(api, url=receiver.url, events=["*"])
        append_and_dispatch(rt.deps, [Event("charge.created", None, T0, {})], now=T0)
        webhooks.deliver_due(rt.deps, clock=lambda: T0, policy=ONE_TRY)
    base = f"/v1/admin/webhooks/{made['id']}/deliveries"
    (done,) = api.client.get(f"{base}?status=delivered", headers=api.admin).json()["items"]
    assert (done["status"], done["last_status_code"], done["member_id"]) == ("delivered", 200, None)
    refused = api.client.post(f"{base}/{done['id']}/retry", headers=api.admin)
    assert (refused.status_code, refused.json()["code"]) == (409, "webhook-delivery-delivered")


def test_deliveries_are_paged_newest_first(api: Api) -> None:
    rt = _runtime(api)
    made = _create(api, url="http://127.0.0.1:9/never", events=["*"])
    events = [Event("charge.created", "m_1", T0 + timedelta(seconds=n), {"n": n}) for n in range(5)]
    append_and_dispatch(rt.deps, events, now=T0)
    base = f"/v1/admin/webhooks/{made['id']}/deliveries"
    first = api.client.get(f"{base}?limit=3", headers=api.admin).json()
    rest = api.client.get(f"{base}?limit=3&cursor={first['next_cursor']}", headers=api.admin).json()
    seen = [d["event_id"] for d in first["items"] + rest["items"]]
    assert seen == [e.id for e in reversed(events)]
    assert rest["next_cursor"] is None
    bad = api.client.get(f"{base}?status=lost", headers=api.admin)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation-error")
    unknown = api.client.get("/v1/admin/webhooks/whk_nope/deliveries", headers=api.admin)
    assert unknown.status_code == 404
