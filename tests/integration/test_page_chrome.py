"""The chrome of every signed-in page (services/chrome.py) in one statement, on both engines:
the same member, counts, time zone and banner as the services that read each on its own."""

from __future__ import annotations

import pytest

from inmail.domain.errors import UnknownMember
from inmail.services import inbox, reputation, settings, threads
from inmail.services.chrome import page_chrome
from inmail.services.context import Deps
from inmail.services.inmail import send_inmail
from inmail.services.members import get_member
from inmail.services.subscriptions import change_plan
from inmail.store import reputation as reputation_store
from inmail.store.reputation import StandingRecord
from tests.conftest import T0
from tests.helpers import days, new_member


def test_a_new_member_has_no_counts_utc_and_no_banner(deps: Deps) -> None:
    member = new_member(deps, "basic", T0)
    chrome = page_chrome(deps, member_id=member, now=T0)
    assert chrome.member == get_member(deps, member, now=T0)
    assert (chrome.unread_threads, chrome.unread_notices) == (0, 0)
    assert (chrome.time_zone, chrome.banner) == ("UTC", None)


def test_it_reads_what_each_service_reads_on_its_own(deps: Deps) -> None:
    """Two InMails to Bea (one thread read, one not), her zone set, her sends suspended."""
    ann, cid, bea = (new_member(deps, plan, T0) for plan in ("premium_business",) * 2 + ("basic",))
    sent = [
        send_inmail(deps, sender_id=sender, to=bea, subject="Hi", body="Hello", now=T0)
        for sender in (ann, cid)
    ]
    threads.read_thread(deps, member_id=bea, thread_id=sent[0].thread_id, now=T0)
    settings.update_settings(deps, member_id=bea, changes={"time_zone": "Europe/Paris"}, now=T0)
    with deps.db.write() as conn:
        ban = StandingRecord(bea, suspended_until=T0 + days(1), suspension_reason="spam reports")
        reputation_store.save_standing(conn, ban, T0)

    chrome = page_chrome(deps, member_id=bea, now=T0)

    assert chrome.unread_threads == threads.unread_count(deps, member_id=bea)
    assert chrome.unread_threads == 1
    assert chrome.unread_notices == inbox.unread_notice_count(deps, member_id=bea) > 0
    assert chrome.time_zone == settings.time_zone_of(deps, member_id=bea) == "Europe/Paris"
    assert chrome.banner == reputation.banner(deps, member_id=bea, now=T0)
    assert chrome.banner is not None
    assert (chrome.banner.kind, chrome.banner.until) == ("suspended", T0 + days(1))
    assert page_chrome(deps, member_id=bea, now=T0 + days(2)).banner is None  # the ban is over


def test_a_member_whose_renewal_is_due_is_shown_on_the_plan_they_are_on_now(deps: Deps) -> None:
    member = new_member(deps, "premium_business", T0 - days(40))
    change_plan(deps, member_id=member, plan="basic", now=T0 - days(35))  # at the renewal
    chrome = page_chrome(deps, member_id=member, now=T0)
    assert chrome.member.plan == "basic"
    assert chrome.member == get_member(deps, member, now=T0)


def test_an_unknown_member_is_refused(deps: Deps) -> None:
    with pytest.raises(UnknownMember):
        page_chrome(deps, member_id="m_nobody", now=T0)
