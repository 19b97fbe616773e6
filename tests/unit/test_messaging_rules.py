from datetime import UTC, datetime, timedelta

import pytest

from inmail.domain.errors import (
    CostChanged,
    FollowUpLimitReached,
    FollowUpTooEarly,
    InmailNotOnPlan,
    RecipientIsConnection,
    RecipientNotAcceptingInmail,
    ValidationError,
)
from inmail.domain.messaging import (
    ANYTHING,
    Agreed,
    Channel,
    Reach,
    Route,
    SentInmail,
    ThreadState,
    ThreadStatus,
    cheapest_route,
    check_agreed_cost,
    check_followup,
    check_text,
    credit_back_applies,
    inmail_route,
    response_stats,
)
from inmail.domain.plans import default_catalog

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLANS = default_catalog()
PAID = PLANS.plan("premium_business")


def reach(**changes: object) -> Reach:
    base = {
        "sender_plan": PAID,
        "connected": False,
        "blocked": False,
        "recipient_accepts_inmail": True,
        "recipient_open_profile": False,
        "open_conversation": False,
    }
    return Reach(**{**base, **changes})  # type: ignore[arg-type]


def test_an_inmail_to_a_stranger_costs_the_plans_inmail_cost() -> None:
    route = inmail_route(reach())
    assert (route.channel, route.cost) == (Channel.INMAIL, 1)


def test_an_open_profile_is_free_even_for_basic() -> None:
    route = inmail_route(reach(sender_plan=PLANS.plan("basic"), recipient_open_profile=True))
    assert (route.channel, route.cost) == (Channel.OPEN_PROFILE, 0)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"connected": True}, RecipientIsConnection),
        ({"blocked": True}, RecipientNotAcceptingInmail),
        ({"recipient_accepts_inmail": False}, RecipientNotAcceptingInmail),
        ({"sender_plan": PLANS.plan("basic")}, InmailNotOnPlan),
    ],
)
def test_each_refusal_of_an_inmail(changes: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        inmail_route(reach(**changes))


def test_the_basic_refusal_lists_the_free_routes() -> None:
    routes = (("introduction", "ask Ada (@ada) to introduce you"),)
    with pytest.raises(InmailNotOnPlan, match=r"Free routes: ask Ada \(@ada\) to introduce you"):
        inmail_route(reach(sender_plan=PLANS.plan("basic"), free_routes=routes))


@pytest.mark.parametrize(
    "free", [{"connected": True}, {"open_conversation": True}, {"group_peer": True}, {}]
)
def test_a_block_closes_every_way_even_a_free_one(free: dict[str, bool]) -> None:
    # A blocked connection was quoted "free: 1st-degree connection", which the send refused.
    with pytest.raises(RecipientNotAcceptingInmail, match="does not accept InMail from you"):
        cheapest_route(reach(blocked=True, **free))


def test_the_cheapest_route_prefers_free_channels() -> None:
    assert cheapest_route(reach(connected=True)).channel is Channel.MESSAGE
    assert cheapest_route(reach(open_conversation=True)).channel is Channel.CONVERSATION
    assert cheapest_route(reach(group_peer=True)).channel is Channel.GROUP_MESSAGE
    assert cheapest_route(reach(group_peer=True)).cost == 0


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("", "b", "subject"),
        ("s" * 201, "b", "subject"),
        ("s", "  ", "body"),
        ("s", "b" * 2001, "body"),
    ],
)
def test_subject_and_body_lengths(subject: str, body: str, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_text(subject, body)
    assert refused.value.field == field


def test_limits_are_inclusive() -> None:
    check_text("s" * 200, "b" * 2000)


def test_a_follow_up_waits_seven_days_and_is_limited_to_one() -> None:
    waiting = ThreadState(ThreadStatus.AWAITING_RESPONSE, NOW, 0)
    with pytest.raises(FollowUpTooEarly):
        check_followup(waiting, PAID, NOW + timedelta(days=6, hours=23))
    check_followup(waiting, PAID, NOW + timedelta(days=7))
    with pytest.raises(FollowUpLimitReached):
        check_followup(
            ThreadState(ThreadStatus.AWAITING_RESPONSE, NOW, 1), PAID, NOW + timedelta(days=30)
        )


def test_credit_back_only_when_the_plan_opts_in_and_the_answer_is_in_time() -> None:
    assert not credit_back_applies(0, NOW, NOW + timedelta(days=1))
    assert credit_back_applies(90, NOW, NOW + timedelta(days=90))
    assert not credit_back_applies(90, NOW, NOW + timedelta(days=90, seconds=1))


def test_response_rate_counts_answers_within_thirty_days_over_settled_inmails() -> None:
    day = timedelta(days=1)
    inmails = [
        SentInmail(NOW - 40 * day, NOW - 35 * day),  # answered in 5 days
        SentInmail(NOW - 40 * day, None),  # 40 days, no answer: counted, no response
        SentInmail(NOW - 60 * day, NOW - 20 * day),  # answered after 40 days: counted only
        SentInmail(NOW - 2 * day, None),  # too recent to count
    ]
    stats = response_stats(inmails, NOW)
    assert (stats.inmails_sent, stats.responses, stats.counted) == (4, 1, 3)
    assert stats.response_rate == pytest.approx(1 / 3)
    assert response_stats([], NOW).response_rate is None


def test_a_send_may_cost_what_was_shown_or_less_but_never_more() -> None:
    inmail = Route(Channel.INMAIL, 1, "InMail costs 1 credit(s)")
    check_agreed_cost(inmail, Agreed(credits=1))
    check_agreed_cost(inmail, ANYTHING)  # the API's callers agree to the rules' price
    check_agreed_cost(Route(Channel.OPEN_PROFILE, 0, "open profile"), Agreed(credits=1))
    with pytest.raises(CostChanged, match="costs 1 credit"):
        check_agreed_cost(inmail, Agreed(credits=0))
