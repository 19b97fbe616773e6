"""The operator's totals, plan edits reviewed as a diff, and packs edited as versions.

Through FastAPI's TestClient on each engine, as in test_admin_pages (its helpers).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.services import catalog, credits, statements
from tests.conftest import T0
from tests.web.test_admin_pages import ADMIN, PAID, Web, _plan, _plan_form


@pytest.fixture
def operator(db_url: str) -> Iterator[Web]:
    """The operator, signed in, on a fresh database of each engine (clock at T0)."""
    runtime = build(Settings(database_url=db_url, admin_token=ADMIN, test_clock=T0))
    with TestClient(create_app(runtime=runtime)) as client:
        signed_in = Web(client, runtime)
        signed_in.sign_in_operator()
        yield signed_in


def _section(response: Response, section_id: str) -> str:
    """The text of the element with ``section_id``, tags dropped, spaces squeezed."""
    found = re.search(rf'id="{section_id}".*?</section>', response.text, re.S)
    assert found is not None, f"no #{section_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


# --- the overview's totals ---------------------------------------------------------------


def test_overview_counts_members_by_plan_and_this_and_last_months_credits_and_charges(
    operator: Web,
) -> None:
    deps, now = operator.runtime.deps, operator.runtime.clock.now()  # 31 Jan 2026
    spender, buyer = operator.member(), operator.member()
    operator.member(plan="basic")
    for n in range(3):
        credits.spend_credits(deps, member_id=spender, cost=1, reference=f"t:{n}", now=now)
    credits.buy_pack(deps, member_id=buyer, pack="pack_5", now=now)
    overview = operator.client.get("/admin")
    assert "Premium Business 2" in _section(overview, "members-by-plan")
    assert "Basic (free) 1" in _section(overview, "members-by-plan")
    assert "Recruiter 0" in _section(overview, "members-by-plan")
    january = _section(overview, "month-1")
    assert "This month: January 2026" in january
    assert "Granted 55 Spent 3 Forfeited 0" in january  # two allotments of 25, a pack of 5
    assert "Subscription fees 2 119.98 USD" in january
    assert "Credit packs 1 45.00 USD" in january
    assert "Total 164.98 USD" in january
    assert "No charges in December 2025." in _section(overview, "month-2")
    operator.advance(days=1)
    february = operator.client.get("/admin")
    assert "This month: February 2026" in _section(february, "month-1")
    assert "No charges in February 2026." in _section(february, "month-1")
    last = _section(february, "month-2")
    assert "Last month: January 2026" in last
    assert "Total 164.98 USD" in last


# --- plans: a review with the diff before saving ------------------------------------------


def test_a_plan_edit_is_reviewed_as_a_diff_and_saved_only_when_confirmed(operator: Web) -> None:
    form = _plan_form(operator, monthly_allotment="30", rollover_cap="90", price="65.50")
    review = operator.post(f"/admin/plans/{PAID}/review", **form)
    assert review.status_code == 200
    assert "Review Premium Business, version 2" in review.text
    diff = _section_table(review)
    assert "Credits a month 25 30" in diff
    assert "Rollover cap 75 90" in diff
    assert "Fee a month 59.99 USD 65.50 USD" in diff
    assert "InMail" not in diff  # unchanged terms are not listed
    assert _plan(operator).version == 1  # nothing saved by the review
    saved = operator.post(f"/admin/plans/{PAID}", **_hidden_fields(review))
    assert "Saved Premium Business as version 2." in saved.text
    plan = _plan(operator)
    assert (plan.version, plan.monthly_allotment, plan.rollover_cap) == (2, 30, 90)


def test_a_cap_below_the_allotment_is_explained_and_needs_confirming(operator: Web) -> None:
    form = _plan_form(operator, monthly_allotment="25", rollover_cap="10")
    review = operator.post(f"/admin/plans/{PAID}/review", **form)
    warning = _section_text(review, "lower-cap")
    assert "The rollover cap (10) is below the monthly credits (25)" in warning
    assert "members start every cycle with at most 10 plan credits" in warning
    fields = _hidden_fields(review)
    unconfirmed = operator.post(f"/admin/plans/{PAID}", **fields)
    assert unconfirmed.status_code == 422
    assert "Confirm the lower cap to save it" in html.unescape(unconfirmed.text)
    assert _plan(operator).version == 1
    confirmed = operator.post(f"/admin/plans/{PAID}", **fields, confirm_lower_cap="on")
    assert "Saved Premium Business as version 2." in confirmed.text
    assert _plan(operator).rollover_cap == 10


def test_a_paid_plan_at_no_fee_is_refused_and_a_stale_review_is_not_saved(operator: Web) -> None:
    free = operator.post(f"/admin/plans/{PAID}/review", **_plan_form(operator, price="0"))
    assert free.status_code == 422
    assert "Premium Business is a paid plan, so its monthly fee must be more than 0" in (
        html.unescape(free.text)
    )
    first = operator.post(f"/admin/plans/{PAID}/review", **_plan_form(operator, price="61.00"))
    second = operator.post(f"/admin/plans/{PAID}/review", **_plan_form(operator, price="62.00"))
    operator.post(f"/admin/plans/{PAID}", **_hidden_fields(first))
    stale = operator.post(f"/admin/plans/{PAID}", **_hidden_fields(second))
    assert stale.status_code == 409
    assert "changed by someone else since you reviewed it" in html.unescape(stale.text)
    assert (_plan(operator).version, _plan(operator).price.amount_minor) == (2, 6100)


# --- packs, edited as versions ------------------------------------------------------------


def test_a_pack_price_edit_is_a_new_version_and_earlier_purchases_keep_their_price(
    operator: Web,
) -> None:
    deps = operator.runtime.deps
    buyer = operator.member()
    credits.buy_pack(deps, member_id=buyer, pack="pack_5", now=operator.runtime.clock.now())
    packs = operator.client.get("/admin/packs")
    assert _section_text(packs, "pack-pack_5").startswith("pack_5 1 5 45.00 USD 9.00")
    review = operator.post("/admin/packs/review", code="pack_5", credits="5", price="40.00")
    assert "Review the pack pack_5, version 2" in review.text
    assert "Price 45.00 USD 40.00 USD" in _section_table(review)
    saved = operator.post("/admin/packs/save", **_hidden_fields(review))
    assert "Saved pack_5 as version 2." in saved.text
    row = _section_text(saved, "pack-pack_5")
    assert row.startswith("pack_5 2 5 40.00 USD 8.00")
    now = operator.runtime.clock.now()
    credits.buy_pack(deps, member_id=buyer, pack="pack_5", now=now)
    charged = statements.list_charges(deps, member_id=buyer, now=now, after=None, limit=10)
    packs_charged = sorted(c.price.amount_minor for c in charged if c.kind == "pack")
    assert packs_charged == [4000, 4500]


def test_a_new_pack_is_added_and_bad_pack_terms_are_refused_in_words(operator: Web) -> None:
    review = operator.post("/admin/packs/review", code="pack_50", credits="50", price="350")
    assert "A new pack" in review.text
    operator.post("/admin/packs/save", **_hidden_fields(review))
    assert ("pack_50", 50, 35000) in {
        (p.code, p.credits, p.price.amount_minor) for p in catalog.list_packs(operator.runtime.deps)
    }
    for terms, words in (
        ({"code": "pack_5", "credits": "5", "price": "0"}, "must cost more than 0"),
        ({"code": "pack_5", "credits": "0", "price": "45"}, "at least 1 credit"),
        ({"code": "pack_5", "credits": "five", "price": "45"}, "Credits must be a whole number"),
        ({"code": "pack_5", "credits": "5", "price": "4.555"}, "at most two decimals"),
        ({"code": "Pack 9", "credits": "5", "price": "45"}, "codes are lower-case letters"),
        ({"code": "pack_9", "credits": "9", "price": ""}, "The price must be an amount"),
    ):
        refused = operator.post("/admin/packs/review", **terms)
        assert refused.status_code == 422, terms
        assert words in html.unescape(refused.text), terms
        assert 'role="alert"' in refused.text
    assert {p.code: p.price.amount_minor for p in catalog.list_packs(operator.runtime.deps)}[
        "pack_5"
    ] == 4500


def _section_table(response: Response) -> str:
    found = re.search(r'<table class="diff".*?</table>', response.text, re.S)
    assert found is not None, "no diff table"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def _section_text(response: Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(section|tr|div)>', response.text, re.S)
    assert found is not None, f"no #{element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def _hidden_fields(response: Response) -> dict[str, str]:
    """The review form's hidden fields (what saving posts), the CSRF token left to ``post``."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', response.text)
    return {name: html.unescape(value) for name, value in fields if name != "csrf"}
