"""Scheduled follow-ups in the web app, in-process on both engines (issue 10 §7).

Compose offers "Follow up automatically if no reply after [7] days" with its text;
the thread shows the schedule to its sender (never to the recipient) with a cancel
button; a due one goes out on the sender's next page; every form works without
JavaScript (plain posts).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from inmail.services import sequences, statements
from inmail.services.inmail import block_member
from tests.web.test_network_pages import (  # the fixtures are shared with those pages' tests
    Site,
    Visitor,
    make_site,  # noqa: F401
    quick_passwords,  # noqa: F401
)

PAID = "premium_business"
FOLLOW_UP = "Just checking in: would a short call work?"


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site()
    built.member("ada", "Ada Lovelace", plan=PAID)
    built.member("bob", "Bob Babbage")
    return built


def _text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _compose_form(ada: Visitor, to: str) -> dict[str, str]:
    """The compose page's form for ``to``, as the page renders it (its one-time key too)."""
    page = ada.client.get(f"/compose?to={to}").text
    once = re.search(r'name="once" value="([^"]+)"', page)
    assert once is not None
    return {"once": once.group(1), "to": to, "channel": "inmail", "cost": "1", "overage": "0"}


def _balance(site: Site, handle: str) -> int:
    now = site.runtime.clock.now()
    return statements.get_credits(site.runtime.deps, member_id=site.ids[handle], now=now).balance


def test_compose_offers_a_follow_up_from_the_plans_wait(site: Site) -> None:
    ada = site.visitor("ada")
    page = ada.client.get(f"/compose?to={site.ids['bob']}")
    assert page.status_code == 200
    shown = _text(page.text)
    assert "Follow up automatically if no reply after days" in shown
    assert "7 to 28 days. Sent only if they have neither replied nor declined by then" in shown
    assert "charged then (1 credit at today's price)" in shown
    days = re.search(r'<input id="follow_up_days"[^>]*>', page.text)
    assert days is not None
    assert 'value="7"' in days.group(0)
    assert 'min="7"' in days.group(0)
    assert 'max="28"' in days.group(0)
    assert 'name="follow_up" type="checkbox" value="on">' in page.text  # not ticked


def test_a_send_with_the_box_ticked_schedules_it_and_the_thread_shows_it(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    form = _compose_form(ada, bob) | {
        "subject": "A role",
        "body": "Would you like to talk?",
        "follow_up": "on",
        "follow_up_days": "10",
        "follow_up_body": FOLLOW_UP,
    }
    thread = ada.post("/compose", **form)
    shown = _text(thread.text)
    assert "InMail sent: 1 credit spent, 24 left. Follow-up scheduled in 10 days" in shown
    assert "Scheduled follow-up pending" in shown
    assert "Sent by itself on 10 Feb 2026, 09:00 UTC if Bob Babbage has neither replied" in shown
    assert FOLLOW_UP in shown
    assert "Cancel the scheduled follow-up" in shown
    thread_path = thread.url.path
    bob_sees = site.visitor("bob").get(thread_path)
    assert "Scheduled follow-up" not in _text(bob_sees.text)
    assert FOLLOW_UP not in bob_sees.text

    cancelled = ada.post(
        f"{thread_path}/scheduled-follow-up/cancel", schedule=_schedule_id(thread.text)
    )
    shown = _text(cancelled.text)
    assert "Scheduled follow-up cancelled: nothing will be sent or charged." in shown
    assert (
        "Scheduled follow-up cancelled Cancelled on 31 Jan 2026, 09:00 UTC: you cancelled it"
        in shown
    )
    assert "Cancel the scheduled follow-up" not in shown
    assert _balance(site, "ada") == 24


def _schedule_id(page: str) -> str:
    found = re.search(r'name="schedule" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_an_unticked_box_schedules_nothing_even_with_text(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    form = _compose_form(ada, bob) | {
        "subject": "A role",
        "body": "Would you like to talk?",
        "follow_up_days": "10",
        "follow_up_body": FOLLOW_UP,
    }
    thread = ada.post("/compose", **form)
    assert "Scheduled follow-up" not in _text(thread.text)
    assert sequences.list_schedules(site.runtime.deps, member_id=site.ids["ada"]) == []


@pytest.mark.parametrize(
    ("days", "body", "words"),
    [
        ("40", FOLLOW_UP, "follow_up.after_days must be from 7 to 28 days"),
        ("", FOLLOW_UP, "say after how many days without a reply the follow-up goes out"),
        ("10", "   ", "follow_up.body cannot be blank"),
    ],
)
def test_a_refused_follow_up_keeps_the_form_and_sends_nothing(
    site: Site, days: str, body: str, words: str
) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    form = _compose_form(ada, bob) | {
        "subject": "A role",
        "body": "Kept message",
        "follow_up": "on",
        "follow_up_days": days,
        "follow_up_body": body,
    }
    shown = ada.refused("/compose", 422, **form)
    assert words in shown
    page = ada.client.post("/compose", data={"csrf": ada.csrf, **form}).text
    assert ">Kept message</textarea>" in page
    assert 'name="follow_up" type="checkbox" value="on" checked>' in page
    assert _balance(site, "ada") == 25


def test_a_due_follow_up_goes_out_on_the_senders_next_page(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    form = _compose_form(ada, bob) | {
        "subject": "A role",
        "body": "Would you like to talk?",
        "follow_up": "on",
        "follow_up_days": "7",
        "follow_up_body": FOLLOW_UP,
    }
    thread_path = ada.post("/compose", **form).url.path
    clock = site.runtime.test_clock
    assert clock is not None
    clock.advance(timedelta(days=7))
    bob_visit = site.visitor("bob")
    assert FOLLOW_UP not in bob_visit.get(thread_path).text  # not Bob's request to run
    shown = _text(ada.get("/inbox").text)  # any page of Ada's
    assert "Inbox" in shown
    thread = _text(ada.get(thread_path).text)
    assert "Scheduled follow-up sent Sent on 7 Feb 2026, 09:00 UTC" in thread
    assert thread.count(FOLLOW_UP) == 1  # in the conversation, not repeated in the card
    assert _balance(site, "ada") == 23
    assert FOLLOW_UP in bob_visit.get(thread_path).text


def test_a_failed_follow_up_says_why_on_the_thread(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    form = _compose_form(ada, bob) | {
        "subject": "A role",
        "body": "Would you like to talk?",
        "follow_up": "on",
        "follow_up_days": "7",
        "follow_up_body": FOLLOW_UP,
    }
    thread_path = ada.post("/compose", **form).url.path
    now = site.runtime.clock.now()
    block_member(site.runtime.deps, member_id=bob, other=site.ids["ada"], now=now, on=True)
    clock = site.runtime.test_clock
    assert clock is not None
    clock.advance(timedelta(days=8))
    thread = _text(ada.get(thread_path).text)
    assert "Scheduled follow-up failed Not sent: this member does not accept InMail" in thread
    assert "Nothing was charged." in thread
    assert _balance(site, "ada") == 24
