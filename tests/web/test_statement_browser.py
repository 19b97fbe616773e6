"""Credits, statement, compose and stats as a member reads them, in Chromium (issue 11).

Each test makes its own members on the served database (through the services, as the
session's seed does), so what they show depends on nothing another test did. Every page
is photographed at 1280 and 390 px wide into test-output/screenshots/money/ and checked for
horizontal overflow on the phone.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.services import credits, groups, inmail, passwords
from inmail.services.members import create_member
from inmail.services.network import connect
from inmail.services.settings import update_settings
from tests.web.conftest import (
    ADMIN_TOKEN,
    PAID,
    PASSWORD,
    QUICK_HASHER,
    SCREENSHOTS,
    T0,
    Member,
    Server,
    sign_in,
)

SHOTS = SCREENSHOTS / "money"
WIDTHS = (1280, 390)


@pytest.fixture
def served(server: Server) -> Iterator[Runtime]:
    """The services on the database ``inmail serve`` is serving (its SQLite file)."""
    url = f"sqlite:///{server.log.parent / 'web.db'}"
    rt = build(Settings(database_url=url, test_clock=T0, admin_token=ADMIN_TOKEN))
    try:
        yield rt
    finally:
        rt.close()


def _member(rt: Runtime, first: str, plan: str = "basic", since: datetime = T0) -> Member:
    """A new member named ``first`` + a unique surname, who signs in with the seed's password."""
    tag = uuid.uuid4().hex[:8]
    handle, name = f"{first.lower()}{tag}", f"{first} {tag.upper()}"
    record = create_member(rt.deps, handle=handle, name=name, plan=plan, now=since)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", QUICK_HASHER)
        passwords.set_password(rt.deps, member_id=record.id, password=PASSWORD, now=since)
    return Member(record.id, handle, name)


def _look(page: Page, name: str) -> None:
    """Screenshots at both widths; at 390 px nothing may overflow the page sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} is {wide} px wide at {width} px"
    page.set_viewport_size({"width": 1280, "height": 720})


def _send(rt: Runtime, sender: Member, to: Member, at: datetime) -> str:
    sent = inmail.send_inmail(
        rt.deps, sender_id=sender.id, to=to.id, subject="Hello", body="A question.", now=at
    )
    return sent.thread_id


def test_the_credits_page_leads_with_balance_and_renewal_then_actions_then_history(
    page: Page, served: Runtime
) -> None:
    member = _member(served, "Lena", PAID)
    sign_in(page, member)
    page.goto("/credits")
    headings = page.locator("main h2").all_inner_texts()
    assert headings[:2] == ["Balance", "Next renewal"], headings
    order = [headings.index(h) for h in ("Buy credits", "Overage", "Plan", "Statement")]
    assert order == sorted(order), headings  # actions before the history
    assert headings.index("Statement") < headings.index("Per cycle") < headings.index("Charges")
    # The renewal's day carries its year: "28 Feb 2026", never "Feb 28".
    expect(page.locator("#renewal-heading + .stat")).to_have_text("28 Feb 2026")
    expect(page.locator("#next-renewal")).to_contain_text("+25 credits, up to")
    # One cycle, in one year: the chart says "31 Jan"; its table of figures the whole day.
    expect(page.locator("svg.chart text")).to_have_text(["31 Jan"])
    expect(page.locator("#cycle-figures tbody td").first).to_have_text("31 Jan 2026")
    _look(page, "credits-new-member")


def test_the_statement_is_newest_first_in_words_with_pages_that_go_older_and_newer(
    page: Page, served: Runtime
) -> None:
    since = T0 - timedelta(days=400)  # more than a year: the chart's labels need the year
    member, ada = _member(served, "Stella", PAID, since), _member(served, "Ada", since=since)
    for days_ago in range(399, 30, -14):  # a spend every two weeks: lines for several pages
        credits.spend_credits(
            served.deps,
            member_id=member.id,
            cost=1,
            reference=f"order:{days_ago}",
            now=T0 - timedelta(days=days_ago),
        )
    credits.buy_pack(served.deps, member_id=member.id, pack="pack_5", now=T0 - timedelta(days=2))
    thread = _send(served, member, ada, T0 - timedelta(hours=1))

    sign_in(page, member)
    page.goto("/credits")
    table = page.locator("#statement")
    rows = table.locator("tbody tr:not(.period)")
    # Newest first: the InMail of an hour ago, then the pack, both in this cycle.
    # The cycle began on the 27th: a monthly anchor of 400 days ago.
    expect(table.locator("tr.period").first).to_have_text("This cycle, since 27 Jan 2026")
    expect(rows.nth(0)).to_contain_text(f"InMail to {ada.name}")
    expect(rows.nth(0).get_by_role("link", name=f"InMail to {ada.name}")).to_have_attribute(
        "href", f"/threads/{thread}"
    )
    expect(rows.nth(1)).to_contain_text("Pack of 5")
    expect(table.locator("tr.period").nth(1)).to_have_text("Before this cycle")
    expect(table).to_contain_text("Renewal, cycle 14: plan credits")
    expect(table).not_to_contain_text("cycle:")  # no internal references on the page
    expect(table).not_to_contain_text("inmail:")
    expect(page.get_by_role("link", name="Newer")).to_have_count(0)  # the newest page
    # Charges are newest first too, in words: the pack, then the latest plan fee.
    charges = page.locator("#charges tbody tr")
    expect(charges.nth(0).locator("td")).to_have_text(["29 Jan 2026", "Pack of 5", "45.00 USD"])
    expect(charges.nth(1).locator("td")).to_have_text(
        ["27 Jan 2026", "Plan fee for the cycle", "59.99 USD"]
    )
    first_page = rows.all_inner_texts()
    _look(page, "credits-statement")

    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(re.compile(r"/credits\?before=\d+"))
    older = rows.all_inner_texts()
    assert not set(older) & set(first_page)
    assert _day(older[0]) <= _day(first_page[-1])  # really older
    expect(table.locator("tr.period").first).to_have_text("Before this cycle")
    page.get_by_role("link", name="Newer").click()
    expect(page).to_have_url(re.compile(r"/credits\?after=\d+"))
    assert rows.all_inner_texts() == first_page  # back where it started

    # The chart covers cycles in two years: each label says which.
    labels = page.locator("svg.chart text").all_text_contents()
    assert labels
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} 20\d\d", x) for x in labels), labels


def _day(row: str) -> datetime:
    """The date a statement row starts with ("31 Jan 2026")."""
    found = re.match(r"\d{1,2} [A-Z][a-z]{2} \d{4}", row)
    assert found, row
    return datetime.strptime(found.group(0), "%d %b %Y")  # noqa: DTZ007


def test_the_ledger_export_keeps_references_and_utc_and_adds_a_description(
    page: Page, served: Runtime
) -> None:
    member, ada = _member(served, "Omar", PAID), _member(served, "Ada")
    _send(served, member, ada, T0)
    sign_in(page, member)
    exported = page.request.get("/credits/ledger.csv")
    assert exported.ok
    lines = list(csv.DictReader(io.StringIO(exported.text())))
    spend = next(line for line in lines if line["kind"] == "spend")
    assert spend["reference"].startswith("inmail:msg_")
    assert spend["description"] == f"InMail to {ada.name}"
    assert spend["at"].endswith("+00:00")  # UTC in exports


def test_compose_says_why_it_is_free_once_and_each_free_route_is_a_link_that_starts_it(
    page: Page, served: Runtime
) -> None:
    writer, friend = _member(served, "Wendy", PAID), _member(served, "Fred")
    katherine, target = _member(served, "Katherine"), _member(served, "Tom")
    connect(served.deps, a=writer.id, b=friend.id, now=T0)
    connect(served.deps, a=writer.id, b=katherine.id, now=T0)
    connect(served.deps, a=katherine.id, b=target.id, now=T0)
    group = groups.create_group(
        served.deps,
        owner_id=target.id,
        name=f"Makers {target.handle}",
        description="Makers.",
        closed=False,
        now=T0,
    )
    groups.join_group(served.deps, member_id=writer.id, group_id=group.id, now=T0)
    sign_in(page, writer)

    page.goto(f"/compose?to={friend.id}")
    preview = page.locator("#cost-preview")
    expect(preview).to_have_text(
        "Free — you are connected (1st degree): a message to them costs nothing."
    )
    expect(preview).not_to_contain_text("free:")

    page.goto(f"/compose?to={target.id}")
    routes = page.locator("#free-routes")
    expect(
        routes.get_by_role("link", name=f"Message them in the group {group.name}")
    ).to_have_attribute("href", f"/groups/{group.id}")
    ask = routes.get_by_role(
        "link", name=f"Ask {katherine.name} (@{katherine.handle}) to introduce you"
    )
    expect(ask).to_have_attribute("href", f"/members/{target.id}#mutual")
    mention = routes.get_by_role("link", name=f"Mention @{target.handle} in a post")
    _look(page, "compose-free-routes")
    mention.click()
    expect(page.get_by_label(re.compile("^What is on your mind"))).to_have_value(
        f"@{target.handle} "
    )
    page.go_back()
    ask.click()
    expect(page.get_by_text(f"Ask {katherine.name} for an introduction")).to_be_visible()


def test_compose_says_the_overage_price_once_and_when_a_pack_is_cheaper(
    page: Page, served: Runtime
) -> None:
    writer, target = _member(served, "Olga", PAID), _member(served, "Tina")
    credits.adjust_credits(served.deps, member_id=writer.id, amount=-25, reason="used up", now=T0)
    sign_in(page, writer)
    page.goto(f"/compose?to={target.id}")
    preview = page.locator("#cost-preview")
    expect(preview).to_have_text(
        "1 credit — you have 0, so sending buys it by overage for 10.00 USD."
    )
    assert preview.inner_text().count("10.00 USD") == 1
    cheaper = page.locator("#cheaper-pack")
    expect(cheaper).to_contain_text(
        "A pack is cheaper per credit: 25 credits for 200.00 USD (8.00 USD a credit, against "
        "10.00 USD by overage)."
    )
    expect(cheaper.get_by_role("link", name="Buy 25 credits")).to_have_attribute(
        "href", "/credits/packs/confirm?pack=pack_25"
    )
    _look(page, "compose-overage")


def test_compose_offers_no_pack_when_overage_is_not_needed(page: Page, served: Runtime) -> None:
    writer, target = _member(served, "Paul", PAID), _member(served, "Tara")
    update_settings(served.deps, member_id=writer.id, now=T0, changes={"auto_overage": True})
    sign_in(page, writer)
    page.goto(f"/compose?to={target.id}")
    expect(page.locator("#cost-preview")).to_have_text("1 credit — you have 25.")
    expect(page.locator("#cheaper-pack")).to_have_count(0)


def test_stats_show_sent_answered_declined_and_pending_beside_the_rate(
    page: Page, served: Runtime
) -> None:
    writer = _member(served, "Sasha", PAID, T0 - timedelta(days=40))
    answers, declines, waits, old = (
        _member(served, n, since=T0 - timedelta(days=40)) for n in ("Ann", "Dee", "Wal", "Olly")
    )
    _send(served, writer, old, T0 - timedelta(days=35))  # no response in 30 days
    replied = _send(served, writer, answers, T0 - timedelta(days=3))
    inmail.post_in_thread(
        served.deps,
        member_id=answers.id,
        thread_id=replied,
        body="Sure.",
        now=T0 - timedelta(days=2),
    )
    declined = _send(served, writer, declines, T0 - timedelta(days=3))
    inmail.decline(
        served.deps, member_id=declines.id, thread_id=declined, now=T0 - timedelta(days=1)
    )
    _send(served, writer, waits, T0 - timedelta(days=1))
    sign_in(page, writer)
    page.goto("/stats")
    expect(page.locator("#response-rate")).to_have_text("67%")
    expect(page.locator("#rate-basis")).to_have_text(
        "2 of the 3 InMails that count were answered or declined within 30 days."
    )
    figures = page.locator("#response-counts")
    for term, value in (("Sent", 4), ("Answered", 1), ("Declined", 1), ("Pending", 1)):
        row = figures.get_by_role("row", name=re.compile(f"^{term} "))
        expect(row.locator("td.num")).to_have_text(str(value))
    expect(
        figures.get_by_role("row", name=re.compile("^No response")).locator("td.num")
    ).to_have_text("1")
    _look(page, "stats")


def test_every_date_a_member_reads_has_its_year_and_times_their_zone(
    page: Page, served: Runtime
) -> None:
    writer, reader = _member(served, "Dora", PAID), _member(served, "Rudi")
    thread = _send(served, writer, reader, T0 - timedelta(hours=1))
    sign_in(page, writer)
    page.goto(f"/threads/{thread}")
    expect(page.get_by_text(f"{writer.name} · Sat 31 Jan 2026, 08:00 UTC")).to_be_visible()
    _look(page, "thread-dates")
    page.goto("/credits/packs/confirm?pack=pack_5")
    expect(page.locator("#confirm-details")).to_contain_text("on 31 Jan 2027, unless spent before")
    _look(page, "confirm-pack")
    page.goto("/credits/plan/confirm?plan=basic")
    expect(page.locator("#confirm-details")).to_contain_text("on 28 Feb 2026, 09:00 UTC")
    _look(page, "confirm-plan")
    page.goto(f"/feed?mention={reader.handle}")
    _look(page, "feed-mention")
