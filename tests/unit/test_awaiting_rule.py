"""SPEC §4: no new InMail while one from the same sender awaits a response (issue 10 §5).

Pure rules, no database: :func:`new_inmail_route` (the send), :func:`cheapest_route`
(the quote) and :func:`next_followup_at` (the follow-up the refusal points to).
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inmail.domain.errors import (
    DomainError,
    InmailAlreadyAwaitingResponse,
    InmailNotOnPlan,
    RecipientIsConnection,
    RecipientNotAcceptingInmail,
)
from inmail.domain.messaging import (
    AwaitingInmail,
    Channel,
    Reach,
    ThreadState,
    ThreadStatus,
    cheapest_route,
    check_followup,
    check_nothing_awaiting,
    new_inmail_route,
    next_followup_at,
)
from inmail.domain.plans import default_catalog

SENT = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLANS = default_catalog()
PAID = PLANS.plan("premium_business")
BASIC = PLANS.plan("basic")
WAITING = AwaitingInmail("th_waiting", SENT, 0)


def reach(**changes: object) -> Reach:
    base = {
        "sender_plan": PAID,
        "connected": False,
        "blocked": False,
        "recipient_accepts_inmail": True,
        "recipient_open_profile": False,
        "open_conversation": False,
        "awaiting": WAITING,
    }
    return Reach(**{**base, **changes})  # type: ignore[arg-type]


def refusal(awaiting: AwaitingInmail, plan: object = PAID) -> InmailAlreadyAwaitingResponse:
    with pytest.raises(InmailAlreadyAwaitingResponse) as caught:
        new_inmail_route(reach(awaiting=awaiting, sender_plan=plan))
    return caught.value


def test_a_new_inmail_goes_when_nothing_awaits_a_response() -> None:
    route = new_inmail_route(reach(awaiting=None))
    assert (route.channel, route.cost) == (Channel.INMAIL, 1)


def test_a_new_inmail_is_refused_naming_the_thread_and_when_a_follow_up_is_possible() -> None:
    refused = refusal(WAITING)
    assert refused.code == "inmail-already-awaiting-response"
    assert refused.thread_id == "th_waiting"
    assert refused.follow_up_at == SENT + timedelta(days=7)
    assert "thread th_waiting" in refused.message
    assert "POST /v1/threads/th_waiting/messages" in refused.message
    assert "possible from 2026-03-08T12:00:00Z (7 days after its last InMail)" in refused.message
    assert "nothing was charged" in refused.message


def test_the_follow_up_time_counts_from_the_last_follow_up_with_the_senders_plan() -> None:
    followed_up = AwaitingInmail("th_waiting", SENT + timedelta(days=9), 1)
    patient = replace(PAID, followup_after_days=14, max_followups=2)
    refused = refusal(followed_up, patient)
    assert refused.follow_up_at == SENT + timedelta(days=23)
    assert "(14 days after its last InMail)" in refused.message


def test_when_the_follow_ups_are_used_up_the_refusal_says_none_is_possible() -> None:
    used_up = AwaitingInmail("th_waiting", SENT + timedelta(days=8), PAID.max_followups)
    refused = refusal(used_up)
    assert refused.follow_up_at is None
    assert "it has had its 1 follow-up(s), so no further follow-up is possible" in refused.message
    assert refusal(WAITING, replace(PAID, max_followups=0)).follow_up_at is None


def test_a_follow_up_beyond_the_end_of_the_calendar_is_never() -> None:
    late = AwaitingInmail("th_waiting", datetime(9999, 12, 30, tzinfo=UTC), 0)
    refused = refusal(late)
    assert refused.follow_up_at is None
    assert "no follow-up is possible before the end of the calendar" in refused.message


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"connected": True}, RecipientIsConnection),  # a free message is the better answer
        ({"blocked": True}, RecipientNotAcceptingInmail),
        ({"recipient_accepts_inmail": False}, RecipientNotAcceptingInmail),
        ({"sender_plan": BASIC}, InmailNotOnPlan),  # and no follow-up on Basic either
    ],
)
def test_the_refusals_that_rule_out_any_inmail_come_first(
    changes: dict[str, object], error: type[DomainError]
) -> None:
    with pytest.raises(error):
        new_inmail_route(reach(**changes))


def test_a_free_open_profile_inmail_waits_for_its_answer_too() -> None:
    with pytest.raises(InmailAlreadyAwaitingResponse):
        new_inmail_route(reach(recipient_open_profile=True, sender_plan=BASIC))
    free = new_inmail_route(reach(recipient_open_profile=True, sender_plan=BASIC, awaiting=None))
    assert (free.channel, free.cost) == (Channel.OPEN_PROFILE, 0)


def test_the_quote_still_offers_the_free_ways_and_refuses_only_a_new_inmail() -> None:
    assert cheapest_route(reach(connected=True)).channel == Channel.MESSAGE
    assert cheapest_route(reach(open_conversation=True)).channel == Channel.CONVERSATION
    assert cheapest_route(reach(group_peer=True)).channel == Channel.GROUP_MESSAGE
    with pytest.raises(InmailAlreadyAwaitingResponse):
        cheapest_route(reach())
    assert cheapest_route(reach(awaiting=None)).channel == Channel.INMAIL


def test_nothing_awaiting_is_no_refusal() -> None:
    check_nothing_awaiting(None, PAID)


@given(
    sent_days=st.integers(0, 3_600),
    followups=st.integers(0, 3),
    wait_days=st.integers(0, 60),
    max_followups=st.integers(0, 3),
    later_days=st.integers(0, 120),
)
def test_the_follow_up_time_named_is_exactly_when_a_follow_up_is_first_allowed(
    sent_days: int, followups: int, wait_days: int, max_followups: int, later_days: int
) -> None:
    """``follow_up_at`` never promises a follow-up the follow-up rule would refuse, or hides one."""
    plan = replace(PAID, followup_after_days=wait_days, max_followups=max_followups)
    last = SENT + timedelta(days=sent_days)
    state = ThreadState(ThreadStatus.AWAITING_RESPONSE, last, followups)
    at = next_followup_at(last, followups, plan)
    now = last + timedelta(days=later_days)
    try:
        check_followup(state, plan, now)
        allowed = True
    except DomainError:
        allowed = False
    assert allowed == (at is not None and now >= at)
    if at is not None:
        check_followup(state, plan, at)  # at that very moment it goes
