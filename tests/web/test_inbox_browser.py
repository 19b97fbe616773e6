"""The inbox in Chromium (issue 11, "Inbox and threads"), as a member sees it.

Rows with subject, snippet and unread state, the unread count in the navigation, the
Inbox / Sent / Awaiting response / Archived views and their pages; a recipient's view of
the sender and a decline with a reason; the follow-up's date, cost and kept text;
notifications that say who and what, read and unread. The InMails are sent through the
API (what the web's own compose does is tested in test_browser.py). Screenshots of each
page at 1280 and 390 px go to test-output/screenshots/inbox-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import httpx2
from playwright.sync_api import Page, ViewportSize, expect

from tests.web.conftest import ADMIN_TOKEN, Member, Server, screenshot, sign_in

WIDTHS: dict[str, ViewportSize] = {
    "1280": {"width": 1280, "height": 900},
    "390": {"width": 390, "height": 844},
}
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@cache
def _token(base_url: str, member_id: str) -> str:
    with httpx2.Client(base_url=base_url, trust_env=False) as client:
        made = client.post(
            f"/v1/admin/members/{member_id}/tokens",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def _send(server: Server, sender: Member, to: str, subject: str, body: str) -> str:
    """An InMail from ``sender`` to the member id ``to``, by the API: its thread id."""
    auth = {"Authorization": f"Bearer {_token(server.base_url, sender.id)}"}
    with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
        sent = client.post(
            "/v1/inmails", json={"to": to, "subject": subject, "body": body}, headers=auth
        )
    assert sent.status_code == 201, sent.text
    thread_id: str = sent.json()["thread_id"]
    return thread_id


def _new_member(server: Server, handle: str) -> str:
    with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
        made = client.post(
            "/v1/admin/members",
            json={"handle": handle, "name": f"Reader {handle[-2:]}", "plan": "basic"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert made.status_code == 201, made.text
    member_id: str = made.json()["id"]
    return member_id


def _shots(page: Page, name: str) -> None:
    """The page at both widths; at 390 px nothing may stick out sideways."""
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        screenshot(page, f"inbox-{name}-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow} px wider than {width} px"
    page.set_viewport_size(WIDTHS["1280"])


def test_an_unread_inmail_is_bold_with_subject_snippet_and_a_count_until_opened(
    page: Page, server: Server
) -> None:
    ida, hal = server.members["ida"], server.members["hal"]
    thread_id = _send(
        server, ida, hal.id, "A platform role at Analytical Engines", "Hello Hal,\nwould you talk?"
    )
    sign_in(page, hal)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile(r"^Inbox 1\s+unread$"))).to_be_visible()
    expect(page.locator("#unread-inbox")).to_have_text("1 unread")
    row = page.locator("li.thread-row").filter(has_text="Ida Inboxer")
    expect(row).to_have_class(re.compile(r"\bunread\b"))
    expect(row.locator(".thread-subject")).to_have_text("A platform role at Analytical Engines")
    expect(row.locator(".thread-subject")).to_have_css("font-weight", "700")
    expect(row.locator(".thread-snippet")).to_have_text("Hello Hal, would you talk?")
    expect(row).to_contain_text("31 Jan 2026")
    expect(row).to_contain_text("awaiting response")
    _shots(page, "unread")

    row.get_by_role("link", name="Ida Inboxer").click()
    expect(page).to_have_url(re.compile(f"/threads/{thread_id}(\\?once=.*)?$"))
    card = page.get_by_role("region", name=re.compile("About Ida Inboxer"))
    expect(card).to_contain_text("Talent partner for engineers")
    expect(card).to_contain_text("Works at Analytical Engines")
    expect(card).to_contain_text("2nd degree")
    expect(card).to_contain_text("1 mutual connection:")
    expect(card.get_by_role("link", name="Ivy Mutual")).to_be_visible()
    expect(page.locator("#unread-inbox")).to_have_count(0)  # read now: no count
    _shots(page, "recipient-view")

    page.goto("/inbox")
    row = page.locator("li.thread-row").filter(has_text="Ida Inboxer")
    expect(row).not_to_have_class(re.compile(r"\bunread\b"))


def test_the_recipient_declines_with_a_reason_and_the_sender_sees_it_counted(
    new_page: Callable[[], Page], server: Server
) -> None:
    fay, fin = server.members["fay"], server.members["fin"]
    thread_id = _send(server, fay, fin.id, "Hello from Fay", "Would you talk?")
    reader = new_page()
    sign_in(reader, fin)
    reader.goto(f"/threads/{thread_id}")
    reader.get_by_label("Not now").check()
    _shots(reader, "decline-form")
    reader.get_by_role("button", name="Decline this InMail").click()
    expect(reader.get_by_role("status")).to_have_text("Declined. The sender has been told.")
    expect(reader.get_by_text("This InMail was declined (not now)")).to_be_visible()

    sender = new_page()
    sign_in(sender, fay)
    sender.goto("/notifications")
    expect(
        sender.get_by_role("link", name="Fin Silent declined your InMail (not now)")
    ).to_be_visible()
    sender.goto("/stats")
    declines = sender.locator("#declines")
    expect(declines.get_by_role("row", name="Not now 1")).to_be_visible()
    expect(declines.get_by_role("row", name="Declined in all 1")).to_be_visible()
    _shots(sender, "stats")


def test_a_follow_up_shows_its_day_and_cost_and_keeps_the_text_when_refused(
    page: Page, server: Server
) -> None:
    ida = server.members["ida"]
    thread_id = _send(server, ida, _new_member(server, "fupreader1"), "A role", "Hi there")
    sign_in(page, ida)
    page.goto(f"/threads/{thread_id}")
    # Sent at the test clock's 31 Jan 2026 09:00 UTC: a week later is Saturday 7 Feb.
    expect(page.locator("#follow-up-when")).to_have_text("Follow up from Sat 7 Feb 2026")
    button = page.get_by_role("button", name="Send follow-up (1 credit)")
    expect(button).to_be_disabled()
    expect(page.get_by_label("Your follow-up")).to_be_disabled()
    _shots(page, "follow-up-too-early")

    # A page kept open from before (or a form sent by hand) is still refused, in words,
    # and what was typed stays in the box.
    page.evaluate(
        "document.querySelectorAll('#body, form.stack button').forEach(e => e.disabled = false)"
    )
    page.get_by_label("Your follow-up").fill("Just checking in, Ida")
    button.click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("a follow-up is possible from Sat 7 Feb 2026, 09:00 UTC")
    assert not ISO_TIME.search(alert.inner_text())
    expect(page.get_by_label("Your follow-up")).to_have_value("Just checking in, Ida")


def test_archive_moves_a_thread_out_of_the_inbox_until_moved_back(
    page: Page, server: Server
) -> None:
    ida, huw = server.members["ida"], server.members["huw"]
    _send(server, ida, huw.id, "An archive test", "Hello Huw")
    sign_in(page, huw)
    page.locator("li.thread-row").filter(has_text="Ida Inboxer").get_by_role("link").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("status")).to_contain_text("Archived.")
    expect(page.locator("li.thread-row").filter(has_text="Ida Inboxer")).to_have_count(0)
    expect(page.get_by_text("No messages yet.")).to_be_visible()
    _shots(page, "empty-inbox")

    page.get_by_role("link", name="Archived").click()
    row = page.locator("li.thread-row").filter(has_text="Ida Inboxer")
    expect(row.locator(".thread-subject")).to_have_text("An archive test")
    _shots(page, "archived")
    row.get_by_role("link").click()
    page.get_by_role("button", name="Move to inbox").click()
    expect(page.get_by_role("status")).to_have_text("Moved back to your inbox.")
    page.goto("/inbox")
    expect(page.locator("li.thread-row").filter(has_text="Ida Inboxer")).to_have_count(1)


def test_sent_and_awaiting_views_page_twenty_at_a_time(page: Page, server: Server) -> None:
    ike = server.members["ike"]
    for n in range(21):
        _send(server, ike, _new_member(server, f"pagereader{n:02d}"), f"Role {n:02d}", "Hello")
    sign_in(page, ike)
    page.get_by_role("navigation", name="Message views").get_by_role("link", name="Sent").click()
    rows = page.locator("li.thread-row")
    expect(rows).to_have_count(20)
    expect(rows.first.locator(".thread-snippet")).to_have_text("You: Hello")
    first_page = rows.locator(".thread-subject").all_inner_texts()
    _shots(page, "sent")
    page.get_by_role("link", name="Older conversations").click()
    expect(rows).to_have_count(1)
    # The test clock stood still: all 21 share a moment, and the pages split them by id.
    shown = [*first_page, *rows.locator(".thread-subject").all_inner_texts()]
    assert sorted(shown) == [f"Role {n:02d}" for n in range(21)]
    expect(page.get_by_role("link", name="Older conversations")).to_have_count(0)
    page.get_by_role("link", name="Newest").click()
    expect(rows).to_have_count(20)

    views = page.get_by_role("navigation", name="Message views")
    views.get_by_role("link", name="Awaiting response").click()
    expect(rows).to_have_count(20)
    expect(views.get_by_role("link", name="Awaiting response")).to_have_attribute(
        "aria-current", "page"
    )
    _shots(page, "awaiting")
    views.get_by_role("link", name="Inbox").click()
    expect(page.get_by_text("No messages yet.")).to_be_visible()


def test_notifications_say_who_and_what_and_are_read_when_opened_or_all_at_once(
    page: Page, server: Server
) -> None:
    ida, hana, ike = server.members["ida"], server.members["hana"], server.members["ike"]
    first = _send(server, ida, hana.id, "Engines", "Hello Hana")
    _send(server, ike, hana.id, "Pages", "Hello again")
    sign_in(page, hana)
    expect(page.locator("#unread-notifications")).to_contain_text("2")
    page.goto("/notifications")
    notices = page.locator("#notifications > li")
    expect(notices.filter(has_text="New InMail from Ida Inboxer: Engines")).to_have_class("unread")
    expect(notices.filter(has_text="New InMail from Ike Pager: Pages")).to_have_class("unread")
    expect(page.locator("#unread-note")).to_have_text("2 unread. Opening one marks it read.")
    assert not ISO_TIME.search(page.locator("#notifications").inner_text())
    _shots(page, "notifications")

    page.get_by_role("link", name="New InMail from Ida Inboxer: Engines").click()
    expect(page).to_have_url(re.compile(f"/threads/{first}(\\?once=.*)?$"))
    page.goto("/notifications")
    expect(notices.filter(has_text="Ida Inboxer")).to_have_class("read")
    expect(page.locator("#unread-note")).to_have_text("1 unread. Opening one marks it read.")

    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_role("status")).to_have_text("Marked 1 read.")
    expect(page.locator("#unread-note")).to_have_text("All read.")
    expect(page.locator("#unread-notifications")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark all read")).to_have_count(0)
