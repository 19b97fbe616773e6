"""Sender reputation's pages through FastAPI's TestClient on each engine: the Report form on
a received InMail only, the banner on the sender's pages, /standing, and the operator's
/admin/suspensions (test_admin_pages' helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.domain.reputation import ReportReason
from inmail.domain.templates import Letter, TemplateText
from inmail.services.inmail import send_inmail
from inmail.services.reputation import get_standing, report_thread
from inmail.services.templates import create_template
from tests.conftest import T0
from tests.web.test_admin_pages import ADMIN, Web


@pytest.fixture
def web(db_url: str) -> Iterator[Web]:
    runtime = build(Settings(database_url=db_url, admin_token=ADMIN, test_clock=T0))
    with TestClient(create_app(runtime=runtime)) as client:
        yield Web(client, runtime)


def _suspend(web: Web, sender: str) -> list[str]:
    """Three recipients report ``sender``'s InMails: a 24-hour ban. Their threads."""
    deps = web.runtime.deps
    threads = []
    for _ in range(3):
        to = web.member("basic")
        sent = send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=T0)
        report_thread(
            deps, reporter_id=to, thread_id=sent.thread_id, reason=ReportReason.SPAM, now=T0
        )
        threads.append(sent.thread_id)
    return threads


def test_the_recipient_reports_from_the_thread_and_the_sender_sees_no_form(web: Web) -> None:
    deps = web.runtime.deps
    sender, to = web.member(password=True), web.member("basic", password=True)
    sent = send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=T0)
    web.sign_in_member(to)
    thread = web.client.get(f"/threads/{sent.thread_id}").text
    assert "Report this InMail" in thread
    unchosen = web.client.post(
        f"/threads/{sent.thread_id}/report", data={"csrf": web.csrf("/inbox"), "reason": ""}
    )
    assert "choose why you report this InMail" in unchosen.text  # refused, nothing stored
    assert "You reported it" not in unchosen.text
    done = web.client.post(
        f"/threads/{sent.thread_id}/report",
        data={"csrf": web.csrf(f"/threads/{sent.thread_id}"), "reason": "not_relevant"},
    )
    assert "Reported." in done.text
    assert "You reported it as not relevant" in done.text
    web.client.post("/logout", data={"csrf": web.csrf("/inbox")})
    web.sign_in_member(sender)
    assert "Report this InMail" not in web.client.get(f"/threads/{sent.thread_id}").text


def test_a_suspended_sender_sees_the_banner_and_appeals_and_the_operator_accepts(
    web: Web,
) -> None:
    sender = web.member(password=True)
    _suspend(web, sender)
    web.sign_in_member(sender)
    inbox = web.client.get("/inbox").text
    assert "Sending InMail is suspended until" in inbox
    assert 'href="/standing"' in inbox
    standing = web.client.get("/standing").text
    assert "Send appeal" in standing
    assert "standing-banner" not in standing  # the page says it itself
    appealed = web.client.post(
        "/standing/appeal", data={"csrf": web.csrf("/standing"), "text": "Colleagues, really"}
    )
    assert "Appeal sent" in appealed.text
    assert "Send appeal" not in appealed.text
    members_admin = web.client.get("/admin/suspensions")
    assert "Accept appeal" not in members_admin.text  # a member is not the operator

    web.client.post("/logout", data={"csrf": web.csrf("/inbox")})
    web.sign_in_operator()
    page = web.client.get("/admin/suspensions?appeal=pending").text
    assert "Colleagues, really" in page
    suspension = get_standing(web.runtime.deps, member_id=sender, now=T0).suspension
    assert suspension is not None
    accepted = web.post(f"/admin/suspensions/{suspension.id}/accept")
    assert "Appeal accepted" in accepted.text
    twice = web.post(f"/admin/suspensions/{suspension.id}/accept")
    assert "no appeal waiting" in twice.text
    assert get_standing(web.runtime.deps, member_id=sender, now=T0).status == "ok"


@pytest.fixture
def low_floor(db_url: str) -> Iterator[Web]:
    """The floor with small numbers: 2 InMails in 14 days, half answered."""
    settings = Settings(
        database_url=db_url,
        admin_token=ADMIN,
        test_clock=T0,
        reputation_min_sent=2,
        reputation_floor=0.5,
    )
    runtime = build(settings)
    with TestClient(create_app(runtime=runtime)) as client:
        yield Web(client, runtime)


def test_the_banner_warns_then_says_bulk_sending_is_off(low_floor: Web) -> None:
    web, deps = low_floor, low_floor.runtime.deps
    sender = web.member(password=True)
    for _ in range(2):
        to = web.member("basic")
        send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=T0)
    web.sign_in_member(sender)
    assert "standing-banner" not in web.client.get("/inbox").text  # not evaluated yet
    standing = web.client.get("/standing").text  # evaluates the floor: a warning
    assert "Warned on" in standing
    inbox = web.client.get("/inbox").text
    assert "Your response rate is low:" in inbox
    assert "bulk sending goes off on" in inbox
    web.advance(7)
    assert "Bulk sending is off until" in web.client.get("/standing").text
    bulk = web.client.get("/inbox").text
    assert "Bulk sending is off until" in bulk
    assert "1:1 InMail is still allowed" in bulk


def test_the_bulk_preview_says_bulk_sending_is_off_and_why(low_floor: Web) -> None:
    web, deps = low_floor, low_floor.runtime.deps
    sender = web.member(password=True)
    for _ in range(2):
        to = web.member("basic")
        send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=T0)
    letter = Letter("Hello {first_name}", "Hi {first_name}, a question?")
    template = create_template(
        deps, owner_id=sender, name="Outreach", text=TemplateText(letter, None), now=T0
    )
    web.sign_in_member(sender)
    query = {"to": web.member("basic"), "template": template.id}
    assert "Bulk sending is off" not in web.client.get("/bulk/preview", params=query).text
    web.advance(7)  # the warning (given by that preview's evaluation) persisted
    refused = web.client.get("/bulk/preview", params=query, follow_redirects=True).text
    assert "bulk sending is off until" in refused
    assert "response rate stayed under 50%" in refused
