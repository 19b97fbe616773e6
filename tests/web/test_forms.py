"""Every web form, posted directly with bad data (no browser checks): the page, never JSON.

Also: the same rendered form sent twice (its one-time key) answers the first result and
charges once; every charge is shown on a confirm page first; the credits page says what the
plan allows and what the next renewal will really do. Through HTTP on both engines.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from inmail.domain.money import Money
from inmail.domain.templates import Letter, TemplateText
from inmail.services import (
    catalog,
    credits,
    groups,
    inbox,
    inmail,
    settings,
    statements,
    subscriptions,
    templates,
)
from inmail.web import (
    admin_member_forms,
    admin_pages,
    bulk_pages,
    coach_pages,
    community_pages,
    member_pages,
    network_pages,
    pages,
    settings_pages,
    template_pages,
)
from tests.web.test_network_pages import (  # the fixtures are shared with those pages' tests
    Site,
    Visitor,
    _csrf,
    make_site,  # noqa: F401
    quick_passwords,  # noqa: F401
)

HTML = "text/html; charset=utf-8"
PAID = "premium_business"


def _text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@dataclass(frozen=True)
class Bad:
    """A form posted with data the browser would have stopped, and what the page must say."""

    path: str
    form: dict[str, str]
    status: int
    words: str
    kept: str | None = None  # typed text the page must show again
    who: str = "ada"


def _web_form_routes() -> set[str]:
    modules = (
        pages,
        member_pages,
        network_pages,
        community_pages,
        admin_pages,
        coach_pages,
        template_pages,
        template_pages,
        bulk_pages,
        settings_pages,
        admin_member_forms,
    )
    return {
        route.path
        for module in modules
        for route in module.router.routes
        if isinstance(route, APIRoute) and route.methods is not None and "POST" in route.methods
    }


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site()
    built.member("ada", "Ada Lovelace", plan=PAID)
    built.member("bob", "Bob Babbage")
    built.member("cat", "Cat Herschel")
    return built


def _operator(site: Site) -> Visitor:
    visitor = site.stranger()
    visitor.csrf = _csrf(visitor.get("/login").text)
    signed_in = visitor.client.post("/login/operator", data={"csrf": visitor.csrf, "token": "op"})
    assert signed_in.url.path == "/admin"
    return visitor


def _cases(site: Site) -> list[Bad]:
    deps, now = site.runtime.deps, site.runtime.clock.now()
    ada, bob, cat = site.ids["ada"], site.ids["bob"], site.ids["cat"]
    sent = inmail.send_inmail(deps, sender_id=ada, to=bob, subject="Hi", body="Hello", now=now)
    thread = sent.thread_id
    group = groups.create_group(
        deps, owner_id=ada, name="Engines", description="", closed=False, now=now
    ).id
    groups.join_group(deps, member_id=bob, group_id=group, now=now)
    template = templates.create_template(
        deps, owner_id=ada, name="Intro", text=TemplateText(Letter("Hi", "Hello")), now=now
    ).id
    long_subject, long_body = "s" * 1000, "b" * 2001
    return [
        Bad("/login", {"handle": "ada", "password": "wrong password"}, 401, "do not match", "ada"),
        Bad("/login/operator", {"token": "wrong"}, 401, "That operator token is not valid."),
        Bad(f"/threads/{thread}/messages", {"body": "   "}, 422, "body cannot be blank"),
        Bad(f"/threads/{thread}/decline", {}, 403, "only the recipient"),
        Bad(
            f"/threads/{thread}/scheduled-follow-up/cancel",
            {"schedule": "sf_nobody"},
            404,
            "there is no scheduled follow-up 'sf_nobody'",
        ),
        Bad(
            "/compose",
            {"to": cat, "channel": "inmail", "subject": long_subject, "body": "Kept body"},
            422,
            "subject is at most 200 characters",
            "Kept body",
        ),
        Bad(
            "/compose/coach",
            {"to": cat, "subject": "Two\nlines", "body": "Kept body"},
            422,
            "subject cannot contain control characters or line breaks",
            "Kept body",
        ),
        Bad("/compose/coach/tips", {"to": "m_nobody", "body": "Hi"}, 404, "no member 'm_nobody'"),
        Bad("/credits/packs", {"pack": "pack_99"}, 422, "there is no credit pack 'pack_99'"),
        Bad(
            "/credits/settings",
            {"auto_overage": "on", "overage_limit": "lots"},
            422,
            "the limit is an amount like 50 or 49.99",
            "lots",
        ),
        Bad("/credits/plan", {"plan": "gold"}, 422, "there is no plan 'gold'"),
        Bad(
            "/network/contact",
            {"email": "ada@example.org", "email_visibility": "the moon"},
            422,
            "visibility is one of only_me, connections, network, everyone",
            "ada@example.org",
        ),
        # Invitations go to members found by name: the results show again, the note kept.
        Bad(
            "/invitations",
            {"to": bob, "q": "Bob", "note": "Kept note " + "x" * 300},
            422,
            "note is at most 300 characters",
            "Kept note",
        ),
        Bad(f"/members/{ada}/invite", {"note": "me"}, 422, "you cannot invite yourself"),
        Bad("/invitations/inv_nobody/accept", {}, 404, "there is no invitation 'inv_nobody'"),
        Bad("/invitations/inv_nobody/decline", {}, 404, "there is no invitation 'inv_nobody'"),
        Bad(
            "/introductions/intro_nobody/forward",
            {"note": "x"},
            404,
            "no introduction 'intro_nobody'",
        ),
        Bad("/introductions/intro_nobody/decline", {}, 404, "no introduction 'intro_nobody'"),
        Bad(
            f"/members/{bob}/introductions",
            {"via": "m_nobody", "note": "Kept why"},
            404,
            "there is no member 'm_nobody'",
        ),
        Bad(f"/members/{ada}/block", {}, 422, "that is you"),
        Bad(f"/members/{ada}/unblock", {}, 422, "that is you"),
        Bad(
            "/groups", {"name": " ", "description": "Kept description"}, 422, "name cannot be blank"
        ),
        Bad("/groups/g_nobody/join", {}, 404, "there is no group"),
        Bad(f"/groups/{group}/leave", {}, 409, "owner"),
        Bad(f"/groups/{group}/approve", {"member": "m_nobody"}, 409, "no pending request"),
        Bad(
            f"/groups/{group}/messages",
            {"to": bob, "body": long_body},
            422,
            "body is at most 2000 characters",
            long_body,
        ),
        Bad("/posts", {"body": " " * 5}, 422, "body cannot be blank"),
        Bad(
            "/posts/post_nobody/comments",
            {"body": "Kept comment"},
            404,
            "there is no post 'post_nobody'",
        ),
        Bad("/logout", {"csrf": "forged"}, 403, "opened before you last signed in"),
        Bad(
            "/admin/renewals",
            {"csrf": "forged"},
            403,
            "opened before you last signed in",
            who="operator",
        ),
        Bad(
            "/settings/reach",
            {"open_profile": "on"},
            422,
            "Open Profile is for members on a paid plan",
            who="bob",
        ),
        Bad(
            "/settings/overage",
            {"auto_overage": "on", "overage_limit": "lots"},
            422,
            "the limit is an amount like 50 or 49.99",
            "lots",
        ),
        Bad("/settings/time-zone", {"time_zone": "Mars/Olympus"}, 422, "IANA name"),
        Bad(
            "/settings/profile",
            {"name": " ", "headline": "Kept headline"},
            422,
            "name cannot be blank",
            "Kept headline",
        ),
        Bad(
            "/settings/contact",
            {"email": "kept@example.com", "email_visibility": "martians"},
            422,
            "visibility",
            "kept@example.com",
        ),
        Bad("/settings/tokens/tok_nobody/revoke", {}, 404, "you have no token 'tok_nobody'"),
        Bad(
            "/welcome/inv_nobody",
            {"password": "long enough", "password_again": "long enough"},
            404,
            "invitation link is not valid",
        ),
        Bad(
            "/admin/members/new",
            {"handle": "Bad Handle!", "name": "Kept Name", "plan": "basic"},
            422,
            "a handle is 2 to 30",
            "Kept Name",
            who="operator",
        ),
        Bad(
            "/admin/members/m_nobody/invitation",
            {},
            404,
            "there is no member 'm_nobody'",
            who="operator",
        ),
        Bad(
            f"/admin/plans/{PAID}",
            {"monthly_allotment": "-3", "rollover_cap": "75", "price": "59.99"},
            422,
            "Monthly credits must be a whole number",
            "-3",
            who="operator",
        ),
        Bad(f"/admin/members/{ada}/plan", {"plan": "platinum"}, 422, "no plan", who="operator"),
        Bad(
            "/bulk",
            {"template": "tpl_nobody", "recipients": bob, "max_credits": "1", "once": "k1"},
            404,
            "you have no template 'tpl_nobody'",
        ),
        Bad(
            "/templates",
            {"name": "Intro", "subject": "Hi {nickname}", "body": "Kept template body"},
            422,
            "unknown placeholder {nickname}",
            "Kept template body",
        ),
        Bad(
            f"/templates/{template}",
            {"name": "Intro", "subject": "Hi", "body": "50% off} today"},
            422,
            "a '}' that closes nothing",
            "50% off} today",
        ),
        Bad("/templates/tpl_nobody/delete", {}, 404, "you have no template 'tpl_nobody'"),
    ]


def test_every_web_form_answers_bad_data_with_its_page_and_the_words(site: Site) -> None:
    cases = _cases(site)
    ids = re.compile(r"/(m|th|g|inv|intro|post|tpl|tok)_[0-9a-z]+|/premium_business")  # ids to {id}
    tried = {ids.sub("/{id}", case.path) for case in cases}
    routes = {re.sub(r"\{[a-z_]+\}", "{id}", path) for path in _web_form_routes()}
    assert tried == routes, f"forms without a case: {routes - tried}"
    visitors = {"ada": site.visitor("ada"), "bob": site.visitor("bob"), "operator": _operator(site)}
    for case in cases:
        visitor = visitors[case.who]
        form = {"csrf": visitor.csrf, **case.form}
        answer = visitor.client.post(case.path, data=form, follow_redirects=False)
        shown = _text(answer.text)
        assert (answer.status_code, answer.headers["content-type"]) == (case.status, HTML), (
            case.path,
            answer.status_code,
            shown[:300],
        )
        assert case.words in shown, (case.path, shown)
        assert '"code"' not in answer.text  # never problem+json
        assert shown.count(case.words) == 1, (case.path, "said once, next to its form")
        if case.kept is not None:
            assert case.kept in html.unescape(answer.text), (case.path, "input not kept")


def test_a_field_longer_than_the_form_accepts_is_refused_on_the_page_too(site: Site) -> None:
    ada = site.visitor("ada")
    form = {"csrf": ada.csrf, "to": site.ids["bob"], "subject": "s" * 5000, "body": "Kept"}
    answer = ada.client.post("/compose", data=form)
    assert (answer.status_code, answer.headers["content-type"]) == (422, HTML)
    assert "subject: String should have at most 1000 characters" in _text(answer.text)
    assert ">Kept</textarea>" in answer.text
    assert (
        statements.get_credits(
            site.runtime.deps, member_id=site.ids["ada"], now=site.runtime.clock.now()
        ).balance
        == 25
    )


def _once(page: str, action: str) -> str:
    """The one-time key of the form posting to ``action`` on ``page``."""
    form = re.search(rf'action="{re.escape(action)}".*?name="once" value="([^"]+)"', page, re.S)
    assert form is not None, f"no one-time key in the form to {action}"
    return form.group(1)


def _balance(site: Site, handle: str) -> int:
    return statements.get_credits(
        site.runtime.deps, member_id=site.ids[handle], now=site.runtime.clock.now()
    ).balance


def test_the_same_compose_form_sent_twice_sends_one_inmail(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    page = ada.get(f"/compose?to={bob}").text
    form = {
        "csrf": ada.csrf,
        "once": _once(page, "/compose"),
        "to": bob,
        "channel": "inmail",
        "subject": "A role",
        "body": "Would you like to talk?",
    }
    first = ada.client.post("/compose", data=form)
    again = ada.client.post("/compose", data=form)
    assert first.url.path == again.url.path  # the same thread
    for answer in (first, again):
        assert "InMail sent: 1 credit spent, 24 left." in _text(answer.text)
    assert _balance(site, "ada") == 24
    threads = set(re.findall(r'href="/threads/([^"]+)"', ada.get("/inbox?box=sent").text))
    assert len(threads) == 1
    other = {**form, "body": "Something else"}
    changed = ada.client.post("/compose", data=other)
    assert changed.status_code == 422
    assert "This form was already sent, with other content." in _text(changed.text)
    assert _balance(site, "ada") == 24


def test_a_send_that_now_costs_more_than_the_page_showed_is_refused_uncharged(
    site: Site,
) -> None:
    """Never charged unseen: the page said free (Open Profile), then the profile closed."""
    deps, now = site.runtime.deps, site.runtime.clock.now()
    dee = site.member("dee", "Dee Open", plan=PAID)
    settings.update_settings(deps, member_id=dee, changes={"open_profile": True}, now=now)
    ada = site.visitor("ada")
    page = ada.get(f"/compose?to={dee}").text
    assert "Free" in _text(page)
    settings.update_settings(deps, member_id=dee, changes={"open_profile": False}, now=now)
    cost = re.search(r'name="cost" value="(\d+)"', page)
    assert cost is not None
    form = {
        "csrf": ada.csrf,
        "once": _once(page, "/compose"),
        "to": dee,
        "channel": "open_profile",
        "cost": cost.group(1),
        "subject": "Hello",
        "body": "Would you talk?",
    }

    answer = ada.client.post("/compose", data=form)

    assert (answer.status_code, answer.headers["content-type"]) == (409, HTML)
    assert "sending now costs 1 credit(s), not the 0 you were shown" in _text(answer.text)
    assert _balance(site, "ada") == 25
    assert not re.findall(r'href="/threads/', ada.get("/inbox?box=sent").text)


def test_a_send_that_would_now_bill_overage_unseen_is_refused_uncharged(site: Site) -> None:
    """The page showed 1 credit and no overage; another tab spent the balance since."""
    deps, now = site.runtime.deps, site.runtime.clock.now()
    ada, bob = site.visitor("ada"), site.ids["bob"]
    page = ada.get(f"/compose?to={bob}").text
    assert 'name="overage" value="0"' in page
    credits.spend_credits(deps, member_id=site.ids["ada"], cost=25, reference="elsewhere", now=now)
    form = {
        "csrf": ada.csrf,
        "once": _once(page, "/compose"),
        "to": bob,
        "channel": "inmail",
        "cost": "1",
        "overage": "0",
        "subject": "Hello",
        "body": "Would you talk?",
    }

    answer = ada.client.post("/compose", data=form)

    assert (answer.status_code, answer.headers["content-type"]) == (409, HTML)
    assert "sending (an overage purchase) now bills 10.00 USD, but you were shown no charge" in (
        _text(answer.text)
    )
    assert _balance(site, "ada") == 0
    charges = statements.list_charges(deps, member_id=site.ids["ada"], now=now)
    assert [c.kind for c in charges] == ["subscription"]


def test_a_thread_page_reloaded_keeps_its_key_so_a_reply_is_posted_once(site: Site) -> None:
    deps, now = site.runtime.deps, site.runtime.clock.now()
    sent = inmail.send_inmail(
        deps, sender_id=site.ids["ada"], to=site.ids["bob"], subject="Hi", body="Hello", now=now
    )
    bob = site.visitor("bob")
    opened = bob.get(f"/threads/{sent.thread_id}")
    assert "once=" in str(opened.url)  # the key is in the URL: Back or a reload shows it again
    again = bob.get(str(opened.url))
    key = _once(again.text, f"/threads/{sent.thread_id}/messages")
    assert key == _once(opened.text, f"/threads/{sent.thread_id}/messages")
    form = {"csrf": bob.csrf, "once": key, "body": "Happy to talk"}
    for _ in range(2):
        bob.client.post(f"/threads/{sent.thread_id}/messages", data=form)
    view = inbox.get_thread(deps, member_id=site.ids["bob"], thread_id=sent.thread_id)
    assert [m.kind for m in view.messages] == ["inmail", "reply"]


def test_a_plan_change_whose_price_rose_after_the_confirm_page_is_refused(site: Site) -> None:
    deps, now = site.runtime.deps, site.runtime.clock.now()
    ada = site.visitor("ada")
    page = ada.get("/credits/plan/confirm?plan=recruiter").text
    agreed = re.search(r'name="agreed" value="(\d+)"', page)
    assert agreed is not None
    assert int(agreed.group(1)) > 0
    catalog.update_plan(deps, code="recruiter", changes={"price": Money(99900, "USD")}, now=now)
    form = {
        "csrf": ada.csrf,
        "once": _once(page, "/credits/plan"),
        "plan": "recruiter",
        "agreed": agreed.group(1),
    }

    answer = ada.client.post("/credits/plan", data=form)

    assert (answer.status_code, answer.headers["content-type"]) == (409, HTML)
    assert "this plan change now bills" in _text(answer.text)
    charges = statements.list_charges(deps, member_id=site.ids["ada"], now=now)
    assert [c.kind for c in charges] == ["subscription"]


def test_a_pack_dearer_than_its_confirm_page_showed_is_refused(site: Site) -> None:
    ada = site.visitor("ada")
    page = ada.get("/credits/packs/confirm?pack=pack_5").text
    assert 'name="agreed" value="4500"' in page
    form = {"csrf": ada.csrf, "once": _once(page, "/credits/packs"), "pack": "pack_5"}

    answer = ada.client.post("/credits/packs", data={**form, "agreed": "4000"})  # an old page

    assert (answer.status_code, answer.headers["content-type"]) == (409, HTML)
    assert "this pack now bills 45.00 USD, but you were shown 40.00 USD" in _text(answer.text)
    assert _balance(site, "ada") == 25


def test_the_same_confirmed_purchase_sent_twice_charges_once(site: Site) -> None:
    ada = site.visitor("ada")
    confirm = ada.get("/credits/packs/confirm?pack=pack_5")
    shown = _text(confirm.text)
    assert "5 credits for 45.00 USD" in shown
    assert "your balance goes from 25 to 30" in shown
    assert "on 31 Jan 2027" in shown
    form = {"csrf": ada.csrf, "once": _once(confirm.text, "/credits/packs"), "pack": "pack_5"}
    first = ada.client.post("/credits/packs", data=form)
    again = ada.client.post("/credits/packs", data=form)
    for answer in (first, again):
        assert "Charged 45.00 USD for 5 credits." in _text(answer.text)
    assert _balance(site, "ada") == 30
    deps, now = site.runtime.deps, site.runtime.clock.now()
    charged = statements.list_charges(deps, member_id=site.ids["ada"], now=now, limit=10)
    assert [c.kind for c in charged] == ["subscription", "pack"]


def test_a_confirmed_upgrade_is_charged_once_and_as_shown(site: Site) -> None:
    ada = site.visitor("ada")
    clock = site.runtime.test_clock
    assert clock is not None
    clock.advance(timedelta(days=14))  # half of the 28-day cycle is left
    confirm = ada.get("/credits/plan/confirm?plan=recruiter")
    shown = _text(confirm.text)
    assert "Upgrade to Recruiter now" in shown
    assert "Charged now 387.50 USD" in shown  # (835.00 - 59.99) / 2, rounded down
    assert "Credits now +12 at once: your balance goes from 25 to 37" in shown
    assert "Rollover cap 150 plan credits, from the renewal on 28 Feb 2026" in shown
    assert "Next renewal 28 Feb 2026: Recruiter, +50 credits, fee 835.00 USD" in shown
    form = {"csrf": ada.csrf, "once": _once(confirm.text, "/credits/plan"), "plan": "recruiter"}
    first = ada.client.post("/credits/plan", data=form)
    again = ada.client.post("/credits/plan", data=form)
    for answer in (first, again):
        assert "Upgraded to Recruiter: charged 387.50 USD for 12 credits now." in _text(answer.text)
    assert _balance(site, "ada") == 37
    deps, now = site.runtime.deps, site.runtime.clock.now()
    charged = statements.list_charges(deps, member_id=site.ids["ada"], now=now, limit=10)
    assert [(c.kind, str(c.price)) for c in charged] == [
        ("subscription", "59.99 USD"),
        ("proration", "387.50 USD"),
    ]


def test_a_scheduled_cancel_shows_what_the_renewal_will_really_do(site: Site) -> None:
    ada = site.visitor("ada")
    confirm = _text(ada.get("/credits/plan/confirm?plan=basic").text)
    assert "Cancel: move to Basic (free) at the end of this cycle" in confirm
    assert "Charged now nothing" in confirm
    assert "on 28 Feb 2026, 09:00 UTC" in confirm
    assert "Forfeited 25 plan credits at the renewal on 28 Feb 2026" in confirm
    before = _text(ada.get("/credits").text)
    assert "+25 credits, up to 75 plan credits; fee 59.99 USD." in before
    done = _text(ada.post("/credits/plan", plan="basic").text)
    assert "Basic (free) starts at the next renewal, on 28 Feb 2026; nothing charged now." in done
    assert "Your plan becomes Basic (free) then." in done
    assert "No credits are granted and no fee is charged after that." in done
    assert "25 credits will be forfeited at the renewal." in done
    assert "+25 credits, up to 75" not in done


def test_a_basic_member_sees_what_basic_allows_and_the_way_up_with_its_price(
    site: Site,
) -> None:
    bob = site.visitor("bob")
    credits.adjust_credits(
        site.runtime.deps,
        member_id=site.ids["bob"],
        amount=3,
        reason="kept from an earlier plan",
        now=site.runtime.clock.now(),
    )
    page = bob.get("/credits").text
    shown = _text(page)
    assert "/credits/packs/confirm" not in page  # no Buy buttons
    assert 'name="auto_overage"' not in page  # no overage box
    assert "Basic (free) cannot buy credit packs." in shown
    assert "Basic (free) has no automatic overage" in shown
    assert "Premium Business · 59.99 USD/month" in shown
    assert 'href="/credits/plan/confirm?plan=premium_business"' in page
    assert "cannot be used on Basic (free)" in shown
    refused = bob.client.get("/credits/packs/confirm?pack=pack_5")
    assert refused.status_code == 403
    assert "the Basic (free) plan cannot buy credit packs" in _text(refused.text)
    subscribe = _text(bob.get("/credits/plan/confirm?plan=premium_business").text)
    assert "Subscribe to Premium Business" in subscribe
    assert "Charged now 59.99 USD" in subscribe
    assert "+25 at once" in subscribe


def test_a_preview_page_writes_nothing(site: Site) -> None:
    ada = site.visitor("ada")
    deps, now = site.runtime.deps, site.runtime.clock.now()
    before = subscriptions.get_subscription(deps, member_id=site.ids["ada"], now=now)
    for path in ("/credits/plan/confirm?plan=recruiter", "/credits/packs/confirm?pack=pack_25"):
        assert ada.get(path).status_code == 200
    assert subscriptions.get_subscription(deps, member_id=site.ids["ada"], now=now) == before
    assert _balance(site, "ada") == 25
