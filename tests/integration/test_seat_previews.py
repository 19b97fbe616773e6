"""What a team seat holder is shown before writing (SPEC §10, docs/rules.md "Teams"): the
People search, targeting and the coach price each recipient on the team's plan, from the
pool's credits and within the seat's monthly cap, exactly as the quote (and the send) does.

The ``deps`` fixture runs every test on both engines.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from inmail.domain.errors import SeatCapReached
from inmail.domain.messaging import Channel
from inmail.domain.targeting import Ranked
from inmail.services.catalog import update_plan
from inmail.services.coach import gather_facts
from inmail.services.context import Deps
from inmail.services.credits import adjust_credits, spend_credits
from inmail.services.inbox import follow_ups
from inmail.services.inmail import send_inmail
from inmail.services.network import connect
from inmail.services.notices import write_due_notices
from inmail.services.quote import CheapestWay, quote
from inmail.services.search import find_members
from inmail.services.sequences import follow_up_terms
from inmail.services.targeting import rank_candidates
from inmail.services.teams import TeamRecord, assign_seat, create_team, set_seat_cap
from inmail.services.threads import follow_up_chance
from inmail.store import messaging as message_store
from tests.conftest import T0
from tests.helpers import balance, days, new_member

NOW = T0 + days(1)
POOL = 75 * 2  # recruiter_corporate's allotment for two seats


def seated(deps: Deps, own_plan: str = "basic", at: datetime = T0) -> tuple[TeamRecord, str, str]:
    """A two-seat recruiter_corporate team made at T0: (team, its admin, a seat holder on
    ``own_plan`` seated at ``at``)."""
    team = create_team(deps, name="Acme Talent", plan="recruiter_corporate", seats=2, now=T0)
    admin, seat = new_member(deps, "basic", at), new_member(deps, own_plan, at)
    assign_seat(deps, team_id=team.id, member_id=admin, admin=True, now=at)
    team = assign_seat(deps, team_id=team.id, member_id=seat, admin=False, now=at)
    return team, admin, seat


def searched(deps: Deps, viewer: str, now: datetime) -> dict[str, CheapestWay]:
    """Every member the viewer's search finds, with its way; each checked against the quote
    for that member (channel, cost, allowed, the reason and any overage)."""
    page = find_members(deps, viewer=viewer, now=now, limit=200)
    ways = {found.member.id: found.way for found in page.items}
    for to, way in ways.items():
        quoted = quote(deps, member_id=viewer, to=to, now=now)
        shown = (way.channel, way.cost_credits, way.allowed, way.reason, way.overage_charge)
        assert shown == (
            quoted.channel,
            quoted.cost_credits,
            quoted.allowed,
            quoted.reason,
            quoted.overage_charge,
        ), to
    return ways


def ranked(deps: Deps, viewer: str, to: str, now: datetime) -> Ranked:
    """``to`` as targeting ranks them for ``viewer``: channel and cost as the quote's."""
    (target,) = rank_candidates(deps, member_id=viewer, candidates=[to], now=now).items
    quoted = quote(deps, member_id=viewer, to=to, now=now)
    assert (target.ranked.channel, target.ranked.cost_credits) == (
        quoted.channel,
        quoted.cost_credits,
    )
    return target.ranked


def test_a_seat_holder_on_basic_is_shown_the_teams_inmail_everywhere(deps: Deps) -> None:
    _, _, seat = seated(deps)
    to = new_member(deps, "basic", T0)
    way = searched(deps, seat, NOW)[to]
    assert (way.channel, way.cost_credits, way.allowed) == (Channel.INMAIL, 1, True)
    target = ranked(deps, seat, to, NOW)
    assert (target.channel, target.cost_credits, target.reachable) == (Channel.INMAIL, 1, True)
    assert not any("does not include InMail" in r for r in target.reasons)
    facts = gather_facts(deps, seat, to, NOW)  # the coach's tips
    assert facts.refusal is None
    assert facts.route is not None
    assert facts.route.channel is Channel.INMAIL


def test_a_member_without_a_seat_is_shown_their_own_plan_as_before(deps: Deps) -> None:
    seated(deps)
    alone, to = new_member(deps, "basic", T0), new_member(deps, "basic", T0)
    way = searched(deps, alone, NOW)[to]
    assert (way.channel, way.allowed) == (Channel.INMAIL, False)
    assert "does not include InMail" in way.reason
    target = ranked(deps, alone, to, NOW)
    assert target.reachable is False
    assert target.reasons[0].startswith("not reachable: the Basic (free) plan does not include")
    assert gather_facts(deps, alone, to, NOW).route is None


def test_a_seat_holder_pays_from_the_pool_not_from_their_own_credits(deps: Deps) -> None:
    team, _, seat = seated(deps, own_plan="premium_business")
    to = new_member(deps, "basic", T0)
    own = balance(deps, seat, NOW)
    adjust_credits(deps, member_id=seat, amount=-own, reason="spent elsewhere", now=NOW)
    way = searched(deps, seat, NOW)[to]  # their own credits are 0: the pool's 150 count
    assert (way.allowed, way.cost_credits, way.overage_charge) == (True, 1, None)
    # Their own credits back, the pool empty (and the admins allow no overage): refused.
    adjust_credits(deps, member_id=seat, amount=own, reason="given back", now=NOW)
    adjust_credits(deps, member_id=team.id, amount=-POOL, reason="drain", now=NOW)
    way = searched(deps, seat, NOW)[to]
    assert (way.allowed, way.overage_charge) == (False, None)
    assert "not enough credits (0)" in way.reason


def test_a_seat_at_its_cap_is_shown_seat_cap_reached_as_the_quote_and_the_send(
    deps: Deps,
) -> None:
    team, admin, seat = seated(deps)
    to, friend = new_member(deps, "basic", T0), new_member(deps, "basic", T0)
    connect(deps, a=seat, b=friend, now=T0)
    set_seat_cap(deps, admin_id=admin, team_id=team.id, member_id=seat, cap=1, now=NOW)
    assert searched(deps, seat, NOW)[to].allowed
    spend_credits(deps, member_id=seat, cost=1, reference="inmail:cap1", now=NOW)
    ways = searched(deps, seat, NOW)
    assert (ways[to].channel, ways[to].cost_credits, ways[to].allowed) == (
        Channel.INMAIL,
        1,
        False,
    )
    assert "used 1 of its 1 credits this month" in ways[to].reason
    assert (ways[friend].channel, ways[friend].allowed) == (Channel.MESSAGE, True)  # free
    # The cap is judged before the pool's credits, as the send judges it.
    adjust_credits(deps, member_id=team.id, amount=-(POOL - 1), reason="drain", now=NOW)
    assert "used 1 of its 1 credits this month" in searched(deps, seat, NOW)[to].reason
    with pytest.raises(SeatCapReached) as refused:
        spend_credits(deps, member_id=seat, cost=1, reference="inmail:cap2", now=NOW)
    assert refused.value.message == searched(deps, seat, NOW)[to].reason
    # Targeting shows the way and its cost, not whether money allows it (docs/targeting.md).
    target = ranked(deps, seat, to, NOW)
    assert (target.channel, target.cost_credits, target.reachable) == (Channel.INMAIL, 1, True)


def test_a_pools_renewal_due_is_applied_before_a_seat_holders_results_are_priced(
    deps: Deps,
) -> None:
    # The seat holder joins on Feb 10 (their own renewal: March 10); the pool renews Feb 28.
    joined = T0 + days(10)
    team, _, seat = seated(deps, at=joined)
    to = new_member(deps, "basic", joined)
    adjust_credits(deps, member_id=team.id, amount=-POOL, reason="drain", now=joined)
    assert not searched(deps, seat, joined)[to].allowed
    renewed = T0 + days(29)
    way = searched(deps, seat, renewed)[to]  # the pool's renewal is applied, then priced
    assert (way.allowed, way.cost_credits) == (True, 1)
    assert balance(deps, team.id, renewed) == POOL
    assert ranked(deps, seat, to, renewed + days(30)).reachable  # the next one, by targeting


def test_a_seat_holders_follow_ups_are_offered_on_the_teams_terms(deps: Deps) -> None:
    """The team's plan waits 3 days and allows 2 follow-ups, their own Basic 7 days and 1:
    the thread page, compose's schedule terms and the inbox's due list say what the
    follow-up send (on the team's plan) will do, and so does the "follow-up due" notice."""
    changes = {"followup_after_days": 3, "max_followups": 2}
    update_plan(deps, code="recruiter_corporate", changes=changes, now=T0)
    _, _, seat = seated(deps)
    to = new_member(deps, "basic", T0)
    sent = send_inmail(deps, sender_id=seat, to=to, subject="Hi", body="Hello", now=NOW)
    later = NOW + days(3)
    with deps.db.read() as conn:
        thread = message_store.get_thread(conn, sent.thread_id)
    assert thread is not None
    assert write_due_notices(deps, seat, later) == 1  # the worker's sweep: "follow-up due"
    chance = follow_up_chance(deps, thread=thread, now=later)
    assert (chance.allowed, chance.at, chance.limit) == (True, later, 2)
    assert [d.thread.id for d in follow_ups(deps, member_id=seat, now=later)] == [thread.id]
    terms = follow_up_terms(deps, member_id=seat, now=later)
    assert (terms.allowed, terms.first) == (True, 3)
