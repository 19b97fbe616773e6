"""The bulk send pages over HTTP, without a browser, on both engines: the dry run writes
nothing, the confirm form sent twice sends once, refusals stay in the page, the progress
page refreshes itself and resumes an unfinished bulk send, and is its owner's alone."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from inmail.domain.bulk import Connections
from inmail.domain.templates import Letter, TemplateText
from inmail.services import statements
from inmail.services.bulk_sends import BulkRequest, start_bulk_send
from inmail.services.templates import create_template
from tests.web.test_network_pages import (  # the fixtures are shared with those pages' tests
    Site,
    Visitor,
    make_site,  # noqa: F401
    quick_passwords,  # noqa: F401
)

HELLO = TemplateText(Letter("Hello {first_name}", "Hi {first_name}, 15 minutes this week?"))


def text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site(bulk_send_max_recipients=3)
    built.member("ada", "Ada Lovelace", plan="premium_business")
    for handle in ("bob", "cat", "dan", "eve"):
        built.member(handle, f"{handle.title()} Person")
    return built


def template_of(site: Site, handle: str) -> str:
    rt = site.runtime
    made = create_template(
        rt.deps, owner_id=site.ids[handle], name="Hello", text=HELLO, now=rt.clock.now()
    )
    return made.id


def balance(site: Site, handle: str) -> int:
    rt = site.runtime
    return statements.get_credits(rt.deps, member_id=site.ids[handle], now=rt.clock.now()).balance


def preview(visitor: Visitor, query: str) -> str:
    """The dry run page (its one-time key added by a redirect, as a browser follows it)."""
    shown = visitor.get(f"/bulk/preview?{query}")
    assert shown.status_code == 200, shown.text
    assert "once=" in str(shown.url)
    return shown.text


def confirm_form(page: str) -> dict[str, str]:
    form = page[page.index('<form class="row" method="post" action="/bulk"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))


def test_the_dry_run_page_writes_nothing_and_its_form_sent_twice_sends_once(site: Site) -> None:
    ada = site.visitor("ada")
    template = template_of(site, "ada")
    query = f"to={site.ids['bob']}&to={site.ids['cat']}&handles=@dan,+zed&template={template}"

    page = preview(ada, query)

    shown = text(page)
    assert "3 credits · you have 25" in shown
    assert "No member has the handle @zed: left out." in shown
    assert "Hello Bob" in shown
    assert "Hello Dan" in shown
    assert balance(site, "ada") == 25
    assert site.visitor("ada").get("/bulk").text.count('href="/bulk/blk_') == 0
    form = confirm_form(page)
    assert (form["max_credits"], form["max_overage"]) == ("3", "0")
    first = ada.post("/bulk", **form)
    again = ada.post("/bulk", **form)
    assert first.url == again.url  # the same bulk send
    assert "Done" in text(again.text)
    assert "3 of 3 handled: 3 sent, 0 not sent." in text(again.text)
    assert balance(site, "ada") == 22


def test_refusals_stay_in_the_page(site: Site) -> None:
    ada = site.visitor("ada")
    template = template_of(site, "ada")
    nobody = ada.get(f"/bulk/preview?once=k&template={template}")
    assert nobody.status_code == 422
    assert "list at least one recipient" in text(nobody.text)
    too_many = "&".join(f"to={site.ids[h]}" for h in ("bob", "cat", "dan", "eve"))
    refused = ada.get(f"/bulk/preview?once=k&template={template}&{too_many}")
    assert refused.status_code == 422
    assert "at most 3 recipients, not 4" in text(refused.text)
    assert 'value="' + site.ids["eve"] + '" checked' in refused.text  # the choice is kept
    theirs = template_of(site, "bob")
    other = ada.get(f"/bulk/preview?once=k&template={theirs}&to={site.ids['cat']}")
    assert other.status_code == 404
    assert f"you have no template '{theirs}'" in text(other.text)
    assert balance(site, "ada") == 25


def test_the_progress_page_refreshes_itself_and_resumes_an_unfinished_bulk_send(
    site: Site,
) -> None:
    rt = site.runtime
    template = template_of(site, "ada")
    people = (site.ids["bob"], site.ids["cat"])
    bulk_id = start_bulk_send(
        rt.deps,
        owner_id=site.ids["ada"],
        request=BulkRequest(template, people, Connections.MESSAGE, 2),
        now=rt.clock.now(),
        idempotency_key="stored-then-the-process-died",
        max_recipients=3,
    )
    ada = site.visitor("ada")

    first = ada.get(f"/bulk/{bulk_id}")  # sends after answering (a background task)

    assert first.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in first.text
    assert "Sending…" in text(first.text)
    assert "0 of 2 handled" in text(first.text)
    then = ada.get(f"/bulk/{bulk_id}")
    assert "http-equiv" not in then.text
    assert "2 of 2 handled: 2 sent, 0 not sent." in text(then.text)
    assert balance(site, "ada") == 23
    bob = site.visitor("bob")
    assert bob.get(f"/bulk/{bulk_id}").status_code == 404


def test_without_templates_the_page_says_how_a_bulk_send_works(site: Site) -> None:
    bob = site.visitor("bob")
    page = text(bob.get(f"/bulk?to={site.ids['cat']}").text)
    assert "You have no templates yet" in page
    assert "Cat Person @cat" in page
