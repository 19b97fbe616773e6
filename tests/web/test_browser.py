"""End-to-end flows in Chromium against ``inmail serve``: what a member does, click by click.

Each test signs in through the real form and uses only what a member sees:
labels, buttons, links and the words on the page. See conftest.py for the
server, the seeded members and the checks every page gets.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.web.conftest import PASSWORD, Member, Server, screenshot, sign_in

SCRIPT = "<script>window.__pwned=1</script>"


def _open_compose(page: Page, recipient: Member) -> None:
    """Search the recipient by name on /compose and open them: the cost preview shows."""
    page.goto("/compose")
    page.get_by_label("Name or handle").fill(recipient.name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=recipient.name, exact=True).click()
    expect(page.get_by_role("heading", name=f"To {recipient.name}")).to_be_visible()


def _send_inmail(page: Page, recipient: Member, subject: str, body: str) -> None:
    """Compose and send a 1-credit InMail; ends on the new thread."""
    _open_compose(page, recipient)
    expect(page.locator("#cost-preview")).to_contain_text("1 credit")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message").fill(body)
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))  # conftest accepts it
    page.get_by_role("button", name="Send InMail (1 credit)").click()
    expect(page).to_have_url(re.compile(r"/threads/[^/]+$"))
    assert asked == ["Send this InMail for 1 credit? A sent InMail cannot be cancelled."]
    expect(page.get_by_role("status")).to_contain_text("InMail sent: 1 credit spent")


def _balance(page: Page) -> str:
    page.goto("/credits")
    balance = page.locator("#balance")
    expect(balance).to_be_visible()
    return balance.inner_text().strip()


def test_sign_in_lands_on_the_empty_inbox(page: Page, server: Server) -> None:
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next=/inbox$"))
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    screenshot(page, "login")
    sign_in(page, server.members["kim"])
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    expect(page.get_by_text("No messages yet.")).to_be_visible()


def test_a_wrong_password_is_refused_in_words(page: Page, server: Server) -> None:
    page.goto("/login")
    page.get_by_label("Handle", exact=True).fill(server.members["kim"].handle)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("that handle and password do not match")
    expect(page).to_have_url(re.compile(r"/login"))


def test_sign_in_with_the_keyboard_only(page: Page, server: Server) -> None:
    page.goto("/login")
    handle = page.get_by_label("Handle", exact=True)
    expect(handle).to_be_focused()  # autofocus: typing starts in the handle field
    page.keyboard.type(server.members["kim"].handle)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("button", name="Sign out @kim")).to_be_visible()


def test_compose_shows_the_cost_and_sending_spends_a_credit(page: Page, server: Server) -> None:
    sign_in(page, server.members["ava"])
    assert _balance(page) == "25"
    recipient = server.members["beatrice"]
    _open_compose(page, recipient)
    expect(page.locator("#cost-preview")).to_contain_text("1 credit")
    expect(page.locator("#cost-preview")).to_contain_text("you have 25")
    screenshot(page, "compose-preview")
    page.get_by_label("Subject").fill("A role you might like")
    page.get_by_label("Message").fill("Hello Beatrice,\nwould you have 15 minutes this week?")
    page.get_by_role("button", name="Send InMail (1 credit)").click()
    expect(page.get_by_role("status")).to_have_text("InMail sent: 1 credit spent, 24 left.")
    expect(page.get_by_text("A sent InMail cannot be cancelled")).to_be_visible()
    assert _balance(page) == "24"
    expect(page.get_by_text("24 plan · 0 purchased")).to_be_visible()


def test_no_credits_and_overage_off_is_refused_with_the_free_routes(
    page: Page, server: Server
) -> None:
    sign_in(page, server.members["nora"])
    assert _balance(page) == "0"
    automatic = page.get_by_label("Buy a credit automatically when I run out")
    expect(automatic).to_be_checked()  # on by default: the preview would offer overage
    automatic.uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Overage settings saved.")
    expect(page.get_by_label("Buy a credit automatically when I run out")).not_to_be_checked()

    _open_compose(page, server.members["omar"])
    preview = page.locator("#cost-preview")
    expect(preview).to_contain_text(
        "Cannot send: not enough credits (0) and automatic overage is off"
    )
    expect(page.get_by_role("heading", name="Free ways to reach them")).to_be_visible()
    routes = page.locator("#free-routes li")
    expect(routes).to_contain_text(
        ["Ask Mia Middle (@mia) to introduce you", "Mention @omar in a post"]
    )
    expect(page.get_by_role("button", name=re.compile("^Send"))).to_have_count(0)
    screenshot(page, "compose-refused")


def test_buying_a_pack_raises_the_balance(page: Page, server: Server) -> None:
    sign_in(page, server.members["pia"])
    assert _balance(page) == "25"
    page.get_by_role("link", name=re.compile(r"^Buy 5 credits ·")).click()
    page.get_by_role("button", name="Confirm: pay 45.00 USD").click()
    expect(page.get_by_role("status")).to_have_text("Charged 45.00 USD for 5 credits.")
    expect(page.locator("#balance")).to_have_text("30")
    expect(page.get_by_text("25 plan · 5 purchased")).to_be_visible()
    lots = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Expires"))
    expect(lots.get_by_role("row").filter(has_text="purchase")).to_contain_text("31 Jan 2027")


def test_the_recipient_replies_and_the_thread_is_answered(
    new_page: Callable[[], Page], server: Server
) -> None:
    sender, recipient = server.members["rex"], server.members["rita"]
    writer = new_page()
    sign_in(writer, sender)
    _send_inmail(writer, recipient, "Quick question", "Are you open to a chat?")
    expect(writer.locator(".badge", has_text="awaiting response")).to_be_visible()

    reader = new_page()  # a new browser context: the recipient's own session
    sign_in(reader, recipient)
    row = reader.get_by_role("listitem").filter(has_text=sender.name)
    expect(row).to_contain_text("Quick question")
    expect(row).to_contain_text("awaiting response")
    screenshot(reader, "inbox")
    row.get_by_role("link", name=sender.name).click()
    expect(reader.get_by_role("heading", name=f"With {sender.name}")).to_be_visible()
    expect(reader.get_by_role("article")).to_contain_text("Are you open to a chat?")
    reader.get_by_label("Your message").fill("Yes, happy to. Thursday?")
    reader.get_by_role("button", name="Send", exact=True).click()
    expect(reader.get_by_role("status")).to_have_text("Sent.")
    expect(reader.locator(".badge", has_text="answered")).to_be_visible()
    expect(reader.get_by_role("article").last).to_contain_text("Yes, happy to. Thursday?")
    screenshot(reader, "thread")

    writer.reload()  # the sender sees the answer too
    expect(writer.locator(".badge", has_text="answered")).to_be_visible()
    expect(writer.get_by_text("Yes, happy to. Thursday?")).to_be_visible()
    expect(writer.get_by_text("Read Sat 31 Jan 2026, 09:00 UTC")).to_be_visible()


def test_a_script_in_a_message_renders_as_text(
    new_page: Callable[[], Page], server: Server
) -> None:
    sender, recipient = server.members["sam"], server.members["sue"]
    subject = '<img src=x onerror="window.__pwned=2">'
    writer = new_page()
    sign_in(writer, sender)
    _send_inmail(writer, recipient, subject, SCRIPT)

    reader = new_page()
    sign_in(reader, recipient)
    reader.get_by_role("link", name=sender.name).click()
    for page in (writer, reader):
        message = page.get_by_role("article").first
        expect(message).to_contain_text(SCRIPT)
        expect(message).to_contain_text(subject)
        expect(page.locator("main script, main img")).to_have_count(0)
        assert page.evaluate("window.__pwned") is None


def test_the_credits_page_shows_the_chart(page: Page, server: Server) -> None:
    sign_in(page, server.members["cara"])
    page.goto("/credits")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(
        page.get_by_role("img", name="Credits granted, spent and lost per cycle")
    ).to_be_visible()
    cycles = chart.locator("text")
    expect(cycles).to_have_count(3)  # seeded 70 days ago: three monthly cycles so far
    bars = chart.locator("rect")
    expect(bars).to_have_count(3 * 3)  # granted, spent, lost per cycle
    expect(bars.locator("title")).to_have_text(
        [
            *("25 granted", "3 spent", "0 forfeited or expired"),
            *("25 granted", "4 spent", "0 forfeited or expired"),
            *("25 granted", "2 spent", "0 forfeited or expired"),
        ],
        use_inner_text=False,
    )
    heights = bars.evaluate_all("bars => bars.map(b => Number(b.getAttribute('height')))")
    assert heights[0] > heights[1] > 0, heights  # a full allotment towers over 3 spent
    expect(page.get_by_role("link", name="Download the whole ledger (CSV)")).to_be_visible()
    screenshot(page, "credits")


def test_a_group_member_gets_a_free_group_message(
    new_page: Callable[[], Page], server: Server
) -> None:
    founder, joiner = server.members["gil"], server.members["gwen"]
    owner = new_page()
    sign_in(owner, founder)
    owner.goto("/groups")
    expect(owner.get_by_text("You are not in any group yet.")).to_be_visible()
    owner.get_by_label("Name", exact=True).fill("Browser Testers")
    owner.get_by_label("Description").fill("People who click through pages for a living.")
    owner.get_by_role("button", name="Create group").click()
    expect(owner.get_by_role("status")).to_have_text("Group “Browser Testers” created.")
    expect(owner.get_by_role("heading", name="Browser Testers")).to_be_visible()
    group_id = owner.locator("code").inner_text().strip()

    other = new_page()
    sign_in(other, joiner)
    other.goto("/groups")
    other.get_by_label("Group id").fill(group_id)
    other.get_by_role("button", name="Open", exact=True).click()
    other.get_by_role("button", name="Join the group").click()
    expect(other.get_by_role("status")).to_have_text("You joined the group.")
    expect(other.locator("#members")).to_contain_text(founder.name)

    owner.reload()
    expect(owner.locator("#members")).to_contain_text(joiner.name)
    screenshot(owner, "group")
    owner.get_by_label("To", exact=True).select_option(label=f"{joiner.name} (@{joiner.handle})")
    owner.get_by_label("Message", exact=True).fill("Welcome aboard, Gwen!")
    owner.get_by_role("button", name="Send for free").click()
    expect(owner.get_by_role("status")).to_have_text("Group message sent for free.")
    assert _balance(owner) == "25"  # a group message costs no credit

    other.goto("/inbox")
    other.get_by_role("listitem").filter(has_text=founder.name).get_by_role("link").click()
    expect(other.get_by_role("article")).to_contain_text("Welcome aboard, Gwen!")
    other.goto("/groups")
    expect(other.locator("#my-groups")).to_contain_text("Browser Testers")
    screenshot(other, "groups")


def test_a_mention_in_a_post_reaches_the_members_notifications(
    new_page: Callable[[], Page], server: Server
) -> None:
    author, mentioned = server.members["pat"], server.members["max"]
    writer = new_page()
    sign_in(writer, author)
    writer.goto("/feed")
    writer.get_by_label("What is on your mind?").fill(f"Great talk today, @{mentioned.handle}!")
    writer.get_by_role("button", name="Post", exact=True).click()
    expect(writer.get_by_role("status")).to_have_text("Posted; 1 mentioned member notified.")
    post = writer.get_by_role("article").filter(has_text="Great talk today")
    expect(post).to_contain_text(f"Mentions: @{mentioned.handle}")
    screenshot(writer, "feed")

    reader = new_page()
    sign_in(reader, mentioned)
    reader.goto("/notifications")
    notice = reader.get_by_role(
        "link", name=f"@{author.handle} mentioned you: Great talk today, @{mentioned.handle}!"
    )
    expect(notice).to_be_visible()
    screenshot(reader, "notifications")
    notice.click()
    expect(reader).to_have_url(re.compile(r"/mentions#post-"))
    expect(reader.get_by_role("article").filter(has_text="Great talk today")).to_contain_text(
        author.name
    )
