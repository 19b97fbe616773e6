"""The rules of scheduled follow-ups (domain/sequences.py), without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inmail.domain.errors import ValidationError
from inmail.domain.messaging import ThreadStatus
from inmail.domain.plans import DEFAULT_PLANS, Plan
from inmail.domain.sequences import (
    FOLLOW_UP_MAX_DAYS,
    MAX_ATTEMPTS,
    CancelReason,
    FollowUpRequest,
    Verdict,
    check_schedule,
    due_at,
    failure_text,
    gave_up,
    lease_until,
    schedule_terms,
    sent_text,
    verdict,
)
from inmail.domain.timeline import LATEST

PLAN = next(p for p in DEFAULT_PLANS if p.code == "premium_business")  # 7 days, 1 follow-up
SENT = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def _refusal(request: FollowUpRequest, plan: Plan = PLAN, max_days: int = 28) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        check_schedule(request, plan, max_days)
    return refused.value


def test_the_longest_schedule_is_four_weeks_by_default() -> None:
    assert FOLLOW_UP_MAX_DAYS == 28


def test_a_follow_up_may_be_scheduled_from_the_plans_wait_to_the_longest_schedule() -> None:
    terms = schedule_terms(PLAN, 28)
    assert (terms.first, terms.last, terms.allowed) == (7, 28, True)
    for days in (7, 15, 28):
        check_schedule(FollowUpRequest(days, "Any news?"), PLAN, 28)


@pytest.mark.parametrize("days", [0, 6, 29, 365])
def test_a_wait_outside_the_range_is_refused_naming_the_field_and_the_range(days: int) -> None:
    refused = _refusal(FollowUpRequest(days, "Any news?"))
    assert refused.field == "follow_up.after_days"
    assert (
        f"from 7 to 28 days (your plan's follow-up wait to the longest schedule), not {days}"
        in (refused.message)
    )


def test_the_range_follows_the_plans_own_wait() -> None:
    quick = replace(PLAN, followup_after_days=2)
    check_schedule(FollowUpRequest(2, "Any news?"), quick, 28)
    assert "from 2 to 28 days" in _refusal(FollowUpRequest(1, "x"), quick).message


def test_a_plan_without_follow_ups_schedules_none() -> None:
    none = replace(PLAN, max_followups=0)
    terms = schedule_terms(none, 28)
    assert not terms.allowed
    refused = _refusal(FollowUpRequest(7, "Any news?"), none)
    assert refused.field == "follow_up"
    assert refused.message == (
        "no follow-up can be scheduled: the Premium Business plan allows no follow-ups"
    )


def test_a_wait_longer_than_the_longest_schedule_leaves_no_choice() -> None:
    slow = replace(PLAN, followup_after_days=30)
    refused = _refusal(FollowUpRequest(30, "Any news?"), slow)
    assert refused.field == "follow_up.after_days"
    assert "(30 days) is longer than the longest schedule (28 days)" in refused.message


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (FollowUpRequest(7), "follow_up.body"),
        (FollowUpRequest(7, "Any news?", "tpl_1"), "follow_up.body"),
        (FollowUpRequest(7, ""), "follow_up.body"),
        (FollowUpRequest(7, "\u200b"), "follow_up.body"),
        (FollowUpRequest(7, "x" * 2001), "follow_up.body"),
        (FollowUpRequest(7, "bell\x07"), "follow_up.body"),
    ],
)
def test_the_text_is_one_body_by_the_body_rule(request_: FollowUpRequest, field: str) -> None:
    assert _refusal(request_).field == field


def test_a_template_alone_passes_the_rules() -> None:
    check_schedule(FollowUpRequest(7, None, "tpl_1"), PLAN, 28)


def test_multi_line_bodies_are_fine() -> None:
    check_schedule(FollowUpRequest(7, "Hi Ada,\n\nany news?\n\tBob"), PLAN, 28)


def test_it_is_due_whole_days_after_the_send() -> None:
    assert due_at(SENT, 7) == SENT + timedelta(days=7)


def test_a_due_time_past_the_end_of_the_calendar_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        due_at(datetime(9999, 12, 20, tzinfo=UTC), 28)
    assert refused.value.field == "follow_up.after_days"


def test_a_due_follow_up_is_sent_only_into_a_thread_still_awaiting_a_response() -> None:
    assert verdict(ThreadStatus.AWAITING_RESPONSE, 0) == Verdict(send=True)
    assert verdict(ThreadStatus.ANSWERED, 0).reason == CancelReason.ANSWERED
    assert verdict(ThreadStatus.DECLINED, 0).reason == CancelReason.DECLINED


def test_a_follow_up_written_by_hand_cancels_the_scheduled_one() -> None:
    judged = verdict(ThreadStatus.AWAITING_RESPONSE, 1)
    assert (judged.send, judged.reason) == (False, CancelReason.FOLLOWED_UP_BY_HAND)


@given(st.sampled_from(list(ThreadStatus)), st.integers(min_value=0, max_value=5))
def test_a_verdict_either_sends_or_says_why_not(status: ThreadStatus, sent: int) -> None:
    judged = verdict(status, sent)
    assert judged.send == (judged.reason is None)
    answered = status in (ThreadStatus.ANSWERED, ThreadStatus.DECLINED)
    assert judged.send == (not answered and sent == 0)


def test_a_schedule_is_given_up_after_its_tries() -> None:
    assert MAX_ATTEMPTS == 5
    assert not gave_up(1)
    assert not gave_up(MAX_ATTEMPTS)  # the fifth claim still tries
    assert gave_up(MAX_ATTEMPTS + 1)


def test_a_lease_ends_after_its_length_and_never_past_the_calendar() -> None:
    assert lease_until(SENT, timedelta(minutes=5)) == SENT + timedelta(minutes=5)
    assert lease_until(LATEST - timedelta(seconds=1), timedelta(minutes=5)) == LATEST


def test_the_sender_is_told_what_happened_in_words() -> None:
    assert sent_text(1) == "Your scheduled follow-up was sent (1 credit spent)"
    assert sent_text(2) == "Your scheduled follow-up was sent (2 credits spent)"
    assert sent_text(0) == "Your scheduled follow-up was sent (free)"
    assert failure_text("you have 0 credit(s)") == (
        "Your scheduled follow-up was not sent: you have 0 credit(s). Nothing was charged."
    )


def test_a_follow_up_waits_at_least_a_day_whatever_the_plan() -> None:
    at_once = replace(PLAN, followup_after_days=0)
    assert schedule_terms(at_once, 28).first == 1
    assert _refusal(FollowUpRequest(0, "Any news?"), at_once).field == "follow_up.after_days"
