"""The operator's grant, debit and refund forms on the member's page, on each engine: what
they write, refusals that keep the typed values, the refund's confirm step, double submits."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.services import credits, statements
from tests.conftest import T0
from tests.web.test_admin_pages import ADMIN, Web


@pytest.fixture
def operator(db_url: str) -> Iterator[Web]:
    """The operator signed in to the web app (as in test_admin_pages)."""
    runtime = build(Settings(database_url=db_url, admin_token=ADMIN, test_clock=T0))
    with TestClient(create_app(runtime=runtime)) as client:
        web = Web(client, runtime)
        web.sign_in_operator()
        yield web


def _once(text: str, action: str) -> str:
    form = text[text.index(f'action="{action}"') :]
    found = re.search(r'name="once" value="([^"]+)"', form)
    assert found is not None
    return found.group(1)


def _words(page: str) -> str:
    """The page's text without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub("<[^>]+>", " ", page)))


def _balance(operator: Web, member: str) -> int:
    deps, now = operator.runtime.deps, operator.runtime.clock.now()
    return statements.get_credits(deps, member_id=member, now=now).balance


def test_a_grant_with_an_expiry_shows_on_the_page_and_a_double_submit_grants_once(
    operator: Web,
) -> None:
    member = operator.member()
    action = f"/admin/members/{member}/grants"
    once = _once(operator.client.get(f"/admin/members/{member}").text, action)
    form = {"credits": "10", "reason": "Spring promo", "expires_on": "2026-03-15", "once": once}
    first = operator.post(action, **form)
    assert first.status_code == 200
    assert "Granted 10 credits (Spring promo). Balance: 35." in first.text
    assert "Adjustment by the operator: Spring promo" in first.text
    assert "15 Mar 2026" in first.text  # the lot, with its expiry
    operator.post(action, **form)  # the same rendered form again
    assert _balance(operator, member) == 35


def test_a_refused_debit_keeps_what_was_typed_and_takes_nothing(operator: Web) -> None:
    member = operator.member()
    action = f"/admin/members/{member}/debits"
    refused = operator.post(action, credits="26", reason="too many")
    assert refused.status_code == 402
    text = html.unescape(refused.text)
    assert "this needs 26 credit(s) and 25 are available" in text
    assert 'value="26"' in refused.text
    assert 'value="too many"' in refused.text
    assert _balance(operator, member) == 25
    bad = operator.post(action, credits="two", reason="x")
    assert bad.status_code == 422
    assert "Credits must be a whole number" in bad.text
    done = operator.post(action, credits="5", reason="duplicate grant")
    assert "Debited 5 credits (duplicate grant). Balance: 20." in done.text


def test_a_refund_shows_what_it_takes_back_before_it_happens(operator: Web) -> None:
    member = operator.member()
    deps, now = operator.runtime.deps, operator.runtime.clock.now()
    operator.post(f"/admin/members/{member}/debits", credits="25", reason="used")
    bought = credits.buy_pack(deps, member_id=member, pack="pack_5", now=now)
    page = operator.client.get(f"/admin/members/{member}")
    assert f'href="/admin/charges/{bought.charge_id}/refund"' in page.text
    confirm = operator.client.get(f"/admin/charges/{bought.charge_id}/refund?amount=15.00")
    assert confirm.status_code == 200
    effect = _words(confirm.text)
    assert "Refunds 15.00 USD :" in effect
    assert "Takes back 1 of the 5 unused credits of this pack" in effect
    assert "Balance after: 4" in effect
    assert _balance(operator, member) == 5  # the confirm page writes nothing
    action = f"/admin/charges/{bought.charge_id}/refund"
    once = _once(confirm.text, action)
    done = operator.post(action, amount="15.00", once=once)
    assert "Refunded 15.00 USD; 1 credit taken back. Balance: 4." in done.text
    operator.post(action, amount="15.00", once=once)  # a double submit refunds once
    kinds = [c.kind for c in statements.list_charges(deps, member_id=member, now=now)]
    assert kinds.count("refund") == 1
    # More than is left: the confirm page again, with the amount typed and why.
    too_much = operator.post(action, amount="40.00")
    assert too_much.status_code == 422
    assert "amount_minor must be a whole number from 1 to 3000" in too_much.text
    rest = operator.post(action, amount="30.00")
    assert "Refunded 30.00 USD; 4 credits taken back. Balance: 0." in rest.text
    again = operator.client.get(f"/admin/charges/{bought.charge_id}/refund")
    assert again.status_code == 409
    assert "refunded in full already" in again.text


def test_the_member_sees_each_grant_debit_and_refund_with_its_reason(operator: Web) -> None:
    member = operator.member(password=True)
    deps, now = operator.runtime.deps, operator.runtime.clock.now()
    operator.post(f"/admin/members/{member}/grants", credits="3", reason="Welcome bonus")
    operator.post(f"/admin/members/{member}/debits", credits="28", reason="Duplicate account")
    bought = credits.buy_pack(deps, member_id=member, pack="pack_5", now=now)
    operator.post(f"/admin/charges/{bought.charge_id}/refund", amount="45.00")
    operator.client.cookies.clear()
    operator.sign_in_member(member)
    page = _words(operator.client.get("/credits").text)
    assert "Adjustment by the operator: Welcome bonus" in page
    assert "Adjustment by the operator: Duplicate account" in page
    assert "Refunded by the operator: unused credits of the pack taken back" in page
    assert "Refund (5 unused credits taken back)" in page
    assert "-45.00 USD" in page


def test_the_operators_totals_count_refunds_against_the_charges(operator: Web) -> None:
    member = operator.member()
    deps, now = operator.runtime.deps, operator.runtime.clock.now()
    bought = credits.buy_pack(deps, member_id=member, pack="pack_5", now=now)
    operator.post(f"/admin/charges/{bought.charge_id}/refund", amount="45.00")
    month = _words(operator.client.get("/admin").text)
    assert "Credit packs 1 45.00 USD" in month
    assert "Refunds 1 -45.00 USD" in month
    assert "Total 59.99 USD" in month  # the plan fee: the pack and its refund cancel out
