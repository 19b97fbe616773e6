"""Sender reputation (SPEC §10, issue 14 §3): the response-rate floor and spam-report bans.

Pure: no I/O, ``now`` passed in. Two independent rules, each deciding from counts and
times the store gathers:

- **Response-rate floor**: a member who sent at least ``min_sent`` InMails in the last
  ``window_days`` of which under ``floor`` were answered (replied to or declined) is
  *warned*; if, ``grace_days`` or more after the warning, the rate is still under the
  floor, *bulk sending goes off* for ``bulk_off_days`` (1:1 InMail stays allowed).
  A rate back at the floor (or fewer InMails than ``min_sent``) clears a warning.
- **Spam ladder**: ``reports_to_ban`` spam / not-relevant reports within
  ``report_window_days``, on InMails sent after the latest ban began, bring a send ban
  whose length climbs the ladder ``ban_hours`` (24 h, 72 h, a week, then a week again).
  A ban overturned on appeal does not count as a step; the ladder starts again at its
  first step once ``ladder_reset_days`` pass after the latest counted ban ended.

docs/rules.md ("Sender reputation") states each rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from inmail.domain import dates
from inmail.domain.text import TextRule
from inmail.domain.timeline import capped_later


@dataclass(frozen=True, slots=True)
class ReputationRules:
    """Every number of the two rules (settings ``INMAIL_REPUTATION_*``).

    ``floor`` is a fraction (0.13 = 13 %); ``ban_hours`` the ladder's steps in hours.
    """

    min_sent: int = 100
    window_days: int = 14
    floor: float = 0.13
    grace_days: int = 7
    bulk_off_days: int = 14
    reports_to_ban: int = 3
    report_window_days: int = 30
    ban_hours: tuple[int, ...] = (24, 72, 168)
    ladder_reset_days: int = 90

    def __post_init__(self) -> None:
        if not self.ban_hours or min(self.ban_hours) < 1:
            raise ValueError("ban_hours needs at least one step, each at least 1 hour")
        if not 0 <= self.floor <= 1:
            raise ValueError("floor is a fraction between 0 and 1")
        if min(self.min_sent, self.reports_to_ban) < 1:
            raise ValueError("min_sent and reports_to_ban must be at least 1")


DEFAULT_RULES = ReputationRules()

APPEAL_MAX = 2000
APPEAL = TextRule(APPEAL_MAX, multiline=True)
"""A member's appeal of a suspension: why it should be lifted."""


class ReportReason(StrEnum):
    """Why a recipient reported an InMail."""

    SPAM = "spam"
    NOT_RELEVANT = "not_relevant"


# --- the response-rate floor ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateFacts:
    """InMails the member sent in the window (``sent``) and how many of them were answered
    (replied to or declined) by ``now`` (``answered``)."""

    sent: int
    answered: int

    @property
    def rate(self) -> float | None:
        """answered ÷ sent; None when nothing was sent."""
        return None if self.sent == 0 else self.answered / self.sent


def below_floor(facts: RateFacts, rules: ReputationRules) -> bool:
    """At least ``min_sent`` sent and answered ÷ sent strictly under ``floor`` (exact
    fractions: 13 of 100 is not under 13 %)."""
    if facts.sent < rules.min_sent:
        return False
    floor = Fraction(str(rules.floor))
    return Fraction(facts.answered, facts.sent) < floor


@dataclass(frozen=True, slots=True)
class RateState:
    """What is stored of the rule: when the member was warned (None: not warned) and the
    bulk-off period (both None: bulk sending on)."""

    warned_at: datetime | None = None
    bulk_off_from: datetime | None = None
    bulk_off_until: datetime | None = None

    def bulk_off(self, now: datetime) -> bool:
        return self.bulk_off_until is not None and now < self.bulk_off_until


class RateChange(StrEnum):
    """What an evaluation did (None: nothing)."""

    WARNED = "warned"
    BULK_OFF = "bulk_off"
    CLEARED = "cleared"  # a warning withdrawn: the rate recovered
    ENDED = "ended"  # a bulk-off period ran out (not warned again)


def next_rate_state(
    state: RateState, facts: RateFacts, now: datetime, rules: ReputationRules
) -> tuple[RateState, RateChange | None]:
    """The rule applied at ``now`` to what is stored and the window's counts.

    A bulk-off period runs its course whatever the rate does; once it ends the member
    starts afresh (and is warned again at once if still under the floor). Bulk sending
    goes off at the first evaluation ``grace_days`` or more after the warning that still
    finds the rate under the floor, for ``bulk_off_days`` from then.
    """
    if state.bulk_off(now):
        return state, None
    ended = state.bulk_off_until is not None
    fresh = RateState() if ended else state
    below = below_floor(facts, rules)
    if fresh.warned_at is None:
        if below:
            return RateState(warned_at=now), RateChange.WARNED
        return fresh, RateChange.ENDED if ended else None
    if not below:
        return RateState(), RateChange.CLEARED
    if now < capped_later(fresh.warned_at, timedelta(days=rules.grace_days)):
        return fresh, None
    until = capped_later(now, timedelta(days=rules.bulk_off_days))
    return replace(fresh, bulk_off_from=now, bulk_off_until=until), RateChange.BULK_OFF


def bulk_off_reason(facts: RateFacts, rules: ReputationRules) -> str:
    """Why bulk sending is off, in words for the member."""
    percent = f"{rules.floor:.0%}"
    return (
        f"your InMails' response rate stayed under {percent} for {rules.grace_days} days "
        f"after a warning ({facts.answered} of {facts.sent} answered in {rules.window_days} days)"
    )


def warning_text(facts: RateFacts, rules: ReputationRules, warned_at: datetime) -> str:
    """The warning notice's words: the figures and what happens if it persists."""
    off_at = capped_later(warned_at, timedelta(days=rules.grace_days))
    return (
        f"Only {facts.answered} of your last {facts.sent} InMails were answered, under "
        f"{rules.floor:.0%}: if that persists, bulk sending goes off on {dates.day(off_at)}"
    )


# --- the spam ladder ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PastBan:
    """A ban the member had: its ladder ``level`` (1 = first step), when it began and was
    to end, and whether an appeal overturned it."""

    level: int
    starts_at: datetime
    ends_at: datetime
    overturned: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """A report: when it was made and when the reported InMail was sent."""

    at: datetime
    inmail_sent_at: datetime


@dataclass(frozen=True, slots=True)
class BanDecision:
    """A new ban: its ladder ``level``, from ``starts_at`` to ``ends_at``, brought by
    ``reports`` counted reports."""

    level: int
    starts_at: datetime
    ends_at: datetime
    reports: int

    def reason(self, rules: ReputationRules) -> str:
        """Why, in words for the member and the operator."""
        return (
            f"{self.reports} recipients reported InMails as spam or not relevant "
            f"within {rules.report_window_days} days (ban {self.level})"
        )


def counted_reports(
    reports: Sequence[Report], bans: Sequence[PastBan], now: datetime, rules: ReputationRules
) -> int:
    """Reports made within ``report_window_days`` before ``now`` on InMails sent after the
    latest ban (overturned or not) began: a ban answers one wave of reports once."""
    since = now - timedelta(days=rules.report_window_days)
    latest = max((b.starts_at for b in bans), default=None)
    return sum(
        1 for r in reports if since < r.at <= now and (latest is None or r.inmail_sent_at > latest)
    )


def ladder_level(bans: Sequence[PastBan], now: datetime, rules: ReputationRules) -> int:
    """The step the member stands on (0: none): the latest counted ban's level, unless it
    ended ``ladder_reset_days`` or more before ``now``. Overturned bans do not count."""
    counted = [b for b in bans if not b.overturned]
    if not counted:
        return 0
    latest = max(counted, key=lambda b: b.starts_at)
    if now - latest.ends_at >= timedelta(days=rules.ladder_reset_days):
        return 0
    return latest.level


def ban_hours(level: int, rules: ReputationRules) -> int:
    """A ban's length at ladder ``level`` (1-based); past the top, the top step's."""
    return rules.ban_hours[min(level, len(rules.ban_hours)) - 1]


def spam_ban(
    reports: Sequence[Report], bans: Sequence[PastBan], now: datetime, rules: ReputationRules
) -> BanDecision | None:
    """The ban the reports bring at ``now``, or None (too few, or a ban is running)."""
    if any(not b.overturned and b.starts_at <= now < b.ends_at for b in bans):
        return None
    count = counted_reports(reports, bans, now, rules)
    if count < rules.reports_to_ban:
        return None
    level = ladder_level(bans, now, rules) + 1
    return BanDecision(
        level, now, capped_later(now, timedelta(hours=ban_hours(level, rules))), count
    )
