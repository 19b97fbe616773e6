"""The operator's grant, debit and refund forms in Chromium: each used by its labels, a
refusal that keeps the typed values, the refund's confirm page; every page checked by axe
and for overflow, and photographed at 1280 and 390 px."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx2
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, SCREENSHOTS, Server
from tests.web.look import photograph_at_widths

SHOTS = SCREENSHOTS / "admin-credits"


def _look(page: Page, name: str, problems: list[str]) -> None:
    photograph_at_widths(page, SHOTS, name, problems)


def _member_with_a_pack(server: Server) -> str:
    """A new member of its own (the server is shared) who bought a pack of 5."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx2.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        body = {"handle": "refundee", "name": "Rena Refund", "plan": "premium_business"}
        member_id: str = client.post("/v1/admin/members", json=body).json()["id"]
        token = client.post(f"/v1/admin/members/{member_id}/tokens").json()["token"]
        bought = client.post(
            "/v1/me/purchases",
            json={"pack": "pack_5"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert bought.status_code == 201, bought.text
    return member_id


def _welcome_path(server: Server, member_id: str) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx2.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        answer = client.post(f"/v1/admin/members/{member_id}/invitations")
    assert answer.status_code == 201, answer.text
    return "/welcome/" + str(answer.json()["url"]).split("/welcome/", 1)[1]


def test_the_operator_grants_debits_and_refunds_a_pack(
    page: Page, new_page: Callable[[], Page], server: Server
) -> None:
    member_id = _member_with_a_pack(server)
    page.goto("/login")
    page.get_by_label("Operator token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in as operator").click()
    expect(page).to_have_url(re.compile(r"/admin$"))
    problems: list[str] = []

    page.goto(f"/admin/members/{member_id}")
    page.get_by_label("Credits to grant").fill("10")
    page.get_by_label("Reason (the member sees it)").first.fill("Spring promo")
    page.get_by_label("Expires on (UTC, optional: empty never expires)").fill("2027-03-31")
    page.get_by_role("button", name="Grant credits").click()
    expect(page.get_by_role("status")).to_contain_text("Granted 10 credits (Spring promo)")
    expect(page.locator("#balance")).to_have_text("40")
    expect(page.get_by_role("cell", name=re.compile("Adjustment by the operator: Spring promo")))

    page.get_by_label(re.compile("Credits to debit")).fill("99")
    page.get_by_label("Reason (the member sees it)").last.fill("too many on purpose")
    page.get_by_role("button", name="Debit credits").click()
    expect(page.get_by_role("alert")).to_contain_text("this needs 99 credit(s)")
    expect(page.get_by_label(re.compile("Credits to debit"))).to_have_value("99")
    expect(page.get_by_label("Reason (the member sees it)").last).to_have_value(
        "too many on purpose"
    )
    expect(page.locator("#balance")).to_have_text("40")
    _look(page, "admin-member-credit-forms", problems)

    page.get_by_role("link", name=re.compile("^Refund the pack")).click()
    expect(page.get_by_role("heading", name="Refund a pack")).to_be_visible()
    page.get_by_label("Amount to refund (USD)").fill("15.00")
    page.get_by_role("button", name="Review this amount").click()
    expect(page.locator("#refund-effect")).to_contain_text("Takes back 1 of the 5 unused")
    _look(page, "admin-refund-confirm", problems)
    page.get_by_role("button", name="Refund 15.00 USD").click()
    expect(page.get_by_role("status")).to_contain_text("Refunded 15.00 USD; 1 credit taken back")
    expect(page.locator("#balance")).to_have_text("39")
    _look(page, "admin-member-after-refund", problems)

    # The member sees the grant and the refund, each with its words, on their credits page.
    member = new_page()
    member.goto(_welcome_path(server, member_id))
    member.get_by_label("New password (at least 8 characters)").fill("refundee password")
    member.get_by_label("The same password again").fill("refundee password")
    member.get_by_role("button", name="Set password and sign in").click()
    member.goto("/credits")
    expect(member.get_by_text("Adjustment by the operator: Spring promo").first).to_be_visible()
    expect(member.get_by_text("Refund (1 unused credit taken back)").first).to_be_visible()
    _look(member, "member-credits-after-refund", problems)
    assert problems == []
