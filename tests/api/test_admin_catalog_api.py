"""The operator's catalog edits through the API: plan checks, and packs edited as versions."""

from __future__ import annotations

from typing import Any

from httpx2 import Response

from tests.api.conftest import Api

PROBLEM = "application/problem+json"
PLAN = "/v1/admin/plans/premium_business"


def _problem(response: Response, status: int, code: str, field: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    if field is not None:
        assert field in body["detail"] or body.get("field") == field, body
    detail: str = body["detail"]
    return detail


def _plan(api: Api) -> dict[str, Any]:
    plans = api.client.get("/v1/admin/plans", headers=api.admin).json()["items"]
    found: dict[str, Any] = next(p for p in plans if p["code"] == "premium_business")
    return found


def _packs(api: Api) -> dict[str, dict[str, Any]]:
    answer = api.client.get("/v1/admin/packs", headers=api.admin)
    assert answer.status_code == 200, answer.text
    return {p["code"]: p for p in answer.json()["items"]}


def test_a_cap_below_the_allotment_is_refused_unless_confirmed(api: Api) -> None:
    lower = {"monthly_allotment": 25, "rollover_cap": 10}
    refused = api.client.put(PLAN, json=lower, headers=api.admin)
    detail = _problem(refused, 422, "validation-error")
    assert "The rollover cap (10) is below the monthly credits (25)" in detail
    assert "Confirm the lower cap" in detail
    assert _plan(api)["version"] == 1
    saved = api.client.put(PLAN, json={**lower, "confirm_lower_cap": True}, headers=api.admin)
    assert (saved.status_code, saved.json()["version"], saved.json()["rollover_cap"]) == (
        200,
        2,
        10,
    )


def test_a_paid_plan_must_cost_more_than_nothing_and_basic_may_stay_free(api: Api) -> None:
    free = {"price": {"amount_minor": 0, "currency": "USD"}}
    detail = _problem(api.client.put(PLAN, json=free, headers=api.admin), 422, "validation-error")
    assert "Premium Business is a paid plan, so its monthly fee must be more than 0" in detail
    assert _plan(api)["price"]["amount_minor"] == 5999
    basic = api.client.put("/v1/admin/plans/basic", json={"name": "Free"}, headers=api.admin)
    assert (basic.status_code, basic.json()["price"]["amount_minor"]) == (200, 0)


def test_an_edit_of_a_version_no_longer_in_force_is_a_conflict(api: Api) -> None:
    first = {"monthly_allotment": 30, "rollover_cap": 90, "expected_version": 1}
    assert api.client.put(PLAN, json=first, headers=api.admin).json()["version"] == 2
    stale = api.client.put(
        PLAN, json={"rollover_cap": 99, "expected_version": 1}, headers=api.admin
    )
    assert "changed by someone else" in _problem(stale, 409, "catalog-changed")
    assert (_plan(api)["version"], _plan(api)["rollover_cap"]) == (2, 90)


def test_packs_are_listed_with_versions_and_a_price_edit_keeps_earlier_purchases(
    api: Api,
) -> None:
    assert {code: p["version"] for code, p in _packs(api).items()} == {
        "pack_1": 1,
        "pack_5": 1,
        "pack_10": 1,
        "pack_25": 1,
    }
    member = api.member()
    buy = {"pack": "pack_5"}
    headers = {**member.auth, "Idempotency-Key": "before"}
    before = api.client.post("/v1/me/purchases", json=buy, headers=headers)
    assert before.json()["price"] == {"amount_minor": 4500, "currency": "USD"}
    cheaper = {"price": {"amount_minor": 4000, "currency": "USD"}}
    edited = api.client.put("/v1/admin/packs/pack_5", json=cheaper, headers=api.admin)
    assert edited.json() == {
        "code": "pack_5",
        "credits": 5,
        "price": {"amount_minor": 4000, "currency": "USD"},
        "version": 2,
    }
    on_sale = api.client.get("/v1/packs", headers=member.auth).json()["items"]
    assert {"code": "pack_5", "credits": 5, "price": cheaper["price"]} in on_sale
    after = api.client.post(
        "/v1/me/purchases", json=buy, headers={**member.auth, "Idempotency-Key": "after"}
    )
    assert after.json()["price"]["amount_minor"] == 4000
    retried = api.client.post("/v1/me/purchases", json=buy, headers=headers)
    assert retried.json() == before.json()  # a retry answers its first answer, old price
    charged = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
    assert sorted(c["price"]["amount_minor"] for c in charged if c["kind"] == "pack") == [
        4000,
        4500,
    ]
    same = api.client.put("/v1/admin/packs/pack_5", json=cheaper, headers=api.admin)
    assert same.json()["version"] == 2  # nothing changed: no new version


def test_a_new_pack_needs_credits_and_a_price_and_bad_terms_write_nothing(api: Api) -> None:
    put = api.client.put
    missing = put("/v1/admin/packs/pack_50", json={"credits": 50}, headers=api.admin)
    assert "needs credits and a price" in _problem(missing, 422, "validation-error")
    for body in (
        {"price": {"amount_minor": 0, "currency": "USD"}},
        {"credits": 0},
        {"credits": "5"},
        {"colour": "red"},
        {"price": {"amount_minor": -1, "currency": "USD"}},
    ):
        _problem(
            put("/v1/admin/packs/pack_5", json=body, headers=api.admin), 422, "validation-error"
        )
    bad_code = put("/v1/admin/packs/Pack%205", json={"credits": 5}, headers=api.admin)
    assert bad_code.status_code == 422
    assert _packs(api)["pack_5"]["version"] == 1
    made = put(
        "/v1/admin/packs/pack_50",
        json={"credits": 50, "price": {"amount_minor": 35000, "currency": "USD"}},
        headers=api.admin,
    )
    assert (made.status_code, made.json()["version"]) == (200, 1)
    assert _packs(api)["pack_50"]["credits"] == 50


def test_pack_and_plan_edits_need_the_operator_token(api: Api) -> None:
    member = api.member()
    assert api.client.get("/v1/admin/packs").status_code == 401
    assert api.client.get("/v1/admin/packs", headers=member.auth).status_code == 403
    edit = {"credits": 6}
    assert (
        api.client.put("/v1/admin/packs/pack_5", json=edit, headers=member.auth).status_code == 403
    )
