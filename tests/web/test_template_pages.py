"""The Templates pages and compose from a template, through HTTP on both engines: what the
member reads on each page and what is stored after each form."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from inmail.services import statements
from inmail.store.tables import messages, templates
from tests.web.test_network_pages import (  # the fixtures are shared with those pages' tests
    Site,
    Visitor,
    make_site,  # noqa: F401
    quick_passwords,  # noqa: F401
)

PAID = "premium_business"
INTRO = {
    "name": "Intro",
    "subject": "Hello {first_name}",
    "body": "Hi {first_name},\nI saw your work at {company|your company}. {my_name}",
}


def _text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _once(page: str, action: str) -> str:
    form = re.search(rf'action="{re.escape(action)}".*?name="once" value="([^"]+)"', page, re.S)
    assert form is not None, f"no one-time key in the form to {action}"
    return form.group(1)


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site()
    built.member("ada", "Ada Lovelace", plan=PAID)
    built.member("bob", "Bob Babbage", company="Engines Ltd")
    built.member("plato", "Plato")
    return built


def _create(ada: Visitor, **form: str) -> tuple[str, str]:
    """Post the new-template form; (the template's id, the page landed on)."""
    page = ada.get("/templates").text
    shown = ada.post("/templates", once=_once(page, "/templates"), **{**INTRO, **form})
    found = re.search(r"/templates/(tpl_[0-9a-z]+)$", str(shown.url))
    assert found is not None, shown.url
    return found.group(1), shown.text


def _stored(site: Site) -> list[tuple[str, str | None]]:
    with site.runtime.deps.db.read() as conn:
        rows = conn.execute(select(templates.c.name, templates.c.deleted_at))
        return [(r.name, None if r.deleted_at is None else "deleted") for r in rows]


def test_a_template_is_written_listed_edited_and_deleted(site: Site) -> None:
    ada = site.visitor("ada")
    assert "No templates yet." in _text(ada.get("/templates").text)
    assert 'href="/templates"' in ada.get("/inbox").text  # in the member nav
    template, page = _create(ada, b_subject="Quick question, {first_name}", b_body="B body")
    assert "Template “Intro” saved." in _text(page)
    listed = _text(ada.get("/templates").text)
    assert "Intro A/B Hello {first_name}" in listed

    edited = ada.post(
        f"/templates/{template}", name="Intro 2", subject="Hey {first_name}", body="New body"
    )
    assert "Template “Intro 2” saved." in _text(edited.text)
    assert 'value="Hey {first_name}"' in edited.text
    assert 'name="b_subject" type="text" maxlength="200" value=""' in edited.text  # B removed

    deleted = ada.post(f"/templates/{template}/delete")
    assert "Template deleted. Its results stay on your Stats page." in _text(deleted.text)
    assert "No templates yet." in _text(deleted.text)
    assert _stored(site) == [("Intro 2", "deleted")]
    assert ada.get(f"/templates/{template}").status_code == 404


def test_a_template_with_problems_is_refused_with_every_position(site: Site) -> None:
    ada = site.visitor("ada")
    page = ada.get("/templates").text
    form = {**INTRO, "subject": "Hi {nickname}", "body": "Kept\n{ company }"}
    shown = ada.refused("/templates", 422, once=_once(page, "/templates"), **form)
    assert "subject, line 1, column 4: unknown placeholder {nickname}" in shown
    assert "body, line 2, column 1: unknown placeholder { company }: did you mean {company}?" in (
        shown
    )
    assert _stored(site) == []


def test_another_members_template_page_is_not_found(site: Site) -> None:
    template, _ = _create(site.visitor("ada"))
    bob = site.visitor("bob")
    assert bob.get(f"/templates/{template}").status_code == 404
    assert "you have no template" in bob.refused(f"/templates/{template}/delete", 404)


def test_the_preview_renders_for_a_chosen_recipient_and_names_what_is_missing(
    site: Site,
) -> None:
    ada = site.visitor("ada")
    template, _ = _create(ada, b_subject="B for {last_name}", b_body="B body")
    found = _text(ada.get(f"/templates/{template}?q=Bob").text)
    assert "Preview for Bob Babbage" in found

    shown = ada.get(f"/templates/{template}?to={site.ids['bob']}").text
    assert "Hi Bob,\nI saw your work at Engines Ltd. Ada Lovelace" in html.unescape(shown)
    assert "B for Babbage" in _text(shown)
    assert f'href="/compose?to={site.ids["bob"]}&amp;template={template}"' in shown

    plato = _text(ada.get(f"/templates/{template}?to={site.ids['plato']}").text)
    assert "Hello Plato" in plato  # variant A has a fallback for the company
    assert "Cannot be sent to Plato: no value and no fallback for {last_name} in the subject" in (
        plato
    )


def test_compose_starts_from_a_template_and_sends_from_it(site: Site) -> None:
    deps, now = site.runtime.deps, site.runtime.clock.now()
    ada, bob = site.visitor("ada"), site.ids["bob"]
    template, _ = _create(ada)
    page = ada.get(f"/compose?to={bob}&template={template}").text
    assert 'value="Hello Bob"' in page
    assert "I saw your work at Engines Ltd." in html.unescape(page)
    assert "Filled in from your template for Bob Babbage." in _text(page)
    form = {
        "once": _once(page, "/compose"),
        "to": bob,
        "channel": "inmail",
        "cost": "1",
        "overage": "0",
        "template": template,
        "subject": "Hello Bob",
        # as the browser sends a text area: CRLF line breaks
        "body": "Hi Bob,\r\nI saw your work at Engines Ltd. Ada Lovelace",
    }
    sent = ada.post("/compose", **form)
    assert "InMail sent: 1 credit spent, 24 left." in _text(sent.text)
    with deps.db.read() as conn:
        row = conn.execute(select(messages)).one()
    assert (row.template_id, row.variant, row.subject) == (template, "a", "Hello Bob")
    assert statements.get_credits(deps, member_id=site.ids["ada"], now=now).balance == 24

    stats = _text(ada.get("/stats").text)
    assert (
        "Intro All Response rate — none counted yet Sent 1 Answered 0 Declined 0 "
        "Pending (under 30 days) 1 No response in 30 days 0"
    ) in stats


def test_an_edited_template_text_is_sent_as_the_members_own(site: Site) -> None:
    ada, bob = site.visitor("ada"), site.ids["bob"]
    template, _ = _create(ada)
    page = ada.get(f"/compose?to={bob}&template={template}").text
    form = {
        "once": _once(page, "/compose"),
        "to": bob,
        "channel": "inmail",
        "template": template,
        "subject": "Hello Bob",
        "body": "My own words now",
    }
    ada.post("/compose", **form)
    with site.runtime.deps.db.read() as conn:
        row = conn.execute(select(messages)).one()
    assert (row.template_id, row.body) == (None, "My own words now")


def test_compose_says_which_placeholders_a_recipient_lacks(site: Site) -> None:
    ada, plato = site.visitor("ada"), site.ids["plato"]
    template, _ = _create(ada, subject="For {company}")
    shown = ada.get(f"/compose?to={plato}&template={template}").text
    text = _text(shown)
    assert "This template cannot be sent to Plato: no value and no fallback for" in text
    assert "{company} in the subject" in text
    assert 'name="template" value=' not in shown  # the send is the member's own text
    assert f'href="/templates/{template}?to={plato}"' in shown
