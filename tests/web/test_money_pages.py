"""Money in Chromium: every charge shown before it happens, and never made twice.

Sending the same form again (Back, then send again) answers the first result: one InMail,
one purchase, one upgrade. Every page touched is photographed at 1280 and 390 px wide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Locator, Page, expect

from tests.web.conftest import Member, Server, screenshot, sign_in

WIDTHS = (1280, 390)


def _both_widths(page: Page, name: str) -> None:
    """Screenshots of the page as it is, wide and narrow (a phone)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 720})


def _said(page: Page, term: str) -> Locator:
    """What the confirm page says for ``term`` (its <dd> next to the <dt>)."""
    return page.locator("#confirm-details").locator(f"dt:text-is('{term}') + dd")


def _balance(page: Page) -> str:
    page.goto("/credits")
    return page.locator("#balance").inner_text().strip()


def _inmail_threads(page: Page, recipient: Member) -> int:
    page.goto("/inbox?box=sent")
    return page.locator("li.thread-row").filter(has_text=recipient.name).count()


def test_the_same_compose_form_sent_again_after_back_sends_one_inmail(
    page: Page, server: Server
) -> None:
    sender, recipient = server.members["tia"], server.members["wes"]
    sign_in(page, sender)
    page.goto(f"/compose?to={recipient.id}")
    page.get_by_label("Subject").fill("One InMail only")
    page.get_by_label("Message").fill("Even if I press Send twice.")
    _both_widths(page, "compose-filled")
    form = page.locator("form[method='post'][action='/compose']")
    fields = form.evaluate("form => Object.fromEntries(new FormData(form))")  # as sent
    page.get_by_role("button", name="Send InMail (1 credit)").click()
    expect(page.get_by_role("status")).to_have_text("InMail sent: 1 credit spent, 24 left.")
    thread = urlsplit(page.url).path  # the thread page carries its own one-time key
    page.go_back()  # the compose page, with its one-time key: it now offers no second InMail
    expect(page.locator("#awaiting")).to_contain_text("still awaiting a response")  # SPEC §4
    expect(form).to_have_count(0)
    again = page.request.post("/compose", form=fields)  # the same rendered form, sent again
    assert again.ok, again.status
    assert urlsplit(again.url).path == thread  # the first result, not a second InMail
    assert _balance(page) == "24"
    assert _inmail_threads(page, recipient) == 1


def test_a_refused_compose_shows_the_page_with_the_words_and_the_text_kept(
    page: Page, server: Server
) -> None:
    sign_in(page, server.members["tia"])
    # Not Wes: while Tia's InMail to him awaits a response, no new one can be composed (§4).
    recipient = server.members["zed"]
    page.goto(f"/compose?to={recipient.id}")
    subject = page.get_by_label("Subject")
    subject.evaluate("field => field.removeAttribute('maxlength')")  # past the browser's check
    subject.fill("s" * 1000)
    page.get_by_label("Message").fill("This text stays.")
    page.get_by_role("button", name="Send InMail (1 credit)").click()
    expect(page.get_by_role("alert")).to_have_text("subject is at most 200 characters")
    expect(page.get_by_label("Message")).to_have_value("This text stays.")
    _both_widths(page, "compose-refused-subject")


def test_a_pack_is_confirmed_with_its_price_and_bought_once(page: Page, server: Server) -> None:
    sign_in(page, server.members["pip"])
    page.goto("/credits")
    page.get_by_role("link", name=re.compile(r"^Buy 5 credits · 45.00 USD")).click()
    expect(page.get_by_role("heading", name="Confirm your purchase")).to_be_visible()
    expect(_said(page, "Charged now")).to_have_text("45.00 USD")
    expect(_said(page, "Credits")).to_have_text("+5 at once: your balance goes from 25 to 30")
    expect(_said(page, "Expire")).to_have_text("on 31 Jan 2027, unless spent before")
    _both_widths(page, "confirm-pack")
    page.get_by_role("button", name="Confirm: pay 45.00 USD").click()
    expect(page.get_by_role("status")).to_have_text("Charged 45.00 USD for 5 credits.")
    expect(page.locator("#balance")).to_have_text("30")
    page.go_back()
    page.get_by_role("button", name="Confirm: pay 45.00 USD").click()
    expect(page.get_by_role("status")).to_have_text("Charged 45.00 USD for 5 credits.")
    expect(page.locator("#balance")).to_have_text("30")  # the first purchase, not a second
    charges = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Amount"))
    expect(charges.get_by_role("row").filter(has_text="pack")).to_have_count(1)


def test_an_upgrade_shows_its_charge_first_and_is_charged_once(page: Page, server: Server) -> None:
    sign_in(page, server.members["uma"])
    page.goto("/credits")
    _both_widths(page, "credits-paid")
    page.get_by_label("Change to").select_option("recruiter")
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_role("heading", name="Upgrade to Recruiter now")).to_be_visible()
    expect(_said(page, "Charged now")).to_contain_text("775.01 USD")  # the whole cycle is left
    expect(_said(page, "Credits now")).to_have_text("+25 at once: your balance goes from 25 to 50")
    expect(_said(page, "Rollover cap")).to_contain_text(
        "150 plan credits, from the renewal on 28 Feb 2026"
    )
    _both_widths(page, "confirm-upgrade")
    form = page.locator("form[action='/credits/plan']")
    sent: dict[str, str | float | bool] = {
        name: form.locator(f"input[name={name}]").get_attribute("value") or ""
        for name in ("csrf", "once", "plan")
    }
    page.get_by_role("button", name="Confirm: pay 775.01 USD").click()
    done = "Upgraded to Recruiter: charged 775.01 USD for 25 credits now."
    expect(page.get_by_role("status")).to_have_text(done)
    again = page.request.post("/credits/plan", form=sent)  # the same form, sent again
    assert done in again.text()
    page.go_back()  # the confirm page, fetched again: nothing left to confirm
    expect(page.get_by_role("heading", name="You are on Recruiter already")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(0)
    page.goto("/credits")
    expect(page.locator("#balance")).to_have_text("50")
    charges = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Amount"))
    expect(charges.get_by_role("row").filter(has_text="Upgrade, prorated")).to_have_count(1)


def test_a_downgrade_is_shown_with_its_date_and_the_next_renewal_follows_it(
    page: Page, server: Server
) -> None:
    sign_in(page, server.members["dov"])
    page.goto("/credits/plan/confirm?plan=basic")
    expect(
        page.get_by_role("heading", name="Cancel: move to Basic (free) at the end of this cycle")
    ).to_be_visible()
    expect(_said(page, "Forfeited")).to_contain_text(
        "25 plan credits at the renewal on 28 Feb 2026"
    )
    expect(_said(page, "Charged now")).to_have_text("nothing")
    _both_widths(page, "confirm-cancel")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Basic (free) starts at the next renewal"
    )
    renewal = page.locator("#next-renewal")
    expect(renewal).to_contain_text("Your plan becomes Basic (free) then.")
    expect(renewal).to_contain_text("25 credits will be forfeited at the renewal.")
    expect(renewal).not_to_contain_text("+25 credits")
    _both_widths(page, "credits-cancel-scheduled")


def test_a_basic_member_sees_no_buy_buttons_and_the_way_up(page: Page, server: Server) -> None:
    sign_in(page, server.members["val"])
    page.goto("/credits")
    expect(page.get_by_role("link", name=re.compile("^Buy "))).to_have_count(0)
    expect(page.get_by_label("Buy a credit automatically when I run out")).to_have_count(0)
    expect(page.locator("#no-packs")).to_contain_text("Basic (free) cannot buy credit packs.")
    way_up = page.get_by_role("link", name="Premium Business · 59.99 USD/month")
    expect(way_up).to_be_visible()
    _both_widths(page, "credits-basic")
    way_up.click()
    expect(page.get_by_role("heading", name="Subscribe to Premium Business")).to_be_visible()
    expect(_said(page, "Charged now")).to_have_text("59.99 USD")
    _both_widths(page, "confirm-subscribe")


def test_the_pages_send_no_inline_code_the_policy_would_block(
    new_page: Callable[[], Page], server: Server
) -> None:
    page = new_page()
    blocked: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            blocked.append(message.text)

    page.on("console", on_console)
    sign_in(page, server.members["cara"])
    for path in ("/credits", "/compose", "/network", "/groups", "/feed", "/inbox"):
        page.goto(path)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("inmail")
    expect(page.locator(".opblock").first).to_be_visible()
    _both_widths(page, "docs")
    assert blocked == []
