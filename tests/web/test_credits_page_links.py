"""Every in-page link of the credits page leads somewhere that is on the page: the upgrade
section is shown to members on an unpaid plan only, so nothing else may point at it."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.test_network_pages import Site, make_site  # noqa: F401

NO_PACKS_PLAN = {
    "name": "Crew",
    "monthly_allotment": 10,
    "rollover_cap": 10,
    "inmail": True,
    "packs": False,
    "overage": False,
    "price": {"amount_minor": 900, "currency": "EUR"},
}


def _dangling(page: str) -> set[str]:
    """The ``#fragment`` links of ``page`` with no element of that id on it."""
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    return {f for f in re.findall(r'href="#([^"]+)"', page) if f not in ids}


def test_no_in_page_link_of_the_credits_page_dangles(
    make_site: Callable[..., Site],  # noqa: F811
) -> None:
    site = make_site()
    operator = {"Authorization": "Bearer op"}
    made = TestClient(site.app).put("/v1/admin/plans/crew", json=NO_PACKS_PLAN, headers=operator)
    assert made.status_code == 200, made.text
    site.member("pam", plan="crew")  # a paid plan without packs: no upgrade section
    site.member("bea", plan="basic")  # the upgrade section, and links to it
    paid = site.visitor("pam").get("/credits").text
    assert "Crew cannot buy credit packs: its credits come with each renewal." in paid
    assert _dangling(paid) == set()
    free = site.visitor("bea").get("/credits").text
    assert 'href="#upgrade-heading"' in free
    assert _dangling(free) == set()
