"""The message coach on the compose page, without a browser, on both engines: the tips about
the recipient before writing, the fragment the script asks for, and "Check message" without
JavaScript (the draft kept, the page's one-time key kept, nothing sent or charged)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from inmail.services import statements
from inmail.services.network import connect
from tests.web.test_network_pages import (  # the fixtures are shared with those pages' tests
    Site,
    _csrf,
    make_site,  # noqa: F401
    quick_passwords,  # noqa: F401
)

PAID = "premium_business"
HTML = "text/html; charset=utf-8"


def _text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site()
    built.member("ada", "Ada Lovelace", plan=PAID)
    built.member("bob", "Bob Babbage")
    built.member("cat", "Cat Herschel")
    return built


def _balance(site: Site, handle: str) -> int:
    now = site.runtime.clock.now()
    return statements.get_credits(site.runtime.deps, member_id=site.ids[handle], now=now).balance


def _once(page: str) -> str:
    found = re.search(r'name="once" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_compose_page_shows_the_coach_with_the_tips_about_the_recipient(site: Site) -> None:
    now = site.runtime.clock.now()
    connect(site.runtime.deps, a=site.ids["ada"], b=site.ids["cat"], now=now)
    connect(site.runtime.deps, a=site.ids["cat"], b=site.ids["bob"], now=now)
    ada = site.visitor("ada")
    page = ada.get(f"/compose?to={site.ids['bob']}")
    shown = _text(page.text)
    assert "Before you send" in shown
    assert "Cat Herschel knows both you and Bob: ask for an introduction, which is free" in shown
    assert '<button type="submit" class="secondary" formaction="/compose/coach"' in page.text
    assert '<script src="http://testserver/static/coach.js" defer></script>' in page.text


def test_a_page_that_already_sends_for_free_does_not_say_it_could(site: Site) -> None:
    connect(site.runtime.deps, a=site.ids["ada"], b=site.ids["bob"], now=site.runtime.clock.now())
    ada = site.visitor("ada")
    shown = _text(ada.get(f"/compose?to={site.ids['bob']}").text)
    assert "Send for free" in shown
    assert "You are connected with Bob" not in shown
    assert "Tips appear here as you write." in shown


def test_the_tips_fragment_follows_the_draft(site: Site) -> None:
    ada = site.visitor("ada")
    form = {"csrf": ada.csrf, "to": site.ids["bob"], "cost": "1", "subject": "HELLO THERE"}
    answer = ada.client.post("/compose/coach/tips", data={**form, "body": "Dear Sir or Madam"})
    assert (answer.status_code, answer.headers["content-type"]) == (200, HTML)
    assert answer.text.lstrip().startswith('<div id="coach-tips" aria-live="polite">')
    assert "<html" not in answer.text  # the tips alone, for the script to put in place
    shown = _text(answer.text)
    assert "Bob Babbage's name is not in your message." in shown
    assert "“Dear Sir or Madam” could open a message to anyone." in shown
    assert 'data-field="body" data-start="0" data-end="17"' in answer.text
    assert shown.index("Suggestion") < shown.index("capital letters")
    better = "Hi Bob, I'm writing because of your engine. Would you have 15 minutes?"
    answer = ada.client.post("/compose/coach/tips", data={**form, "subject": "", "body": better})
    assert _text(answer.text) == "No tips: nothing to change."
    assert _balance(site, "ada") == 25


def test_the_tips_fragment_counts_line_breaks_as_the_text_area_does(site: Site) -> None:
    ada = site.visitor("ada")
    body = "Hi Bob,\r\nto whom it may concern"  # a form posts CRLF; a script's text area has LF
    form = {"csrf": ada.csrf, "to": site.ids["bob"], "body": body}
    answer = ada.client.post("/compose/coach/tips", data=form)
    assert 'data-start="8" data-end="30"' in answer.text
    assert "Hi Bob,\nto whom it may concern"[8:30] == "to whom it may concern"


def test_the_tips_fragment_needs_the_forms_csrf_token(site: Site) -> None:
    ada = site.visitor("ada")
    form = {"csrf": "forged", "to": site.ids["bob"], "body": "Hi"}
    answer = ada.client.post("/compose/coach/tips", data=form)
    assert answer.status_code == 403
    assert 'id="coach-tips"' not in answer.text  # the script keeps its tips and says so


def test_check_message_without_javascript_shows_the_tips_and_keeps_the_draft(
    site: Site,
) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    page = ada.get(f"/compose?to={bob}").text
    form = {
        "csrf": ada.csrf,
        "once": _once(page),
        "to": bob,
        "channel": "inmail",
        "cost": "1",
        "overage": "0",
        "subject": "A role in Lyon <b>",
        "body": "To whom it may concern, we have a role.",
    }
    checked = ada.client.post("/compose/coach", data=form)
    assert (checked.status_code, checked.headers["content-type"]) == (200, HTML)
    shown = _text(checked.text)
    assert "Bob Babbage's name is not in your message." in shown
    assert "“To whom it may concern” could open a message to anyone." in shown
    assert 'value="A role in Lyon &lt;b&gt;"' in checked.text  # kept, and escaped
    assert ">To whom it may concern, we have a role.</textarea>" in checked.text
    assert _once(checked.text) == form["once"]  # the same page: sending from here sends once
    assert _balance(site, "ada") == 25
    assert "Nothing sent yet." in _text(ada.get("/inbox?box=sent").text)

    sent = ada.client.post("/compose", data={**form, "body": "Hi Bob, a role. Interested?"})
    assert "InMail sent: 1 credit spent, 24 left." in _text(sent.text)
    assert _balance(site, "ada") == 24


def test_a_draft_a_send_would_refuse_is_refused_by_the_check_with_the_draft_kept(
    site: Site,
) -> None:
    ada = site.visitor("ada")
    form = {"csrf": _csrf(ada.get("/compose").text), "to": site.ids["bob"], "cost": "1"}
    answer = ada.client.post("/compose/coach", data={**form, "body": "Kept\x07bell"})
    assert (answer.status_code, answer.headers["content-type"]) == (422, HTML)
    assert _text(answer.text).count("body cannot contain control characters") == 1
    assert ">Kept\x07bell</textarea>" in answer.text  # kept as typed, to be corrected
