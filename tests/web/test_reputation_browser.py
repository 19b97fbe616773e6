"""Sender reputation in Chromium (SPEC §10, issue 14 §3): a recipient reports an InMail from
its thread; after the third report the sender's pages carry the suspension banner with its
end and reason, the standing page takes an appeal, and the operator accepts it on
/admin/suspensions, which lifts the ban. Each page is checked by axe and for overflow, and
photographed at 1280 and 390 px wide."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx2
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN_TOKEN, Member, Server, screenshot, sign_in
from tests.web.look import check_page

WIDTHS = (1280, 390)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _look(page: Page, name: str) -> None:
    """Both widths: axe and overflow checked, then photographed for a person to look at."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert check_page(page, f"{name} at {width}px") == []
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 720})


def _token(client: httpx2.Client, member: Member) -> dict[str, str]:
    made = client.post(f"/v1/admin/members/{member.id}/tokens", headers=ADMIN)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def _inmail(client: httpx2.Client, sender: dict[str, str], to: Member) -> str:
    body = {"to": to.id, "subject": "A role for you", "body": "Would you talk about it?"}
    sent = client.post("/v1/inmails", json=body, headers=sender)
    assert sent.status_code == 201, sent.text
    thread: str = sent.json()["thread_id"]
    return thread


def test_reports_suspend_the_sender_who_appeals_and_the_operator_lifts_it(
    new_page: Callable[[], Page], server: Server
) -> None:
    rhea, rob = server.members["rhea"], server.members["rob"]
    others = [server.members["ria"], server.members["ron"]]
    with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
        sender = _token(client, rhea)
        threads = {m.handle: _inmail(client, sender, m) for m in (rob, *others)}

        page = new_page()
        sign_in(page, rob)
        page.goto(f"/threads/{threads['rob']}")
        expect(page.get_by_role("heading", name="Report this InMail")).to_be_visible()
        _look(page, "thread-report")
        page.get_by_label("Spam").check()
        page.get_by_role("button", name="Report", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Reported.")
        expect(page.get_by_text("You reported it as spam")).to_be_visible()
        _look(page, "thread-reported")

        for member in others:
            reported = client.post(
                f"/v1/threads/{threads[member.handle]}/report",
                json={"reason": "not_relevant"},
                headers=_token(client, member),
            )
            assert reported.status_code == 201, reported.text

    suspended = new_page()
    sign_in(suspended, rhea)
    banner = suspended.get_by_role("complementary", name="Your sending standing")
    expect(banner).to_contain_text("Sending InMail is suspended until")
    expect(banner).to_contain_text("3 recipients reported InMails")
    _look(suspended, "standing-banner-inbox")
    banner.get_by_role("link", name=re.compile("Your standing")).click()
    expect(suspended).to_have_url(re.compile(r"/standing$"))
    expect(suspended.get_by_text("1 of 3 reports", exact=False)).to_have_count(0)
    _look(suspended, "standing-suspended")
    suspended.get_by_label(re.compile("Appeal")).fill("These were people I had met at a fair.")
    suspended.get_by_role("button", name="Send appeal").click()
    expect(suspended.get_by_role("status")).to_contain_text("Appeal sent")
    expect(suspended.get_by_text("You appealed on")).to_be_visible()
    _look(suspended, "standing-appealed")

    operator = new_page()
    operator.goto("/login")
    operator.get_by_label("Operator token").fill(ADMIN_TOKEN)
    operator.get_by_role("button", name="Sign in as operator").click()
    operator.get_by_role("navigation", name="Operator").get_by_role(
        "link", name="Suspensions"
    ).click()
    operator.get_by_role("link", name="Appeals waiting").click()
    expect(operator.get_by_text("These were people I had met at a fair.")).to_be_visible()
    _look(operator, "admin-suspensions")
    operator.get_by_role("button", name=f"Accept appeal of {rhea.name}").click()
    expect(operator.get_by_role("status")).to_contain_text("Appeal accepted")
    _look(operator, "admin-suspensions-accepted")

    suspended.goto("/inbox")
    expect(suspended.get_by_role("complementary", name="Your sending standing")).to_have_count(0)
