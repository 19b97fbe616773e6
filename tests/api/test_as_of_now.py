"""Every account as of now, through HTTP (issue 9 §1 and §6), on both engines."""

from __future__ import annotations

from tests.api.conftest import Api


def test_me_and_a_profile_show_the_plan_a_scheduled_downgrade_made_it(api: Api) -> None:
    member, viewer = api.member("recruiter"), api.member("basic")
    moved = api.client.put(
        "/v1/me/subscription", json={"plan": "premium_business"}, headers=member.auth
    )
    assert (moved.status_code, moved.json()["pending_plan"]) == (200, "premium_business")
    assert api.client.get("/v1/me", headers=member.auth).json()["plan"] == "recruiter"

    api.advance(days=31)  # the downgrade took effect; nobody has touched the account since

    assert api.client.get(f"/v1/members/{member.id}", headers=viewer.auth).json()["plan"] == (
        "premium_business"
    )
    assert api.client.get("/v1/me", headers=member.auth).json()["plan"] == "premium_business"


def test_a_late_renewal_is_billed_in_the_terms_of_its_cycle(api: Api) -> None:
    """The issue's example: B's Feb 28 renewal is 25 credits and 59.99, as A's was."""
    a, b = api.member("premium_business"), api.member("premium_business")
    api.advance(days=28)  # 2026-02-28: A renews on time
    assert api.client.get("/v1/me/credits", headers=a.auth).json()["balance"] == 50
    api.advance(days=5)  # 2026-03-05: the operator edits the plan
    edit = {"monthly_allotment": 40, "price": {"amount_minor": 7999, "currency": "USD"}}
    assert api.client.put(
        "/v1/admin/plans/premium_business", json=edit, headers=api.admin
    ).is_success

    credits = api.client.get("/v1/me/credits", headers=b.auth).json()

    assert (credits["balance"], credits["monthly_allotment"]) == (50, 25)
    for member in (a, b):
        charges = api.client.get("/v1/me/charges", headers=member.auth).json()["items"]
        assert [c["price"]["amount_minor"] for c in charges] == [5999, 5999]
        ledger = api.client.get("/v1/me/credits/ledger", headers=member.auth).json()["items"]
        assert [(e["kind"], e["amount"]) for e in ledger] == [("grant", 25), ("grant", 25)]
