"""The operator table and the credit/billing rows of the member table, through HTTP."""

from __future__ import annotations

import base64
import re

import pytest

from tests.api.conftest import ADMIN_TOKEN, Api

PROBLEM = "application/problem+json"


def _problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    return body  # type: ignore[no-any-return]


def test_an_operator_creates_a_member_who_gets_a_token_and_reads_themself(api: Api) -> None:
    created = api.client.post(
        "/v1/admin/members",
        json={
            "handle": "ada",
            "name": "Ada Lovelace",
            "company": "Engines",
            "interests": ["math"],
            "plan": "recruiter",
        },
        headers=api.admin,
    )
    assert created.status_code == 201
    member = created.json()
    assert {k: member[k] for k in ("handle", "name", "company", "interests", "plan")} == {
        "handle": "ada",
        "name": "Ada Lovelace",
        "company": "Engines",
        "interests": ["math"],
        "plan": "recruiter",
    }
    token = api.client.post(f"/v1/admin/members/{member['id']}/tokens", headers=api.admin)
    assert token.status_code == 201
    me = api.client.get("/v1/me", headers={"Authorization": f"Bearer {token.json()['token']}"})
    assert me.json() == member


def test_member_creation_errors(api: Api) -> None:
    api.member(handle="taken")
    taken = {"handle": "taken", "name": "X"}
    _problem(
        api.client.post("/v1/admin/members", json=taken, headers=api.admin), 409, "handle-taken"
    )
    gold = {"handle": "new1", "name": "X", "plan": "gold"}
    _problem(
        api.client.post("/v1/admin/members", json=gold, headers=api.admin), 422, "unknown-plan"
    )
    bad = api.client.post("/v1/admin/members", json={"handle": "new2"}, headers=api.admin)
    assert _problem(bad, 422, "validation-error")["errors"][0]["field"] == "name"
    nobody = api.client.post("/v1/admin/members/m_nobody/tokens", headers=api.admin)
    _problem(nobody, 404, "not-found")


def test_credits_show_balance_lots_expiry_cycle_and_the_next_forfeit(api: Api) -> None:
    member = api.member("premium_business")
    api.client.post("/v1/me/purchases", json={"pack": "pack_5"}, headers=member.auth)
    credits = api.client.get("/v1/me/credits", headers=member.auth).json()
    assert credits["balance"] == 30
    assert (credits["plan_credits"], credits["purchased_credits"]) == (25, 5)
    assert (credits["monthly_allotment"], credits["rollover_cap"]) == (25, 75)
    assert (credits["cycle_start"], credits["cycle_end"]) == (
        "2026-01-31T09:00:00Z",
        "2026-02-28T09:00:00Z",
    )
    assert credits["next_renewal_at"] == "2026-02-28T09:00:00Z"
    assert credits["forfeit_at_next_renewal"] == 0
    assert [(lot["source"], lot["remaining"], lot["expires_at"]) for lot in credits["lots"]] == [
        ("allotment", 25, None),
        ("purchase", 5, "2027-01-31T09:00:00Z"),
    ]


def test_many_lots_the_overview_lists_the_first_spent_and_the_full_list_pages(api: Api) -> None:
    """23 packs bought a day apart: the overview lists the plan lot and the 10 packs a spend
    takes first (soonest expiry), with lots_total; /v1/me/credits/lots pages all 24 by id."""
    member = api.member("premium_business")
    for _ in range(23):
        bought = api.client.post("/v1/me/purchases", json={"pack": "pack_1"}, headers=member.auth)
        assert bought.status_code == 201, bought.text
        api.advance(seconds=3600)
    credits = api.client.get("/v1/me/credits", headers=member.auth).json()
    assert (credits["balance"], credits["plan_credits"], credits["purchased_credits"]) == (
        48,
        25,
        23,
    )
    assert credits["lots_total"] == 24
    shown = credits["lots"]
    assert [lot["source"] for lot in shown] == ["allotment"] + ["purchase"] * 10
    expiries = [lot["expires_at"] for lot in shown[1:]]
    assert expiries == sorted(expiries)  # the first 10 to expire, soonest first
    assert expiries[0] == "2027-01-31T09:00:00Z"
    assert expiries[-1] == "2027-01-31T18:00:00Z"

    everything, cursor = [], None
    while True:
        query = "?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(f"/v1/me/credits/lots{query}", headers=member.auth)
        assert page.status_code == 200, page.text
        everything += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(everything) == 24
    assert [int(lot["id"]) for lot in everything] == sorted(int(lot["id"]) for lot in everything)
    assert {lot["id"] for lot in shown} < {lot["id"] for lot in everything}
    assert sum(lot["remaining"] for lot in everything) == 48

    bad = api.client.get("/v1/me/credits/lots?cursor=nonsense", headers=member.auth)
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"

    form = api.client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    operator = {"csrf": csrf.group(1), "token": ADMIN_TOKEN}
    assert api.client.post("/login/operator", data=operator).url.path == "/admin"
    admin_page = api.client.get(f"/admin/members/{member.id}").text
    assert "The 11 a spend takes first, of 24 lots" in admin_page


def test_advancing_the_clock_three_months_shows_three_renewals_done(api: Api) -> None:
    member = api.member("premium_business")
    api.advance(days=90)
    credits = api.client.get("/v1/me/credits", headers=member.auth).json()
    assert credits["balance"] == 75
    assert credits["forfeit_at_next_renewal"] == 25
    ledger = api.client.get("/v1/me/credits/ledger", headers=member.auth).json()["items"]
    assert [(e["kind"], e["at"][:10]) for e in ledger] == [
        ("grant", "2026-01-31"),
        ("grant", "2026-02-28"),
        ("grant", "2026-03-31"),
        ("grant", "2026-04-30"),
        ("forfeit", "2026-04-30"),
    ]
    charges = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription"] * 4


def test_the_ledger_pages_with_a_cursor_and_shows_each_entry(api: Api) -> None:
    member = api.member("premium_business")
    for _ in range(3):
        api.client.post("/v1/me/purchases", json={"pack": "pack_1"}, headers=member.auth)
    first = api.client.get("/v1/me/credits/ledger?limit=3", headers=member.auth).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = api.client.get(
        f"/v1/me/credits/ledger?limit=3&cursor={first['next_cursor']}", headers=member.auth
    ).json()
    assert [e["balance_after"] for e in first["items"] + rest["items"]] == [25, 26, 27, 28]
    entry = rest["items"][0]
    assert set(entry) == {
        "id",
        "at",
        "kind",
        "amount",
        "balance_after",
        "lot_id",
        "source",
        "reference",
    }
    assert (entry["kind"], entry["amount"], entry["source"]) == ("grant", 1, "purchase")
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"), ("cursor=%%%", "cursor")],
)
def test_bad_list_parameters_are_validation_errors(api: Api, query: str, field: str) -> None:
    member = api.member()
    body = _problem(
        api.client.get(f"/v1/me/credits/ledger?{query}", headers=member.auth),
        422,
        "validation-error",
    )
    assert field in body["detail"]


def test_packs_are_listed_for_any_valid_token(api: Api) -> None:
    member = api.member("basic")
    packs = api.client.get("/v1/packs", headers=member.auth).json()["items"]
    assert packs[0] == {
        "code": "pack_1",
        "credits": 1,
        "price": {"amount_minor": 1000, "currency": "USD"},
    }
    assert [p["code"] for p in packs] == ["pack_1", "pack_5", "pack_10", "pack_25"]
    assert api.client.get("/v1/packs", headers=api.admin).status_code == 200


def test_buying_a_pack_charges_once_even_when_replayed(api: Api) -> None:
    member = api.member()
    headers = {**member.auth, "Idempotency-Key": "buy-1"}
    first = api.client.post("/v1/me/purchases", json={"pack": "pack_10"}, headers=headers)
    again = api.client.post("/v1/me/purchases", json={"pack": "pack_10"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["credits"] == 10
    assert first.json()["price"] == {"amount_minor": 8500, "currency": "USD"}
    charges = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription", "pack"]
    assert charges[1]["credits"] == 10
    other = api.client.post("/v1/me/purchases", json={"pack": "pack_1"}, headers=headers)
    _problem(other, 422, "idempotency-key-reused")
    assert api.client.get("/v1/me/credits", headers=member.auth).json()["balance"] == 35


def test_purchase_errors_charge_nothing(api: Api) -> None:
    basic, paid = api.member("basic"), api.member()
    post = api.client.post
    _problem(
        post("/v1/me/purchases", json={"pack": "pack_1"}, headers=basic.auth),
        403,
        "packs-not-on-plan",
    )
    _problem(
        post("/v1/me/purchases", json={"pack": "pack_3"}, headers=paid.auth), 422, "unknown-pack"
    )
    _problem(post("/v1/me/purchases", json={}, headers=paid.auth), 422, "validation-error")
    _problem(post("/v1/me/purchases", json={"pack": 5}, headers=paid.auth), 422, "validation-error")
    for member in (basic, paid):
        charges = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
        assert [c["kind"] for c in charges] == ([] if member is basic else ["subscription"])


def test_subscription_changes_follow_the_plan_rules(api: Api) -> None:
    member = api.member("basic")
    put = api.client.put
    subscribed = put("/v1/me/subscription", json={"plan": "premium_business"}, headers=member.auth)
    assert subscribed.json() == {
        "plan": "premium_business",
        "pending_plan": None,
        "anchor": "2026-01-31T09:00:00Z",
        "cycle_start": "2026-01-31T09:00:00Z",
        "cycle_end": "2026-02-28T09:00:00Z",
    }
    scheduled = put("/v1/me/subscription", json={"plan": "basic"}, headers=member.auth).json()
    assert (scheduled["plan"], scheduled["pending_plan"]) == ("premium_business", "basic")
    assert api.client.get("/v1/me/subscription", headers=member.auth).json() == scheduled
    _problem(
        put("/v1/me/subscription", json={"plan": "gold"}, headers=member.auth), 422, "unknown-plan"
    )
    api.advance(days=28)
    after = api.client.get("/v1/me/credits", headers=member.auth).json()
    assert (after["balance"], after["cycle_start"], after["next_renewal_at"]) == (0, None, None)


def test_the_operator_changes_a_members_plan_with_the_same_rules(api: Api) -> None:
    member = api.member("premium_business")
    api.advance(days=14)
    changed = api.client.put(
        f"/v1/admin/members/{member.id}/subscription",
        json={"plan": "recruiter"},
        headers={**api.admin, "Idempotency-Key": "up-1"},
    )
    assert changed.status_code == 200
    assert changed.json()["plan"] == "recruiter"
    credits = api.client.get("/v1/me/credits", headers=member.auth).json()
    assert credits["balance"] == 25 + (50 - 25) * 14 // 28
    charges = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
    assert [c["kind"] for c in charges] == ["subscription", "proration"]
    nobody = api.client.put(
        "/v1/admin/members/m_nobody/subscription", json={"plan": "recruiter"}, headers=api.admin
    )
    _problem(nobody, 404, "not-found")


def test_settings_change_only_what_is_sent(api: Api) -> None:
    member = api.member("premium_business")
    put = api.client.put
    changed = put("/v1/me/settings", json={"overage_limit_minor": 3000}, headers=member.auth)
    assert changed.json() == {
        "inmail_open": True,
        "open_profile": False,
        "group_messages_open": True,
        "auto_overage": True,
        "overage_limit_minor": 3000,
        "time_zone": "UTC",  # unsent: unchanged, the default
    }
    changed = put(
        "/v1/me/settings", json={"open_profile": True, "auto_overage": False}, headers=member.auth
    ).json()
    assert (changed["open_profile"], changed["auto_overage"], changed["overage_limit_minor"]) == (
        True,
        False,
        3000,
    )
    cleared = put("/v1/me/settings", json={"overage_limit_minor": None}, headers=member.auth)
    assert cleared.json()["overage_limit_minor"] is None
    _problem(
        put("/v1/me/settings", json={"overage_limit_minor": -1}, headers=member.auth),
        422,
        "validation-error",
    )
    basic = api.member("basic")
    refused = put("/v1/me/settings", json={"open_profile": True}, headers=basic.auth)
    assert "paid plan" in _problem(refused, 422, "validation-error")["detail"]


def test_connections_are_made_once(api: Api) -> None:
    a, b = api.member(), api.member()
    post = api.client.post
    made = post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert (made.status_code, made.json()["created"]) == (201, True)
    again = post("/v1/admin/connections", json={"a": b.id, "b": a.id}, headers=api.admin)
    assert (again.status_code, again.json()["created"]) == (200, False)
    _problem(
        post("/v1/admin/connections", json={"a": a.id, "b": a.id}, headers=api.admin),
        422,
        "validation-error",
    )
    _problem(
        post("/v1/admin/connections", json={"a": a.id, "b": "m_x"}, headers=api.admin),
        404,
        "not-found",
    )


def test_plans_are_versioned_and_members_keep_their_cycles_terms(api: Api) -> None:
    member = api.member("premium_business")
    plans = api.client.get("/v1/admin/plans", headers=api.admin).json()["items"]
    premium = next(p for p in plans if p["code"] == "premium_business")
    assert (premium["version"], premium["monthly_allotment"], premium["rollover_cap"]) == (
        1,
        25,
        75,
    )
    updated = api.client.put(
        "/v1/admin/plans/premium_business",
        json={"monthly_allotment": 30, "rollover_cap": 90},
        headers=api.admin,
    )
    assert (updated.json()["version"], updated.json()["monthly_allotment"]) == (2, 30)
    assert api.client.get("/v1/me/credits", headers=member.auth).json()["monthly_allotment"] == 25
    api.advance(days=28)
    credits = api.client.get("/v1/me/credits", headers=member.auth).json()
    assert (credits["monthly_allotment"], credits["balance"]) == (30, 55)
    created = api.client.put(
        "/v1/admin/plans/team",
        json={
            "name": "Team",
            "monthly_allotment": 10,
            "rollover_cap": 10,
            "inmail": True,
            "packs": False,
            "overage": False,
            "price": {"amount_minor": 900, "currency": "EUR"},
        },
        headers=api.admin,
    )
    assert (created.status_code, created.json()["version"]) == (200, 1)
    bad = api.client.put("/v1/admin/plans/team", json={"rollover_cap": -1}, headers=api.admin)
    _problem(bad, 422, "validation-error")
    unknown_field = api.client.put("/v1/admin/plans/team", json={"colour": 1}, headers=api.admin)
    _problem(unknown_field, 422, "validation-error")


def test_renewals_run_and_audit_report_through_the_api(api: Api) -> None:
    for _ in range(2):
        api.member("recruiter")
    api.advance(days=62)
    assert api.client.post("/v1/admin/renewals/run", headers=api.admin).json() == {"renewed": 4}
    assert api.client.post("/v1/admin/renewals/run", headers=api.admin).json() == {"renewed": 0}
    assert api.client.get("/v1/admin/audit", headers=api.admin).json() == {
        "ok": True,
        "problems": [],
    }
    export = api.client.get("/v1/admin/charges?limit=200", headers=api.admin).json()
    assert [c["kind"] for c in export["items"]] == ["subscription"] * 6


def test_the_test_clock_moves_forwards_only(api: Api) -> None:
    assert api.client.get("/v1/admin/clock", headers=api.admin).json() == {
        "now": "2026-01-31T09:00:00Z"
    }
    assert api.advance(days=1, seconds=30) == "2026-02-01T09:00:30Z"
    moved = api.client.post(
        "/v1/admin/clock", json={"now": "2026-03-01T00:00:00Z"}, headers=api.admin
    )
    assert moved.json() == {"now": "2026-03-01T00:00:00Z"}
    back = api.client.post(
        "/v1/admin/clock", json={"now": "2026-01-01T00:00:00Z"}, headers=api.admin
    )
    _problem(back, 422, "validation-error")
    negative = api.client.post("/v1/admin/clock", json={"advance_days": -1}, headers=api.admin)
    _problem(negative, 422, "validation-error")


def test_the_clock_endpoints_are_404_when_the_test_clock_is_off(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from inmail.api.app import create_app
    from inmail.config import Settings

    app = create_app(Settings(database_url=db_url, admin_token="t"))
    with TestClient(app) as client:
        auth = {"Authorization": "Bearer t"}
        _problem(client.get("/v1/admin/clock", headers=auth), 404, "not-found")
        _problem(
            client.post("/v1/admin/clock", json={"advance_days": 1}, headers=auth), 404, "not-found"
        )


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"pack": "pack_1"', "application/json"),
        (b'{"pack": "\xff\xfe"}', "application/json"),
        (b"pack=pack_1", "application/x-www-form-urlencoded"),
        (b'{"pack": "' + b"x" * 100_000 + b'"}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"null", "application/json"),
    ],
)
def test_malformed_bodies_are_validation_errors_never_500(
    api: Api, content: bytes, content_type: str
) -> None:
    member = api.member()
    response = api.client.post(
        "/v1/me/purchases", content=content, headers={**member.auth, "content-type": content_type}
    )
    _problem(response, 422, "validation-error")
    charges = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
    assert len(charges) == 1


def test_healthz_and_openapi_are_served(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    spec = api.client.get("/openapi.json").json()
    assert "/v1/me/credits" in spec["paths"]
    assert api.client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/feed",
        "/v1/me/mentions",
        "/v1/me/credits/ledger",
        "/v1/me/charges",
        "/v1/me/notifications",
    ],
)
def test_a_cursor_past_any_row_id_is_a_422_naming_the_cursor(api: Api, path: str) -> None:
    """Found in review: a well-formed cursor holding 60 digits overflowed SQLite (500)."""
    member = api.member()
    huge = base64.urlsafe_b64encode(("v1:" + "9" * 60).encode()).decode().rstrip("=")
    answer = api.client.get(f"{path}?cursor={huge}", headers=member.auth)
    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (
        422,
        "validation-error",
        "cursor",
    )
