"""The sender-reputation rules (domain/reputation.py): each threshold firing and not firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inmail.domain.reputation import (
    DEFAULT_RULES,
    PastBan,
    RateChange,
    RateFacts,
    RateState,
    Report,
    ReputationRules,
    below_floor,
    ladder_level,
    next_rate_state,
    spam_ban,
)
from inmail.domain.timeline import LATEST

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
RULES = DEFAULT_RULES


def test_99_sent_is_not_enough_for_the_floor_even_with_no_answers() -> None:
    assert not below_floor(RateFacts(sent=99, answered=0), RULES)


def test_100_sent_with_12_answered_is_below_the_floor() -> None:
    assert below_floor(RateFacts(sent=100, answered=12), RULES)


def test_exactly_13_percent_is_not_below_the_floor() -> None:
    assert not below_floor(RateFacts(sent=100, answered=13), RULES)
    assert not below_floor(RateFacts(sent=1000, answered=130), RULES)


def test_12_point_9_percent_is_below_the_floor() -> None:
    assert below_floor(RateFacts(sent=1000, answered=129), RULES)


def test_a_low_rate_warns_at_once() -> None:
    state, change = next_rate_state(RateState(), RateFacts(100, 12), NOW, RULES)
    assert change == RateChange.WARNED
    assert state == RateState(warned_at=NOW)


def test_a_good_rate_changes_nothing() -> None:
    assert next_rate_state(RateState(), RateFacts(100, 13), NOW, RULES) == (RateState(), None)


def test_a_low_rate_within_the_7_days_after_the_warning_keeps_the_warning_only() -> None:
    warned = RateState(warned_at=NOW)
    later = NOW + timedelta(days=7) - timedelta(seconds=1)
    assert next_rate_state(warned, RateFacts(100, 12), later, RULES) == (warned, None)


def test_a_low_rate_7_days_after_the_warning_turns_bulk_sending_off_for_14_days() -> None:
    warned = RateState(warned_at=NOW)
    later = NOW + timedelta(days=7)
    state, change = next_rate_state(warned, RateFacts(100, 12), later, RULES)
    assert change == RateChange.BULK_OFF
    assert state.bulk_off_from == later
    assert state.bulk_off_until == later + timedelta(days=14)
    assert state.bulk_off(later)
    assert not state.bulk_off(later + timedelta(days=14))


def test_a_rate_back_at_the_floor_clears_the_warning() -> None:
    warned = RateState(warned_at=NOW)
    later = NOW + timedelta(days=3)
    assert next_rate_state(warned, RateFacts(100, 13), later, RULES) == (
        RateState(),
        RateChange.CLEARED,
    )


def test_fewer_than_100_sent_clears_the_warning_too() -> None:
    warned = RateState(warned_at=NOW)
    assert next_rate_state(warned, RateFacts(99, 0), NOW + timedelta(days=8), RULES)[1] == (
        RateChange.CLEARED
    )


def test_bulk_off_runs_its_course_whatever_the_rate() -> None:
    off = RateState(NOW, NOW + timedelta(days=7), NOW + timedelta(days=21))
    assert next_rate_state(off, RateFacts(100, 90), NOW + timedelta(days=10), RULES) == (off, None)


def test_after_bulk_off_ends_a_still_low_rate_warns_again() -> None:
    off = RateState(NOW, NOW + timedelta(days=7), NOW + timedelta(days=21))
    end = NOW + timedelta(days=21)
    assert next_rate_state(off, RateFacts(100, 1), end, RULES) == (
        RateState(warned_at=end),
        RateChange.WARNED,
    )
    assert next_rate_state(off, RateFacts(100, 50), end, RULES) == (RateState(), RateChange.ENDED)


def test_every_number_is_a_setting() -> None:
    rules = ReputationRules(min_sent=10, floor=0.5, grace_days=1, bulk_off_days=2)
    assert below_floor(RateFacts(10, 4), rules)
    assert not below_floor(RateFacts(9, 0), rules)
    state, change = next_rate_state(
        RateState(warned_at=NOW), RateFacts(10, 4), NOW + timedelta(days=1), rules
    )
    assert change == RateChange.BULK_OFF
    assert state.bulk_off_until == NOW + timedelta(days=3)


def _reports(n: int, at: datetime, sent: datetime | None = None) -> list[Report]:
    return [Report(at, sent or at - timedelta(hours=1)) for _ in range(n)]


def test_two_reports_bring_no_ban() -> None:
    assert spam_ban(_reports(2, NOW), [], NOW, RULES) is None


def test_the_third_report_brings_a_24_hour_ban() -> None:
    ban = spam_ban(_reports(3, NOW), [], NOW, RULES)
    assert ban is not None
    assert (ban.level, ban.starts_at, ban.ends_at, ban.reports) == (
        1,
        NOW,
        NOW + timedelta(hours=24),
        3,
    )


def test_reports_older_than_30_days_do_not_count() -> None:
    old = _reports(2, NOW - timedelta(days=30))
    assert spam_ban([*old, *_reports(1, NOW)], [], NOW, RULES) is None
    recent = _reports(2, NOW - timedelta(days=29))
    assert spam_ban([*recent, *_reports(1, NOW)], [], NOW, RULES) is not None


def test_the_ladder_climbs_24_72_168_hours_then_stays_at_a_week() -> None:
    bans: list[PastBan] = []
    at = NOW
    lengths = []
    for _ in range(4):
        ban = spam_ban(_reports(3, at), bans, at, RULES)
        assert ban is not None
        lengths.append((ban.ends_at - ban.starts_at) / timedelta(hours=1))
        bans.append(PastBan(ban.level, ban.starts_at, ban.ends_at))
        at = ban.ends_at + timedelta(days=1)
    assert lengths == [24, 72, 168, 168]


def test_no_new_ban_while_one_runs() -> None:
    bans = [PastBan(1, NOW, NOW + timedelta(hours=24))]
    later = NOW + timedelta(hours=1)
    assert spam_ban(_reports(5, later, sent=later), bans, later, RULES) is None


def test_reports_on_inmails_sent_before_the_last_ban_do_not_count_again() -> None:
    bans = [PastBan(1, NOW, NOW + timedelta(hours=24))]
    later = NOW + timedelta(days=2)
    before_ban = NOW - timedelta(hours=2)
    assert spam_ban(_reports(3, later, sent=before_ban), bans, later, RULES) is None
    after_ban = NOW + timedelta(days=1, hours=1)
    ban = spam_ban(_reports(3, later, sent=after_ban), bans, later, RULES)
    assert ban is not None
    assert ban.level == 2


def test_the_ladder_resets_90_days_after_the_last_ban_ended() -> None:
    bans = [PastBan(2, NOW, NOW + timedelta(hours=72))]
    ended = NOW + timedelta(hours=72)
    assert ladder_level(bans, ended + timedelta(days=90) - timedelta(seconds=1), RULES) == 2
    assert ladder_level(bans, ended + timedelta(days=90), RULES) == 0
    later = ended + timedelta(days=90)
    ban = spam_ban(_reports(3, later), bans, later, RULES)
    assert ban is not None
    assert ban.level == 1


def test_an_overturned_ban_is_not_a_step() -> None:
    bans = [
        PastBan(1, NOW, NOW + timedelta(hours=24)),
        PastBan(2, NOW + timedelta(days=2), NOW + timedelta(days=5), overturned=True),
    ]
    later = NOW + timedelta(days=6)
    assert ladder_level(bans, later, RULES) == 1
    ban = spam_ban(_reports(3, later), bans, later, RULES)
    assert ban is not None
    assert (ban.level, ban.ends_at - ban.starts_at) == (2, timedelta(hours=72))


def test_an_overturned_ban_does_not_block_a_new_one() -> None:
    bans = [PastBan(1, NOW, NOW + timedelta(hours=24), overturned=True)]
    later = NOW + timedelta(hours=2)
    assert spam_ban(_reports(3, later), bans, later, RULES) is not None


@pytest.mark.parametrize(
    "bad",
    [{"ban_hours": ()}, {"ban_hours": (0,)}, {"floor": 1.5}, {"min_sent": 0}],
)
def test_impossible_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"ban_hours|floor|at least 1"):
        ReputationRules(**bad)  # type: ignore[arg-type]


def test_a_ban_near_the_end_of_time_ends_with_it() -> None:
    """A ban whose hours run past 9999-12-31 ends at the last moment, not in an overflow."""
    near_end = datetime(9999, 12, 31, 12, tzinfo=UTC)
    ban = spam_ban(_reports(3, near_end), [], near_end, RULES)
    assert ban is not None
    assert ban.ends_at == LATEST
