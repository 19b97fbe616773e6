"""The targeting score without a database: hand-built candidates, their order and reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError as PydanticValidationError

from inmail.config import Settings
from inmail.domain.errors import ValidationError
from inmail.domain.messaging import Channel, Reach
from inmail.domain.plans import default_catalog
from inmail.domain.targeting import (
    CANDIDATES_MAX,
    Answers,
    Candidate,
    Profile,
    Received,
    TargetingRules,
    Tier,
    Weights,
    answer_bucket,
    check_candidates,
    listed,
    page,
    rank,
    same_value,
    score,
    shared_interests,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLANS = default_catalog()
PAID = PLANS.plan("premium_business")
BASIC = PLANS.plan("basic")
RULES = TargetingRules()
ME = Profile(company="Acme GmbH", school="TU Berlin", interests=("Rust", "hiking", "chess"))


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


def candidate(member_id: str, **changes: object) -> Candidate:
    reach_changes = {k: changes.pop(k) for k in list(changes) if k in Reach.__slots__}
    made = Candidate(member_id=member_id, profile=Profile(), reach=reach(**reach_changes))
    return replace(made, **changes)  # type: ignore[arg-type]


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def history(replied: int, declined: int = 0, ignored: int = 0) -> tuple[Received, ...]:
    """Counted InMail threads: replied within the window, declined, and left unanswered."""
    sent = days_ago(60)
    return (
        *(Received(sent, replied_at=sent + timedelta(days=2)) for _ in range(replied)),
        *(Received(sent, declined_at=sent + timedelta(days=1)) for _ in range(declined)),
        *(Received(sent) for _ in range(ignored)),
    )


def order(*candidates: Candidate, me: Profile = ME, rules: TargetingRules = RULES) -> list[str]:
    return [r.member_id for r in rank(candidates, me=me, rules=rules, now=NOW)]


def scored(c: Candidate, me: Profile = ME, rules: TargetingRules = RULES) -> tuple[int, list[str]]:
    ranked = score(c, me=me, rules=rules, now=NOW)
    return ranked.score, list(ranked.reasons)


# --- The score: each fact, its points and its sentence ------------------------------------


def test_a_stranger_with_nothing_in_common_scores_zero_and_says_there_is_no_history() -> None:
    assert scored(candidate("m1")) == (
        0,
        ["not enough InMail history to say how often they answer"],
    )


def test_mutual_connections_are_counted_and_named_up_to_three() -> None:
    two = candidate("m1", mutual_count=2, mutual_names=("Ana Ruiz", "Bo Chen"))
    assert scored(two)[0] == 6
    assert "2 mutual connections: Ana Ruiz, Bo Chen" in scored(two)[1]
    one = candidate("m2", mutual_count=1, mutual_names=("Ana Ruiz",))
    assert "1 mutual connection: Ana Ruiz" in scored(one)[1]
    seven = candidate("m3", mutual_count=7, mutual_names=("Ana Ruiz", "Bo Chen", "Cy Doe"))
    points, reasons = scored(seven)
    assert points == 3 * 5  # only the first 5 count
    assert "7 mutual connections: Ana Ruiz, Bo Chen, Cy Doe and 4 more" in reasons


def test_shared_groups_are_named_in_one_sentence() -> None:
    one = candidate("m1", shared_groups=("Rust Berlin",))
    assert scored(one) == (
        4,
        ["you are both in Rust Berlin", "not enough InMail history to say how often they answer"],
    )
    two = candidate("m2", shared_groups=("PyData", "Rust Berlin"))
    assert "you are both in PyData and Rust Berlin" in scored(two)[1]
    five = candidate("m3", shared_groups=("A", "B", "C", "D", "E"))
    points, reasons = scored(five)
    assert points == 4 * 3
    assert "you are both in 5 groups: A, B, C and 2 more" in reasons


def test_company_school_and_interests_match_whatever_their_case_accents_and_spaces() -> None:
    them = Profile(company=" acme  gmbh", school="TÜ Berlin", interests=("rust", "Chess", "golf"))
    points, reasons = scored(candidate("m1", profile=them))
    assert points == 6 + 5 + 2 * 2
    assert "you both work at acme  gmbh" in reasons
    assert "you both went to TÜ Berlin" in reasons
    assert "you share interests: rust, Chess" in reasons


def test_empty_profile_values_never_match() -> None:
    assert not same_value("", "")
    assert not same_value("  ", " ")
    assert shared_interests(("", "Rust"), ("", "rust")) == ("rust",)
    points, _ = scored(candidate("m1"), me=Profile())
    assert points == 0


def test_shared_interests_count_at_most_three() -> None:
    me = Profile(interests=("a", "b", "c", "d", "e"))
    them = Profile(interests=("e", "d", "c", "b", "a", "a"))
    points, reasons = scored(candidate("m1", profile=them), me=me)
    assert points == 2 * 3
    assert "you share interests: e, d, c, b, a" in reasons


def test_a_connection_is_free_and_scores_the_connection_points() -> None:
    ranked = score(candidate("m1", connected=True), me=ME, rules=RULES, now=NOW)
    assert (ranked.channel, ranked.cost_credits, ranked.reachable) == (Channel.MESSAGE, 0, True)
    assert ranked.score == 10
    assert ranked.reasons[0] == "free: a 1st-degree connection, so a message costs nothing"
    assert ranked.degree == 1


def test_an_open_profile_is_free_and_scores_its_points_once_said() -> None:
    ranked = score(candidate("m1", recipient_open_profile=True), me=ME, rules=RULES, now=NOW)
    assert (ranked.channel, ranked.cost_credits) == (Channel.OPEN_PROFILE, 0)
    assert ranked.score == 4
    assert ranked.reasons == (
        "free: their profile is open (Open Profile), so InMail costs nothing",
        "not enough InMail history to say how often they answer",
    )


def test_a_shared_group_they_take_messages_in_is_a_free_route() -> None:
    c = candidate("m1", group_peer=True, shared_groups=("Rust Berlin",))
    ranked = score(c, me=ME, rules=RULES, now=NOW)
    assert (ranked.channel, ranked.cost_credits) == (Channel.GROUP_MESSAGE, 0)
    assert ranked.reasons[0] == "free: you can message them in a group you share"


def test_an_open_conversation_is_free_and_a_reply_to_you_scores() -> None:
    c = candidate("m1", open_conversation=True, replied_to_you=True)
    ranked = score(c, me=ME, rules=RULES, now=NOW)
    assert (ranked.channel, ranked.cost_credits) == (Channel.CONVERSATION, 0)
    assert ranked.score == 8
    assert ranked.reasons[:2] == (
        "free: you have an open conversation with them",
        "they replied to your InMail before",
    )


def test_a_stranger_costs_the_plans_inmail_cost() -> None:
    ranked = score(candidate("m1"), me=ME, rules=RULES, now=NOW)
    assert (ranked.channel, ranked.cost_credits, ranked.reachable) == (Channel.INMAIL, 1, True)
    assert ranked.degree == 3


def test_recently_active_means_within_the_active_days() -> None:
    fresh = candidate("m1", last_active_at=days_ago(29))
    assert scored(fresh) == (
        4,
        [
            "not enough InMail history to say how often they answer",
            "active in the last 30 days",
        ],
    )
    stale = candidate("m2", last_active_at=days_ago(31))
    assert scored(stale)[0] == 0
    week = TargetingRules(active_days=7)
    assert scored(fresh, rules=week)[0] == 0


# --- Their InMail history: a bucket, never figures ------------------------------------------


@pytest.mark.parametrize(
    ("replied", "declined", "ignored", "bucket"),
    [
        (5, 0, 0, Answers.MOST),
        (3, 1, 2, Answers.MOST),  # 3 of 6: half is most
        (2, 2, 3, Answers.SOME),  # 2 of 7
        (1, 0, 4, Answers.SOME),  # 1 of 5: 20 %
        (1, 4, 5, Answers.RARELY),  # 1 of 10: declines count against
        (0, 0, 5, Answers.RARELY),
        (4, 0, 0, Answers.UNKNOWN),  # 4 counted: under the minimum of 5
        (0, 0, 0, Answers.UNKNOWN),
    ],
)
def test_the_answer_bucket(replied: int, declined: int, ignored: int, bucket: Answers) -> None:
    assert answer_bucket(history(replied, declined, ignored), NOW) is bucket


def test_inmails_still_within_their_window_are_not_judged_yet() -> None:
    recent = tuple(Received(days_ago(10)) for _ in range(9))
    assert answer_bucket(recent + history(5), NOW) is Answers.MOST
    late = days_ago(60)
    slow = tuple(Received(late, replied_at=late + timedelta(days=31)) for _ in range(5))
    assert answer_bucket(slow, NOW) is Answers.RARELY  # answered, but after the window


def test_only_the_last_years_inmails_count() -> None:
    old = days_ago(400)
    ancient = tuple(Received(old, replied_at=old + timedelta(days=1)) for _ in range(10))
    assert answer_bucket(ancient, NOW) is Answers.UNKNOWN
    assert answer_bucket(ancient, NOW, TargetingRules(history_days=500)) is Answers.MOST
    assert answer_bucket(ancient + history(0, ignored=5), NOW) is Answers.RARELY


def test_the_bucket_never_reveals_the_exact_rate() -> None:
    """Two members in one bucket get the same points and the same words, whatever their
    figures: nothing in the answer tells 55 % from 95 %, or 5 InMails from 500."""
    a = candidate("m1", received=history(replied=11, ignored=9))  # 55 %
    b = candidate("m2", received=history(replied=19, ignored=1))  # 95 %
    c = candidate("m3", received=history(replied=475, ignored=25))  # 95 % of 500
    results = [score(x, me=ME, rules=RULES, now=NOW) for x in (a, b, c)]
    assert {(r.score, r.reasons, r.answers) for r in results} == {
        (8, ("answers most InMail they receive",), Answers.MOST)
    }
    for r in results:
        assert not any(ch.isdigit() for reason in r.reasons for ch in reason)


def test_each_bucket_has_its_points_and_sentence() -> None:
    assert scored(candidate("m1", received=history(5))) == (
        8,
        ["answers most InMail they receive"],
    )
    assert scored(candidate("m2", received=history(1, ignored=4))) == (
        3,
        ["answers some InMail they receive"],
    )
    assert scored(candidate("m3", received=history(0, ignored=5))) == (
        -6,
        ["rarely answers InMail"],
    )


# --- The order -----------------------------------------------------------------------------


def test_a_hand_built_network_ranks_by_score() -> None:
    colleague = candidate(
        "m_colleague",
        profile=Profile(company="Acme GmbH", school="TU Berlin"),
        mutual_count=2,
        mutual_names=("Ana Ruiz", "Bo Chen"),
    )  # 6 + 5 + 6 = 17
    group_peer = candidate(
        "m_group", shared_groups=("Rust Berlin",), received=history(5)
    )  # 4 + 8 = 12
    responsive = candidate("m_fan", received=history(4, ignored=1))  # 8
    silent = candidate("m_silent", received=history(0, ignored=8))  # -6
    stranger = candidate("m_stranger")  # 0
    assert order(stranger, silent, responsive, group_peer, colleague) == [
        "m_colleague",
        "m_group",
        "m_fan",
        "m_stranger",
        "m_silent",
    ]


def test_someone_who_declined_you_comes_last_whatever_their_score() -> None:
    declined = candidate(
        "m_declined",
        connected=True,
        mutual_count=5,
        mutual_names=("A", "B", "C"),
        received=history(5),
        declined_you_at=days_ago(12),
    )
    unreachable = candidate("m_closed", recipient_accepts_inmail=False)
    silent = candidate("m_silent", received=history(0, ignored=8))
    assert order(declined, unreachable, silent) == ["m_silent", "m_closed", "m_declined"]
    ranked = score(declined, me=ME, rules=RULES, now=NOW)
    assert ranked.tier is Tier.DECLINED
    assert ranked.reasons[0] == "they declined your InMail on 2026-02-17: ranked last"
    assert ranked.score > 0  # the score stays honest; the tier places them


def test_an_inmail_awaiting_their_response_ranks_below_the_reachable() -> None:
    waiting = candidate(
        "m_waiting", shared_groups=("A",), received=history(5), awaiting_since=days_ago(3)
    )
    stranger = candidate("m_stranger")
    assert order(waiting, stranger) == ["m_stranger", "m_waiting"]
    ranked = score(waiting, me=ME, rules=RULES, now=NOW)
    assert ranked.tier is Tier.AWAITING
    assert ranked.reasons[0] == (
        "your InMail of 2026-02-26 still awaits their response: "
        "follow it up rather than write again"
    )


def test_nobody_reachable_is_said_so_and_ranked_below_the_reachable() -> None:
    closed = score(candidate("m1", recipient_accepts_inmail=False), me=ME, rules=RULES, now=NOW)
    assert (closed.tier, closed.reachable) == (Tier.UNREACHABLE, False)
    assert closed.reasons[0] == "not reachable: they do not accept InMail from you"
    assert (closed.channel, closed.cost_credits) == (Channel.INMAIL, 1)


def test_a_block_leaves_no_route_even_to_a_connection_and_says_no_more_than_inmail_off() -> None:
    blocked = score(candidate("m1", connected=True, blocked=True), me=ME, rules=RULES, now=NOW)
    assert (blocked.tier, blocked.reachable, blocked.channel) == (
        Tier.UNREACHABLE,
        False,
        Channel.INMAIL,
    )
    assert blocked.reasons[:2] == (
        "not reachable: they do not accept InMail from you",
        "you are connected (1st degree)",
    )


def test_on_basic_strangers_are_unreachable_and_a_mutual_connection_is_suggested() -> None:
    c = candidate("m1", sender_plan=BASIC, mutual_count=1, mutual_names=("Ana Ruiz",))
    ranked = score(c, me=ME, rules=RULES, now=NOW)
    assert not ranked.reachable
    assert ranked.reasons[0] == (
        "not reachable: the Basic (free) plan does not include InMail; "
        "ask Ana Ruiz for an introduction (free)"
    )
    free = score(
        candidate("m2", sender_plan=BASIC, recipient_open_profile=True), me=ME, rules=RULES, now=NOW
    )
    assert (free.reachable, free.channel, free.cost_credits) == (True, Channel.OPEN_PROFILE, 0)


def test_ties_go_to_more_mutual_connections_then_to_the_member_id() -> None:
    # 6 points each: two mutual connections, or the same company.
    mutuals = candidate("m_b", mutual_count=2, mutual_names=("A", "B"))
    company = candidate("m_a", profile=Profile(company="Acme GmbH"))
    same = candidate("m_c", profile=Profile(company="acme gmbh"))
    assert order(same, company, mutuals) == ["m_b", "m_a", "m_c"]


def test_weights_are_settings() -> None:
    rules = TargetingRules.configured({"same_company": 20, "mutual_connection": 1})
    colleague = candidate("m1", profile=Profile(company="Acme GmbH"))
    networker = candidate("m2", mutual_count=3, mutual_names=("A", "B", "C"))
    assert order(colleague, networker) == ["m2", "m1"]
    assert order(colleague, networker, rules=rules) == ["m1", "m2"]


def test_a_wrong_weight_name_or_value_or_term_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="no targeting weight 'company'"):
        TargetingRules.configured({"company": 5})
    with pytest.raises(ValidationError, match="from 0 to 1000"):
        TargetingRules.configured({"mutual_connections_counted": -1})
    with pytest.raises(ValidationError, match="from -1000 to 1000"):
        TargetingRules.configured({"rarely_answers": -5000})
    with pytest.raises(ValidationError, match="active_days"):
        TargetingRules.configured(active_days=0)
    with pytest.raises(ValidationError, match="min_history"):
        TargetingRules.configured(min_history=0)
    assert TargetingRules.configured().weights == Weights()


# --- Pages and the request -----------------------------------------------------------------


def test_pages_continue_after_the_last_key_and_end_with_none() -> None:
    ranked = rank(
        [candidate(f"m{i}", mutual_count=i, mutual_names=("A",)) for i in range(5)],
        me=ME,
        rules=RULES,
        now=NOW,
    )
    first, after = page(ranked, after=None, limit=2)
    assert [r.member_id for r in first] == ["m4", "m3"]
    second, after2 = page(ranked, after=after, limit=2)
    assert [r.member_id for r in second] == ["m2", "m1"]
    last, end = page(ranked, after=after2, limit=2)
    assert [r.member_id for r in last] == ["m0"]
    assert end is None
    exact, none = page(ranked, after=None, limit=5)
    assert len(exact) == 5
    assert none is None  # a full page with nothing after it says so


def test_the_request_merges_duplicates_and_refuses_what_makes_no_sense() -> None:
    assert check_candidates(["b", "a", "b"], None) == ["b", "a"]
    assert check_candidates(None, None) is None
    assert check_candidates(None, "ana") is None
    with pytest.raises(ValidationError, match="not both") as both:
        check_candidates(["a"], "ana")
    assert both.value.field == "q"
    with pytest.raises(ValidationError, match="empty"):
        check_candidates([], None)
    with pytest.raises(ValidationError, match="at most 200"):
        check_candidates([f"m{i}" for i in range(CANDIDATES_MAX + 1)], None)
    assert check_candidates(["m"] * CANDIDATES_MAX, None) == ["m"]


def test_lists_read_as_english() -> None:
    assert listed(["A"]) == "A"
    assert listed(["A", "B"]) == "A and B"
    assert listed(["A", "B", "C"]) == "A, B and C"
    assert listed(["A", "B", "C", "D", "E"]) == "A, B, C and 2 more"


def test_a_deployment_sets_the_weights_in_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INMAIL_TARGETING_WEIGHTS", '{"same_company": 9, "rarely_answers": -10}')
    monkeypatch.setenv("INMAIL_TARGETING_ACTIVE_DAYS", "7")
    rules = Settings().targeting_rules()
    assert (rules.weights.same_company, rules.weights.rarely_answers) == (9, -10)
    assert rules.weights.same_school == Weights().same_school
    assert rules.active_days == 7
    monkeypatch.setenv("INMAIL_TARGETING_WEIGHTS", '{"company": 9}')
    with pytest.raises(PydanticValidationError, match="no targeting weight 'company'"):
        Settings()  # a wrong name stops the start, not the first request


def test_someone_you_blocked_is_told_as_your_block_not_as_their_choice() -> None:
    mine = candidate("m1", blocked=True, you_blocked=True)
    ranked = score(mine, me=ME, rules=RULES, now=NOW)
    assert (ranked.tier, ranked.reachable) == (Tier.UNREACHABLE, False)
    assert ranked.reasons[0] == "not reachable: you blocked this member (unblock them to write)"
    theirs = score(candidate("m2", blocked=True), me=ME, rules=RULES, now=NOW)
    assert theirs.reasons[0] == "not reachable: they do not accept InMail from you"
