"""Operator grants, debits and charge refunds through HTTP, on both engines (docs/api.md
"Adjustments"): each answer, each refusal with its code, replays, and what the member sees."""

from __future__ import annotations

import time
from typing import Any

import pytest
from httpx2 import Response

from tests.api.conftest import Api, Member

PROBLEM = "application/problem+json"


def _problem(response: Response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    if field is not None:
        assert body["field"] == field, body


def _post(api: Api, path: str, body: Any = None, key: str | None = None) -> Response:
    headers = dict(api.admin) | ({"Idempotency-Key": key} if key else {})
    return api.client.post(path, json=body, headers=headers)


def _ledger(api: Api, member: Member) -> list[dict[str, Any]]:
    got = api.client.get("/v1/me/credits/ledger?limit=200", headers=member.auth)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


def _charges(api: Api, member: Member) -> list[dict[str, Any]]:
    got = api.client.get("/v1/me/charges?limit=200", headers=member.auth)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


def test_a_grant_answers_its_lot_ledger_line_and_balance_and_replays(api: Api) -> None:
    member = api.member()
    body = {"credits": 10, "reason": "Spring promo", "expires_at": "2026-03-15T00:00:00Z"}
    made = _post(api, f"/v1/admin/members/{member.id}/grants", body, key="grant-1")
    assert made.status_code == 201, made.text
    got = made.json()
    assert {k: got[k] for k in ("member_id", "credits", "reason", "balance_after")} == {
        "member_id": member.id,
        "credits": 10,
        "reason": "Spring promo",
        "balance_after": 35,
    }
    assert got["lot"] == {
        "id": got["lot"]["id"],
        "source": "adjustment",
        "remaining": 10,
        "expires_at": "2026-03-15T00:00:00Z",
    }
    again = _post(api, f"/v1/admin/members/{member.id}/grants", body, key="grant-1")
    assert (again.status_code, again.json()) == (201, got)
    other = _post(api, f"/v1/admin/members/{member.id}/grants", {**body, "credits": 11}, "grant-1")
    _problem(other, 422, "idempotency-key-reused")
    # The member sees the line with its reason, and the lot with its expiry.
    line = _ledger(api, member)[-1]
    assert (line["id"], line["kind"], line["amount"], line["reference"]) == (
        got["entry_id"],
        "adjustment",
        10,
        "adjustment:Spring promo",
    )
    lots = api.client.get("/v1/me/credits/lots", headers=member.auth).json()["items"]
    assert {"id": got["lot"]["id"], "source": "adjustment", "remaining": 10,
            "expires_at": "2026-03-15T00:00:00Z"} in lots  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"credits": 0, "reason": "x"}, "credits"),
        ({"credits": 100_001, "reason": "x"}, "credits"),
        ({"credits": "5", "reason": "x"}, "credits"),
        ({"credits": 5}, "reason"),
        ({"credits": 5, "reason": ""}, "reason"),
        ({"credits": 5, "reason": "x" * 181}, "reason"),
        ({"credits": 5, "reason": "x", "expires_at": "2026-01-01T00:00:00Z"}, "expires_at"),
        ({"credits": 5, "reason": "x", "expires_at": "2026-05-01T00:00:00"}, "expires_at"),
        # Past the accepted times (docs/rules.md "Time"): two years clear of 9999-12-31.
        ({"credits": 5, "reason": "x", "expires_at": "9999-12-31T23:59:59Z"}, "expires_at"),
        ({"credits": 5, "reason": "x", "lot": 1}, "lot"),
    ],
)
def test_a_bad_grant_is_a_422_naming_its_field_and_grants_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    member = api.member()
    before = _ledger(api, member)
    _problem(_post(api, f"/v1/admin/members/{member.id}/grants", body), 422, "validation-error")
    refused = _post(api, f"/v1/admin/members/{member.id}/grants", body).json()
    assert field in (refused.get("field") or refused["detail"]), refused
    assert _ledger(api, member) == before


def test_a_debit_answers_its_lines_and_more_than_the_balance_is_a_402(api: Api) -> None:
    member = api.member()
    path = f"/v1/admin/members/{member.id}/debits"
    took = _post(api, path, {"credits": 5, "reason": "duplicate grant"}, key="d1")
    assert took.status_code == 201, took.text
    got = took.json()
    assert (got["credits"], got["balance_after"], [e["amount"] for e in got["entries"]]) == (
        5,
        20,
        [-5],
    )
    assert _post(api, path, {"credits": 5, "reason": "duplicate grant"}, key="d1").json() == got
    _problem(_post(api, path, {"credits": 21, "reason": "too many"}), 402, "insufficient-credits")
    # A debit has no expiry: the field is refused, not ignored.
    refused = _post(api, path, {"credits": 1, "reason": "x", "expires_at": "2026-05-01T00:00:00Z"})
    _problem(refused, 422, "validation-error")
    line = _ledger(api, member)[-1]
    assert (line["kind"], line["amount"], line["balance_after"], line["reference"]) == (
        "adjustment",
        -5,
        20,
        "adjustment:duplicate grant",
    )


def test_grants_and_debits_of_an_unknown_member_are_404_and_members_may_not(api: Api) -> None:
    body = {"credits": 1, "reason": "x"}
    _problem(_post(api, "/v1/admin/members/m_nobody/grants", body), 404, "not-found")
    _problem(_post(api, "/v1/admin/members/m_nobody/debits", body), 404, "not-found")
    member = api.member()
    as_member = api.client.post(
        f"/v1/admin/members/{member.id}/grants", json=body, headers=member.auth
    )
    _problem(as_member, 403, "forbidden")


def _bought_pack(api: Api, member: Member) -> str:
    bought = api.client.post("/v1/me/purchases", json={"pack": "pack_5"}, headers=member.auth)
    assert bought.status_code == 201, bought.text
    return str(next(c["id"] for c in _charges(api, member) if c["kind"] == "pack"))


def test_refunds_claw_back_unused_credits_and_show_in_charges_and_ledger(api: Api) -> None:
    member = api.member()
    _post(api, f"/v1/admin/members/{member.id}/debits", {"credits": 25, "reason": "used"})
    charge_id = _bought_pack(api, member)
    path = f"/v1/admin/charges/{charge_id}/refund"
    # 15.00 of 45.00, 5 unused: floor(5 x 1500 / 4500) = 1 credit taken back.
    part = _post(api, path, {"amount_minor": 1500}, key="r1")
    assert part.status_code == 201, part.text
    got = part.json()
    assert {
        k: got[k] for k in ("charge_id", "refunded", "left", "clawed_back", "balance_after")
    } == {
        "charge_id": charge_id,
        "refunded": {"amount_minor": 1500, "currency": "USD"},
        "left": {"amount_minor": 3000, "currency": "USD"},
        "clawed_back": 1,
        "balance_after": 4,
    }
    assert {k: got["refund"][k] for k in ("kind", "credits", "price", "refund_of")} == {
        "kind": "refund",
        "credits": -1,
        "price": {"amount_minor": -1500, "currency": "USD"},
        "refund_of": charge_id,
    }
    assert _post(api, path, {"amount_minor": 1500}, key="r1").json() == got
    _problem(_post(api, path, {"amount_minor": 3001}), 422, "validation-error", "amount_minor")
    _problem(_post(api, path, {"amount_minor": 0}), 422, "validation-error")
    # No body: the rest. floor(4 x 3000 / 3000) = 4.
    rest = _post(api, path)
    assert rest.status_code == 201, rest.text
    assert (rest.json()["clawed_back"], rest.json()["balance_after"]) == (4, 0)
    _problem(_post(api, path), 409, "charge-already-refunded")
    refunds = [c for c in _charges(api, member) if c["kind"] == "refund"]
    assert [(c["price"]["amount_minor"], c["credits"], c["refund_of"]) for c in refunds] == [
        (-1500, -1, charge_id),
        (-3000, -4, charge_id),
    ]
    lines = [x for x in _ledger(api, member) if x["reference"].startswith("charge:")][-2:]
    assert [(x["kind"], x["amount"]) for x in lines] == [("adjustment", -1), ("adjustment", -4)]
    audit = api.client.get("/v1/admin/audit", headers=api.admin).json()
    assert audit == {"ok": True, "problems": []}


def test_a_fee_is_not_refundable_and_an_unknown_charge_is_404(api: Api) -> None:
    member = api.member()
    fee = _charges(api, member)[0]["id"]
    _problem(_post(api, f"/v1/admin/charges/{fee}/refund"), 409, "charge-not-refundable")
    _problem(_post(api, "/v1/admin/charges/ch_nothing/refund"), 404, "not-found")
    as_member = api.client.post(f"/v1/admin/charges/{fee}/refund", headers=member.auth)
    _problem(as_member, 403, "forbidden")


def test_a_refund_appears_in_the_operators_export_and_events(api: Api) -> None:
    member = api.member()
    charge_id = _bought_pack(api, member)
    done = _post(api, f"/v1/admin/charges/{charge_id}/refund").json()
    exported = api.client.get("/v1/admin/charges?limit=200", headers=api.admin).json()["items"]
    refund = next(c for c in exported if c["kind"] == "refund")
    assert (refund["id"], refund["refund_of"]) == (done["refund"]["id"], charge_id)
    told = _events_once_visible(api, member, ("charge.created", "refund", -4500))
    assert told[-2:] == [
        ("ledger.entry_created", "adjustment", None),
        ("charge.created", "refund", -4500),
    ]


def _events_once_visible(
    api: Api, member: Member, last: tuple[str, str | None, int | None]
) -> list[tuple[str, str | None, int | None]]:
    """The member's events (type, kind, amount) once ``last`` shows. On PostgreSQL readers
    stop below the oldest transaction running anywhere on the server (store/outbox.py), and
    the test server is shared with whatever else runs: an event may show a moment late,
    never out of order. Bounded (60 s)."""
    told: list[tuple[str, str | None, int | None]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        path = f"/v1/admin/events?member_id={member.id}&limit=200"
        events = api.client.get(path, headers=api.admin).json()["items"]
        told = [(e["type"], e["data"].get("kind"), e["data"].get("amount_minor")) for e in events]
        if last in told:
            break
        time.sleep(0.05)
    return told
