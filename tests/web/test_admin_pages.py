"""The operator's pages, through FastAPI's TestClient on each engine.

The operator signs in with the token through the /login form (CSRF token
scraped from the page); members are made through the services.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import text

from inmail.api.app import create_app
from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.domain.plans import Plan
from inmail.services import adjustments, catalog, credits, members, statements, subscriptions
from inmail.services.passwords import set_password
from inmail.web import admin_pages
from tests.conftest import T0

ADMIN = "admin-pages-operator-token"
PASSWORD = "a long enough password"
PAID = "premium_business"  # 25 credits a month for 59.99 USD
PAGES = ("/admin", "/admin/plans", "/admin/members", "/admin/charges.csv")
_handles = itertools.count(1)


@dataclass
class Web:
    client: TestClient
    runtime: Runtime

    def csrf(self, path: str = "/login") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text)
        assert found is not None, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in_operator(self) -> None:
        form = {"csrf": self.csrf(), "token": ADMIN}
        signed_in = self.client.post("/login/operator", data=form)
        assert signed_in.url.path == "/admin", signed_in.text

    def sign_in_member(self, member_id: str) -> None:
        handle = members.get_member(
            self.runtime.deps, member_id, now=self.runtime.clock.now()
        ).handle
        form = {"csrf": self.csrf(), "handle": handle, "password": PASSWORD, "next": "/"}
        assert self.client.post("/login", data=form).url.path == "/inbox"

    def member(self, plan: str = PAID, *, password: bool = False) -> str:
        """A new member on ``plan``; with ``password`` they can sign in (argon2 is slow)."""
        deps, now = self.runtime.deps, self.runtime.clock.now()
        handle = f"adm{next(_handles)}"
        record = members.create_member(deps, handle=handle, name=handle.title(), plan=plan, now=now)
        if password:
            set_password(deps, member_id=record.id, password=PASSWORD, now=now)
        return record.id

    def post(self, path: str, **form: str) -> Response:
        """A form post with the session's CSRF token, following the redirect."""
        return self.client.post(path, data={"csrf": self.csrf("/admin"), **form})

    def advance(self, days: int) -> None:
        moved = self.client.post(
            "/v1/admin/clock",
            json={"advance_days": days},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert moved.status_code == 200, moved.text


@pytest.fixture
def web(db_url: str) -> Iterator[Web]:
    runtime = build(Settings(database_url=db_url, admin_token=ADMIN, test_clock=T0))
    with TestClient(create_app(runtime=runtime)) as client:
        yield Web(client, runtime)


@pytest.fixture
def operator(web: Web) -> Web:
    web.sign_in_operator()
    return web


def _plan(web: Web, code: str = PAID) -> Plan:
    return next(p for p in catalog.list_plans(web.runtime.deps) if p.code == code)


def _plan_form(web: Web, code: str = PAID, **changes: str) -> dict[str, str]:
    """The edit form as the page fills it in for the plan's current terms, then ``changes``."""
    plan = _plan(web, code)
    form = {
        "monthly_allotment": str(plan.monthly_allotment),
        "rollover_cap": str(plan.rollover_cap),
        "price": f"{plan.price.amount_minor / 100:.2f}",
        "inmail_cost": str(plan.inmail_cost),
        "credit_back_days": str(plan.credit_back_days),
    }
    form |= {box: "on" for box in ("inmail", "packs", "overage") if getattr(plan, box)}
    return form | changes


def _csv(response: Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


# --- who may see the pages ---------------------------------------------------------------


def test_every_page_renders_for_the_operator_with_clear_empty_states(operator: Web) -> None:
    overview = operator.client.get("/admin")
    assert overview.status_code == 200
    assert "Run renewals now" in overview.text
    members_page = operator.client.get("/admin/members")
    assert "No members yet." in members_page.text
    plans = operator.client.get("/admin/plans")
    assert "Members keep the terms of the cycle they are in" in plans.text
    assert plans.text.count('action="/admin/plans/') == len(
        catalog.list_plans(operator.runtime.deps)
    )
    assert '<label for="plan-premium_business-price">Monthly fee (USD)</label>' in plans.text
    exported = operator.client.get("/admin/charges.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert _csv(exported) == [list(admin_pages.CSV_HEADER)]
    missing = operator.client.get("/admin/members/m_nobody")
    assert missing.status_code == 404
    assert "there is no member" in missing.text
    assert "Traceback" not in missing.text


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(web: Web, path: str) -> None:
    answer = web.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path}"


def test_a_signed_in_member_is_told_operators_only_and_cannot_post(web: Web) -> None:
    member_id = web.member(password=True)
    web.sign_in_member(member_id)
    handle = members.get_member(web.runtime.deps, member_id, now=web.runtime.clock.now()).handle
    for path in (*PAGES, f"/admin/members/{member_id}", "/admin/members/new"):
        answer = web.client.get(path, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "Operators only" in answer.text
        assert f"signed in as the member <strong>@{handle}</strong>" in answer.text
        assert 'action="/login/operator"' not in answer.text  # not the sign-in page
    csrf = web.csrf("/credits")
    form = _plan_form(web, monthly_allotment="99") | {"csrf": csrf}
    edit = web.client.post(f"/admin/plans/{PAID}", data=form, follow_redirects=False)
    assert edit.status_code == 403
    assert "Operators only" in edit.text
    assert _plan(web).version == 1


def test_posts_without_the_csrf_token_are_refused(operator: Web) -> None:
    assert operator.client.post("/admin/renewals").status_code == 403
    form = _plan_form(operator, monthly_allotment="99") | {"csrf": "forged"}
    assert operator.client.post(f"/admin/plans/{PAID}", data=form).status_code == 403
    member_id = operator.member()
    changed = operator.client.post(f"/admin/members/{member_id}/plan", data={"plan": "recruiter"})
    assert changed.status_code == 403
    assert _plan(operator).version == 1
    assert (
        members.get_member(operator.runtime.deps, member_id, now=operator.runtime.clock.now()).plan
        == PAID
    )


# --- plans -------------------------------------------------------------------------------


def test_editing_a_plan_saves_version_2_and_the_current_cycle_keeps_version_1(
    operator: Web,
) -> None:
    deps = operator.runtime.deps
    member_id = operator.member()
    form = _plan_form(operator, monthly_allotment="40", rollover_cap="120", price="65.50")
    saved = operator.post(f"/admin/plans/{PAID}", **form)
    assert saved.url.path == "/admin/plans"
    assert "Saved Premium Business as version 2." in saved.text
    plan = _plan(operator)
    assert (plan.version, plan.monthly_allotment, plan.rollover_cap) == (2, 40, 120)
    assert (plan.price.amount_minor, plan.price.currency) == (6550, "USD")
    assert (plan.inmail, plan.packs, plan.overage) == (True, True, True)
    assert "65.50 USD" in saved.text
    now = operator.runtime.clock.now()
    during = statements.get_credits(deps, member_id=member_id, now=now)
    assert (during.monthly_allotment, during.rollover_cap, during.balance) == (25, 75, 25)
    operator.advance(days=30)  # past the next cycle start: the renewal takes version 2
    after = statements.get_credits(deps, member_id=member_id, now=operator.runtime.clock.now())
    assert (after.monthly_allotment, after.balance) == (40, 65)


def test_checkboxes_left_unticked_turn_a_term_off(operator: Web) -> None:
    form = _plan_form(operator)
    del form["overage"]
    assert "version 2" in operator.post(f"/admin/plans/{PAID}", **form).text
    assert (_plan(operator).overage, _plan(operator).inmail) == (False, True)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"monthly_allotment": "-3"}, "Monthly credits must be a whole number of 0 or more"),
        ({"rollover_cap": "lots"}, "Rollover cap must be a whole number of 0 or more"),
        ({"price": "12.345"}, "The monthly fee has at most two decimals"),
        ({"price": "free"}, "The monthly fee must be an amount of 0 or more"),
        ({"inmail_cost": ""}, "Credits per InMail must be a whole number"),
    ],
)
def test_invalid_terms_are_refused_in_words_and_save_nothing(
    operator: Web, changes: dict[str, str], words: str
) -> None:
    refused = operator.post(f"/admin/plans/{PAID}", **_plan_form(operator, **changes))
    assert refused.status_code == 422
    assert words in refused.text
    assert "Traceback" not in refused.text
    assert 'role="alert"' in refused.text
    assert _plan(operator).version == 1


def test_a_form_saved_unchanged_makes_no_new_version(operator: Web) -> None:
    same = operator.post(f"/admin/plans/{PAID}", **_plan_form(operator))
    assert "Nothing changed" in same.text
    assert _plan(operator).version == 1


def test_an_unknown_plan_is_not_found(operator: Web) -> None:
    answer = operator.post("/admin/plans/platinum", **_plan_form(operator))
    assert answer.status_code == 404
    assert "There is no plan 'platinum'." in html.unescape(answer.text)


# --- members -----------------------------------------------------------------------------


def _rows(response: Response) -> list[str]:
    """The member ids of the list's rows, in the order shown."""
    return re.findall(r'<td><a href="/admin/members/(m_[^"]+)">', response.text)


def test_members_are_listed_by_name_50_a_page_with_plan_names_and_balances(
    operator: Web,
) -> None:
    deps, now = operator.runtime.deps, operator.runtime.clock.now()
    made = [operator.member(plan=PAID if n % 2 else "basic") for n in range(51)]
    records = [members.get_member(deps, m, now=now) for m in made]
    by_name = [r.id for r in sorted(records, key=lambda r: (r.name.lower(), r.id))]
    first = operator.client.get("/admin/members")
    assert _rows(first) == by_name[:50]
    assert "Page 1 of 2" in first.text
    assert 'All members <span class="muted">(51)</span>' in first.text
    link = re.search(r'href="(/admin/members\?[^"]*page=2[^"]*)">Next page', first.text)
    assert link is not None
    second = operator.client.get(html.unescape(link.group(1)))
    assert _rows(second) == by_name[50:]
    assert "Next page" not in second.text
    assert "Page 2 of 2" in second.text
    paid = next(r for r in records if r.plan == PAID)
    row = re.search(rf"{paid.id}\">{paid.name}</a>.*?</tr>", first.text + second.text, re.S)
    assert row is not None
    assert "Premium Business" in row.group(0)  # the plan's name, not its code
    assert f"@{paid.handle}" in row.group(0)
    assert '<td class="num">25' in row.group(0)


def test_members_sort_by_each_column_both_ways(operator: Web) -> None:
    made = [operator.member(plan=PAID if n % 2 else "basic") for n in range(4)]
    richest = _rows(operator.client.get("/admin/members?sort=balance&order=desc"))
    paid = {m for m in made if richest.index(m) < 2}
    assert len(paid) == 2
    assert all(_plan_of(operator, m) == PAID for m in paid)
    by_handle = _rows(operator.client.get("/admin/members?sort=handle"))
    handles = [members.get_member(operator.runtime.deps, m, now=T0).handle for m in by_handle]
    assert handles == sorted(handles)
    newest = _rows(operator.client.get("/admin/members?sort=joined&order=desc"))
    assert newest == list(reversed(_rows(operator.client.get("/admin/members?sort=joined"))))
    marked = operator.client.get("/admin/members?sort=balance&order=desc")
    assert 'aria-sort="descending"' in marked.text
    for bad in ("sort=colour", "order=sideways", "page=0", "page=x"):
        refused = operator.client.get(f"/admin/members?{bad}")
        assert refused.status_code == 422, bad
        assert "Traceback" not in refused.text


def _plan_of(web: Web, member_id: str) -> str:
    return members.get_member(web.runtime.deps, member_id, now=web.runtime.clock.now()).plan


def test_members_are_found_by_handle_name_or_company_and_sorted(operator: Web) -> None:
    deps, now = operator.runtime.deps, operator.runtime.clock.now()
    ada = members.create_member(
        deps, handle="adm_lovelace", name="Ada Lovelace", company="Analytical", plan=PAID, now=now
    )
    grace = members.create_member(
        deps, handle="adm_hopper", name="Grace Hopper", company="Analytical", plan="basic", now=now
    )
    operator.member()
    by_company = operator.client.get("/admin/members?q=analytical")
    assert _rows(by_company) == [ada.id, grace.id]
    assert "Members matching “analytical”" in by_company.text
    reversed_names = operator.client.get("/admin/members?q=analytical&sort=name&order=desc")
    assert _rows(reversed_names) == [grace.id, ada.id]
    assert _rows(operator.client.get("/admin/members?q=lovelace")) == [ada.id]
    assert _rows(operator.client.get("/admin/members?q=adm_hopper")) == [grace.id]
    nothing = operator.client.get("/admin/members?q=zzznobody")
    assert "No member matches “zzznobody”." in nothing.text


def test_a_member_page_shows_credits_ledger_charges_and_changes_the_plan(operator: Web) -> None:
    member_id = operator.member()
    credits.buy_pack(
        operator.runtime.deps, member_id=member_id, pack="pack_5", now=operator.runtime.clock.now()
    )
    shown = operator.client.get(f"/admin/members/{member_id}")
    assert shown.status_code == 200
    assert re.search(r'id="balance">30<', shown.text)
    assert "31 Jan 2027" in shown.text  # the pack's lot expires a year after purchase
    assert "59.99 USD" in shown.text
    assert "45.00 USD" in shown.text
    assert "latest 100 lines" in shown.text
    assert 'Pack of 5 <span class="muted">(grant, purchase)</span>' in shown.text  # in words
    charged = shown.text[shown.text.index('id="charges-heading"') :]
    assert charged.index("pack (5 credits)") < charged.index("subscription")  # newest first
    upgraded = operator.post(f"/admin/members/{member_id}/plan", plan="recruiter")
    assert upgraded.url.path == f"/admin/members/{member_id}"
    # Created just now: the whole cycle is left, so the whole fee difference and 25 credits.
    assert "Upgraded to Recruiter: charged 775.01 USD for 25 credits now." in upgraded.text
    assert (
        members.get_member(operator.runtime.deps, member_id, now=operator.runtime.clock.now()).plan
        == "recruiter"
    )
    refused = operator.post(f"/admin/members/{member_id}/plan", plan="platinum")
    assert refused.status_code == 422
    assert "there is no plan 'platinum'" in html.unescape(refused.text)
    assert 'class="flash error form-error"' in refused.text  # next to the plan form


# --- charges, audit, renewals ------------------------------------------------------------


def test_the_charges_csv_has_one_row_per_charge_with_its_amount(
    operator: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_pages, "EXPORT_BATCH", 2)  # several batches for a few charges
    deps, now = operator.runtime.deps, operator.runtime.clock.now()
    buyer, other = operator.member(), operator.member()
    operator.member(plan="basic")  # no charge
    pack = credits.buy_pack(deps, member_id=buyer, pack="pack_5", now=now)
    credits.buy_pack(deps, member_id=buyer, pack="pack_1", now=now)
    adjustments.refund_charge(deps, charge_id=pack.charge_id, amount_minor=1500, now=now)
    rows = _csv(operator.client.get("/admin/charges.csv"))
    header = ["id", "member_id", "at", "kind", "credits", "amount_minor", "currency", "refund_of"]
    assert rows[0] == header
    body = rows[1:]
    every = statements.list_charges(deps, member_id=None, now=now, limit=1000)
    assert [r[0] for r in body] == [c.id for c in every]
    assert len(body) == 5
    got = sorted((r[1], r[3], r[4], r[5], r[6], r[7]) for r in body)
    assert got == sorted(
        [
            (buyer, "subscription", "", "5999", "USD", ""),
            (other, "subscription", "", "5999", "USD", ""),
            (buyer, "pack", "5", "4500", "USD", ""),
            (buyer, "pack", "1", "1000", "USD", ""),
            # A third of the pack refunded: a third of its 5 unused credits, rounded down.
            (buyer, "refund", "-1", "-1500", "USD", pack.charge_id),
        ]
    )
    assert all(r[2] == now.isoformat() for r in body)


def test_the_audit_shows_ok_then_lists_a_corrupted_balance(operator: Web) -> None:
    member_id = operator.member()
    assert "OK: the books balance" in operator.client.get("/admin").text
    with operator.runtime.deps.db.write() as conn:
        conn.execute(
            text("UPDATE accounts SET balance = balance + 1 WHERE member_id = :m"),
            {"m": member_id},
        )
    overview = operator.client.get("/admin")
    assert "OK: the books balance" not in overview.text
    assert "The audit found" in overview.text
    assert f"member {member_id}: balance 26, lots hold 25, ledger sums to 25" in overview.text
    assert f'href="/admin/members/{member_id}"' in overview.text


def test_the_renewals_button_renews_the_accounts_that_are_due(operator: Web) -> None:
    member_id = operator.member()
    operator.member(plan="basic")
    assert "No renewals were due." in operator.post("/admin/renewals").text
    operator.advance(days=30)
    assert re.search(r'id="renewals-due">1<', operator.client.get("/admin").text)
    renewed = operator.post("/admin/renewals")
    assert renewed.url.path == "/admin"
    assert "Renewed 1 cycle(s)." in renewed.text
    assert re.search(r'id="renewals-due">0<', renewed.text)
    with operator.runtime.deps.db.read() as conn:
        stored = conn.execute(
            text("SELECT balance FROM accounts WHERE member_id = :m"), {"m": member_id}
        ).scalar_one()
    assert stored == 50
    assert "OK: the books balance" in renewed.text
    assert timedelta(days=30) == operator.runtime.clock.now() - T0


def test_a_members_page_describes_the_next_renewal_under_a_scheduled_cancel(
    operator: Web,
) -> None:
    """The issue's credits-page bug, on the operator's page too: not the current plan's grant."""
    member_id = operator.member()
    subscriptions.change_plan(
        operator.runtime.deps, member_id=member_id, plan="basic", now=operator.runtime.clock.now()
    )
    page = operator.client.get(f"/admin/members/{member_id}").text
    found = re.search(r'<p id="next-renewal">(.*?)</p>', page, re.S)
    assert found is not None
    assert found.group(1) == (
        "Next renewal 28 Feb 2026, to Basic (free): no credits, no fee; 25 will be forfeited."
    )


def test_the_operator_sees_a_members_plan_change_before_confirming_it(operator: Web) -> None:
    member_id = operator.member()
    review = operator.client.get(f"/admin/members/{member_id}/plan/confirm?plan=recruiter")
    assert review.status_code == 200
    assert "once=" in str(review.url)  # keyed by URL: a reload confirms the same change
    shown = " ".join(re.sub(r"<[^>]+>", " ", review.text).split())
    assert "Confirm the member's plan change" in html.unescape(shown)
    assert "Charged now 775.01 USD" in shown
    assert "the member's balance goes from 25 to 50" in html.unescape(shown)
    key = re.search(r'name="once" value="([^"]+)"', review.text)
    agreed = re.search(r'name="agreed" value="(\d+)"', review.text)
    assert key is not None
    assert agreed is not None
    assert agreed.group(1) == "77501"
    form = {"plan": "recruiter", "once": key.group(1), "agreed": agreed.group(1)}
    for _ in range(2):  # the same confirm sent twice charges once
        confirmed = operator.post(f"/admin/members/{member_id}/plan", **form)
        assert "charged 775.01 USD for 25 credits now" in confirmed.text
    charges = statements.list_charges(
        operator.runtime.deps, member_id=member_id, now=operator.runtime.clock.now()
    )
    assert [c.kind for c in charges] == ["subscription", "proration"]
    unknown = operator.client.get(f"/admin/members/{member_id}/plan/confirm?plan=platinum&once=k")
    assert unknown.status_code == 422
    assert "there is no plan 'platinum'" in html.unescape(unknown.text)
