""" "Who is likely to answer" in Chromium: paste handles, read the ranking, write to the best one.

The people are added to the running server's database through the service layer (the
session's server is shared: these handles start with ``tg-`` and nobody else uses them),
then a member signs in through the real form and uses only what the page shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from inmail.bootstrap import build
from inmail.config import Settings
from inmail.services import passwords
from inmail.services.groups import create_group, join_group
from inmail.services.inmail import decline, send_inmail
from inmail.services.members import create_member
from inmail.services.network import connect
from inmail.services.settings import update_settings
from tests.web.conftest import (
    PASSWORD,
    QUICK_HASHER,
    T0,
    TIMEOUT_MS,
    Member,
    Server,
    screenshot,
    sign_in,
)

PEOPLE = {
    "tg-ada": ("Ada Targeter", "premium_business", "Acme", "TU Berlin", ["rust", "hiking"]),
    "tg-ana": ("Ana Ruiz", "basic", "", "", []),
    "tg-cy": ("Cy Chen", "basic", "", "", []),
    "tg-bo": ("Bo Brandt", "basic", "Acme", "", ["Hiking"]),
    "tg-dee": ("Dee Dorn", "basic", "", "TU Berlin", ["Rust"]),
    "tg-eve": ("Eve Open", "premium_business", "", "", []),
    "tg-fay": ("Fay Decliner", "basic", "", "", []),
    "tg-kit": ("Kit Kowalski-Abernathy-Vandersloot", "basic", "", "", []),
}


@pytest.fixture(scope="module")
def people(server: Server) -> dict[str, Member]:
    """The network of tg-ada, written into the server's own SQLite file."""
    url = f"sqlite:///{server.log.parent / 'web.db'}"
    rt = build(Settings(database_url=url, test_clock=T0))
    made: dict[str, Member] = {}
    try:
        deps, now = rt.deps, rt.clock.now()
        for handle, (name, plan, company, school, interests) in PEOPLE.items():
            record = create_member(
                deps,
                handle=handle,
                name=name,
                plan=plan,
                company=company,
                school=school,
                interests=interests,
                now=now,
            )
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(passwords, "_hasher", QUICK_HASHER)
                passwords.set_password(deps, member_id=record.id, password=PASSWORD, now=now)
            made[handle] = Member(record.id, handle, name)
        ids = {h: m.id for h, m in made.items()}
        for a, b in [("tg-ada", "tg-ana"), ("tg-ada", "tg-cy"), ("tg-bo", "tg-ana")]:
            connect(deps, a=ids[a], b=ids[b], now=now)
        connect(deps, a=ids["tg-bo"], b=ids["tg-cy"], now=now)
        connect(deps, a=ids["tg-kit"], b=ids["tg-ana"], now=now)
        group = create_group(
            deps, owner_id=ids["tg-ada"], name="Rust Berlin", description="", closed=False, now=now
        )
        join_group(deps, member_id=ids["tg-dee"], group_id=group.id, now=now)
        update_settings(deps, member_id=ids["tg-eve"], changes={"open_profile": True}, now=now)
        sent = send_inmail(
            deps, sender_id=ids["tg-ada"], to=ids["tg-fay"], subject="Hi", body="Hi", now=now
        )
        decline(deps, member_id=ids["tg-fay"], thread_id=sent.thread_id, now=now)
    finally:
        rt.close()
    return made


def _rank_everyone(page: Page) -> None:
    page.get_by_role("link", name="Who answers").click()
    expect(page.get_by_role("heading", name="Who is likely to answer")).to_be_visible()
    handles = " ".join(f"@{h}" for h in PEOPLE if h != "tg-ada")
    page.get_by_label("Handles").fill(handles)
    page.get_by_role("button", name="Rank").click()
    expect(page.get_by_role("heading", name="Ranked")).to_be_visible()


def test_pasted_handles_are_ranked_and_the_best_one_is_a_click_away(
    page: Page, people: dict[str, Member]
) -> None:
    sign_in(page, people["tg-ada"])
    _rank_everyone(page)
    rows = page.locator("#ranked > li")
    expect(rows).to_have_count(7)
    expect(rows.nth(0)).to_contain_text("Bo Brandt")  # 2 mutuals, Acme, hiking: 14
    expect(rows.nth(0)).to_contain_text("2 mutual connections: ")
    expect(rows.nth(0)).to_contain_text("you both work at Acme")
    expect(rows.nth(0)).to_contain_text("1 credit")
    expect(rows.nth(1)).to_contain_text("Dee Dorn")  # group, school, interest: 11
    expect(rows.nth(1)).to_contain_text("free: you can message them in a group you share")
    expect(rows.nth(6)).to_contain_text("Fay Decliner")
    expect(rows.nth(6)).to_contain_text("ranked last")
    page.get_by_role("link", name="Write to Bo Brandt").click()
    expect(page.get_by_role("heading", name="To Bo Brandt")).to_be_visible()
    expect(page.locator("#cost-preview")).to_contain_text("1 credit")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_ranking_fits_the_screen(
    new_page: Callable[[], Page], people: dict[str, Member], width: int
) -> None:
    page = new_page()
    sign_in(page, people["tg-ada"])  # on a wide screen: on a phone the links are in the menu
    _rank_everyone(page)
    page.set_viewport_size({"width": width, "height": 900})
    page.locator("#how > summary").click()
    expect(page.locator("#how table")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
    screenshot(page, f"targeting-{width}")


def test_it_works_without_javascript(
    browser: Browser, server: Server, people: dict[str, Member], tmp_path: Path
) -> None:
    context = browser.new_context(base_url=server.base_url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, people["tg-ada"])
        page.goto("/targeting")
        page.get_by_label("Or search by name or handle").fill("Chen")
        page.get_by_role("button", name="Rank").click()
        expect(page).to_have_url(re.compile(r"/targeting\?handles=&q=Chen"))
        expect(page.locator("#ranked > li")).to_have_count(1)
        expect(page.locator("#ranked")).to_contain_text(
            "free: a 1st-degree connection, so a message costs nothing"
        )
        page.goto("/targeting?handles=%40tg-bo+%40tg-ghost")
        expect(page.get_by_role("alert")).to_have_text("No member has the handle @tg-ghost.")
    finally:
        context.close()
