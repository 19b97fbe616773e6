"""GET /v1/me/subscription/preview: every charge shown before it happens, exactly as it happens.

Each test previews a change, makes it at the same test-clock moment, and checks the preview
against what the change really granted and charged; then moves the clock to the next renewal
and checks the preview's ``next_renewal`` against the renewal the ledger records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from inmail.store.tables import accounts, charges, ledger_entries, lots, renewals
from tests.api.conftest import Api, Member

PROBLEM = "application/problem+json"


def _preview(api: Api, member: Member, plan: str) -> dict[str, Any]:
    answer = api.client.get(
        "/v1/me/subscription/preview", params={"plan": plan}, headers=member.auth
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _credits(api: Api, member: Member) -> dict[str, Any]:
    body: dict[str, Any] = api.client.get("/v1/me/credits", headers=member.auth).json()
    return body


def _charges(api: Api, member: Member) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.client.get("/v1/me/charges", headers=member.auth).json()[
        "items"
    ]
    return items


def _ledger(api: Api, member: Member) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.client.get(
        "/v1/me/credits/ledger", params={"limit": 200}, headers=member.auth
    ).json()["items"]
    return items


def _change(api: Api, member: Member, plan: str) -> dict[str, Any]:
    changed = api.client.put("/v1/me/subscription", json={"plan": plan}, headers=member.auth)
    assert changed.status_code == 200, changed.text
    body: dict[str, Any] = changed.json()
    return body


def _renewal_did(api: Api, member: Member, at: str) -> dict[str, Any]:
    """What the ledger and charges say the renewal at ``at`` did."""
    lines = [line for line in _ledger(api, member) if line["at"] == at]
    fees = [c["price"] for c in _charges(api, member) if c["at"] == at]
    return {
        "grant": sum(line["amount"] for line in lines if line["kind"] == "grant"),
        "forfeit": -sum(line["amount"] for line in lines if line["kind"] == "forfeit"),
        "fees": fees,
    }


def _check_next_renewal_happens(
    api: Api, member: Member, coming: dict[str, Any], days: int
) -> None:
    """Move the clock ``days`` to the renewal the preview announced; it did just that."""
    api.advance(days=days)
    did = _renewal_did(api, member, coming["at"])
    fee = coming["fee"]
    assert did == {
        "grant": coming["grant"],
        "forfeit": coming["forfeit"],
        "fees": [fee] if fee["amount_minor"] else [],
    }
    assert _credits(api, member)["plan_credits"] <= coming["rollover_cap"]


def test_an_upgrade_preview_is_what_the_upgrade_grants_and_charges(api: Api) -> None:
    member = api.member("premium_business")
    api.advance(days=14)  # half of the 28-day cycle Jan 31 -> Feb 28 is left
    preview = _preview(api, member, "recruiter")
    assert preview == {
        "plan": "recruiter",
        "change": "upgrade",
        "effective_at": "2026-02-14T09:00:00Z",
        "credits_granted_now": (50 - 25) * 14 // 28,
        "charge_now": {"amount_minor": (83500 - 5999) * 14 // 28, "currency": "USD"},
        "new_rollover_cap": 150,
        "next_renewal": {
            "at": "2026-02-28T09:00:00Z",
            "plan": "recruiter",
            "grant": 50,
            "rollover_cap": 150,
            "fee": {"amount_minor": 83500, "currency": "USD"},
            "forfeit": 0,
        },
    }
    before = _credits(api, member)["balance"]
    _change(api, member, "recruiter")
    assert _credits(api, member)["balance"] - before == preview["credits_granted_now"]
    proration = _charges(api, member)[-1]
    assert (proration["kind"], proration["price"]) == ("proration", preview["charge_now"])
    assert proration["credits"] == preview["credits_granted_now"]
    _check_next_renewal_happens(api, member, preview["next_renewal"], days=14)


def test_a_downgrade_preview_says_when_and_what_it_will_forfeit(api: Api) -> None:
    member = api.member("recruiter")  # 50 credits; Sales Navigator keeps at most 45
    preview = _preview(api, member, "sales_navigator_professional")
    assert preview == {
        "plan": "sales_navigator_professional",
        "change": "scheduled",
        "effective_at": "2026-02-28T09:00:00Z",
        "credits_granted_now": 0,
        "charge_now": None,
        "new_rollover_cap": 45,
        "next_renewal": {
            "at": "2026-02-28T09:00:00Z",
            "plan": "sales_navigator_professional",
            "grant": 15,
            "rollover_cap": 45,
            "fee": {"amount_minor": 9999, "currency": "USD"},
            "forfeit": 50 + 15 - 45,
        },
    }
    charged = len(_charges(api, member))
    _change(api, member, "sales_navigator_professional")
    assert len(_charges(api, member)) == charged  # nothing charged now
    credits = _credits(api, member)
    assert credits["next_renewal"] == preview["next_renewal"]
    assert credits["forfeit_at_next_renewal"] == 20
    _check_next_renewal_happens(api, member, preview["next_renewal"], days=28)


def test_a_cancel_preview_forfeits_every_plan_credit_at_the_cycle_end(api: Api) -> None:
    member = api.member("premium_business")
    bought = api.client.post("/v1/me/purchases", json={"pack": "pack_5"}, headers=member.auth)
    assert bought.status_code == 201
    preview = _preview(api, member, "basic")
    assert preview["change"] == "scheduled"
    assert preview["effective_at"] == "2026-02-28T09:00:00Z"
    assert (preview["credits_granted_now"], preview["charge_now"]) == (0, None)
    assert preview["new_rollover_cap"] == 0
    assert preview["next_renewal"] == {
        "at": "2026-02-28T09:00:00Z",
        "plan": "basic",
        "grant": 0,
        "rollover_cap": 0,
        "fee": {"amount_minor": 0, "currency": "USD"},
        "forfeit": 25,  # the plan credits; the 5 purchased ones are never forfeited
    }
    _change(api, member, "basic")
    _check_next_renewal_happens(api, member, preview["next_renewal"], days=28)
    after = _credits(api, member)
    assert (after["balance"], after["purchased_credits"], after["next_renewal"]) == (5, 5, None)


def test_a_subscribe_preview_from_basic_is_what_subscribing_charges(api: Api) -> None:
    member = api.member("basic")
    preview = _preview(api, member, "premium_business")
    assert preview == {
        "plan": "premium_business",
        "change": "subscribe",
        "effective_at": "2026-01-31T09:00:00Z",
        "credits_granted_now": 25,
        "charge_now": {"amount_minor": 5999, "currency": "USD"},
        "new_rollover_cap": 75,
        "next_renewal": {
            "at": "2026-02-28T09:00:00Z",
            "plan": "premium_business",
            "grant": 25,
            "rollover_cap": 75,
            "fee": {"amount_minor": 5999, "currency": "USD"},
            "forfeit": 0,
        },
    }
    _change(api, member, "premium_business")
    assert _credits(api, member)["balance"] == 25
    subscription = _charges(api, member)
    assert [(c["kind"], c["price"]) for c in subscription] == [
        ("subscription", preview["charge_now"])
    ]
    _check_next_renewal_happens(api, member, preview["next_renewal"], days=28)


def test_previewing_the_current_plan_changes_nothing_or_withdraws_a_scheduled_change(
    api: Api,
) -> None:
    member = api.member("premium_business")
    same = _preview(api, member, "premium_business")
    assert (same["change"], same["credits_granted_now"], same["charge_now"]) == ("none", 0, None)
    assert same["effective_at"] == "2026-01-31T09:00:00Z"
    assert same["next_renewal"]["plan"] == "premium_business"
    assert same["next_renewal"] == _credits(api, member)["next_renewal"]
    _change(api, member, "basic")
    withdraw = _preview(api, member, "premium_business")
    assert withdraw["change"] == "unscheduled"
    assert withdraw["next_renewal"] == same["next_renewal"]
    assert _change(api, member, "premium_business")["pending_plan"] is None
    assert _credits(api, member)["next_renewal"] == withdraw["next_renewal"]
    basic = api.member("basic")
    stay = _preview(api, basic, "basic")
    assert (stay["change"], stay["next_renewal"], stay["new_rollover_cap"]) == ("none", None, 0)


def test_an_unknown_or_missing_plan_is_refused(api: Api) -> None:
    member = api.member("premium_business")
    for params, status, code in (
        ({"plan": "gold"}, 422, "unknown-plan"),
        ({}, 422, "validation-error"),
        ({"plan": ""}, 422, "validation-error"),
    ):
        answer = api.client.get("/v1/me/subscription/preview", params=params, headers=member.auth)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["code"] == code
    unauthenticated = api.client.get("/v1/me/subscription/preview", params={"plan": "basic"})
    assert unauthenticated.status_code == 401


def _snapshot(api: Api) -> dict[str, Any]:
    app = api.client.app
    assert hasattr(app, "state")
    with app.state.runtime.deps.db.read() as conn:
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (ledger_entries, charges, lots, renewals)
        }
        rows = conn.execute(select(accounts).order_by(accounts.c.member_id)).all()
    return {"counts": counts, "accounts": [tuple(row) for row in rows]}


def test_a_preview_writes_nothing_even_when_a_renewal_is_due(api: Api) -> None:
    member = api.member("premium_business")
    api.advance(days=40)  # the Feb 28 renewal is due and nobody has read the account since
    before = _snapshot(api)
    for plan in ("recruiter", "basic", "premium_business", "sales_navigator_professional"):
        preview = _preview(api, member, plan)
        # The preview sees the account as of now: renewed on Feb 28, the next renewal Mar 31.
        assert preview["next_renewal"]["at"] == "2026-03-31T09:00:00Z"
    assert _snapshot(api) == before
