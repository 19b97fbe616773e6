"""GET /v1/admin/events: the outbox paged for operators who pull, on both engines."""

from __future__ import annotations

import time
from typing import Any, get_args

import pytest

from inmail.api.event_schemas import EventType
from inmail.domain.events import EVENT_TYPES, NOTIFICATION_CREATED, Event
from inmail.store import outbox
from inmail.store.db import Database, make_engine
from tests.api.conftest import Api
from tests.conftest import T0

PROBLEM = "application/problem+json"


def _page(api: Api, **query: Any) -> dict[str, Any]:
    response = api.client.get("/v1/admin/events", params=query, headers=api.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _page_of(api: Api, count: int, **query: Any) -> dict[str, Any]:
    """The page once it holds ``count`` items. On PostgreSQL readers stop below the oldest
    transaction running anywhere on the server (store/outbox.py), and this test server is
    shared, so a page may end early for a moment; it never skips. Bounded."""
    for _ in range(100):
        body = _page(api, **query)
        if len(body["items"]) >= count:
            return body
        time.sleep(0.05)
    return body


def test_the_api_lists_exactly_the_domains_event_types() -> None:
    assert get_args(EventType) == EVENT_TYPES


def test_pages_follow_each_other_without_gaps_and_the_cursor_waits_at_the_end(
    api: Api,
) -> None:
    member = api.member()  # subscription fee, grant, renewal
    bought = api.client.post("/v1/me/purchases", json={"pack": "pack_1"}, headers=member.auth)
    assert bought.status_code == 201
    everything = _page_of(api, 5, limit=200)["items"]
    assert [(e["type"], e["data"].get("kind")) for e in everything] == [
        ("ledger.entry_created", "grant"),
        ("charge.created", "subscription"),
        ("credits.renewed", None),
        ("ledger.entry_created", "grant"),
        ("charge.created", "pack"),
    ]
    pack = everything[-1]
    assert pack["id"].startswith("evt_")
    assert (pack["member_id"], pack["at"]) == (member.id, "2026-01-31T09:00:00Z")
    assert everything[-2]["data"]["reference"] == f"charge:{pack['data']['charge_id']}"
    assert everything[-2]["data"]["lot_id"] == int(bought.json()["lot_id"])
    assert pack["data"] == {
        "charge_id": pack["data"]["charge_id"],
        "kind": "pack",
        "amount_minor": 1000,
        "currency": "USD",
        "credits": 1,
        "reference": "pack:pack_1",
    }

    seen, after = [], None
    for _ in range(3):
        page = _page_of(api, 2, limit=2, **({} if after is None else {"after": after}))
        seen += page["items"][:2]
        after = page["next_cursor"]
    assert seen[:5] == everything
    end = _page(api, limit=2, after=after)
    assert (end["items"], end["next_cursor"]) == ([], after)  # the place is kept for polling

    api.client.post("/v1/me/purchases", json={"pack": "pack_1"}, headers=member.auth)
    more = _page_of(api, 2, after=after)["items"]
    assert [(e["type"], e["data"]["kind"]) for e in more] == [
        ("ledger.entry_created", "grant"),
        ("charge.created", "pack"),
    ]


def test_filters_by_type_and_by_member(api: Api) -> None:
    first, second = api.member(), api.member()
    charges = _page_of(api, 2, type="charge.created")["items"]
    assert [(e["member_id"], e["data"]["kind"]) for e in charges] == [
        (first.id, "subscription"),
        (second.id, "subscription"),
    ]
    mine = _page_of(api, 3, member_id=second.id)["items"]
    assert {e["member_id"] for e in mine} == {second.id}
    assert len(mine) == 3
    assert _page(api, member_id="m_nobody")["items"] == []


def test_a_filtered_page_looks_at_5000_events_and_its_cursor_goes_on_past_them(
    api: Api, db_url: str
) -> None:
    """Without an index by member (migration 0028) a filtered page examines a bounded window:
    a member whose events lie past it gets an empty page whose cursor has moved on."""
    db = Database(make_engine(db_url))
    try:
        with db.write() as conn:
            filler = [
                Event(NOTIFICATION_CREATED, "m_someone_else", T0, {"n": n})
                for n in range(outbox.FILTERED_SCAN)
            ]
            outbox.append(conn, filler)
    finally:
        db.dispose()
    member = api.member()  # three events, after the filler
    looked = _page(api, member_id=member.id)
    assert looked["items"] == []
    assert looked["next_cursor"] is not None
    mine = _page_of(api, 3, member_id=member.id, after=looked["next_cursor"])
    assert [e["member_id"] for e in mine["items"]] == [member.id] * 3
    caught_up = _page(api, member_id=member.id, after=mine["next_cursor"])
    assert caught_up == {"items": [], "next_cursor": mine["next_cursor"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"after": "bm90LWEtY3Vyc29y"}, "after"),  # base64 of "not-a-cursor"
        ({"after": "ZTE6MTox"[:-1]}, "after"),  # a cut one
        ({"after": "not base64!"}, "after"),
        ({"type": "charge.refunded"}, "type"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"member_id": "x" * 500}, "member_id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api: Api, query: dict[str, Any], field: str) -> None:
    response = api.client.get("/v1/admin/events", params=query, headers=api.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert (response.json()["code"], response.json()["field"]) == ("validation-error", field)


def test_members_cannot_read_the_outbox(api: Api) -> None:
    member = api.member()
    response = api.client.get("/v1/admin/events", headers=member.auth)
    assert response.status_code == 403
