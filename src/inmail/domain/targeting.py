"""Targeting: who is likely to answer, ranked by a documented score (SPEC §8, docs/targeting.md).

The services gather, in a few batched queries, the facts about each candidate
(:class:`Candidate`); everything decided from them is here: the points each
fact earns (:class:`Weights`, every number a deployment setting), the
candidate's InMail history as a coarse bucket (:func:`answer_bucket`: never
another member's exact figures), the reasons in plain sentences, and the
order. Candidates are ranked by

1. a tier: reachable (0); an InMail of yours awaits their response (1); not
   reachable at all (2); they declined your InMail before (3, always last);
2. the score, highest first;
3. the number of mutual connections, most first;
4. the member id, so the order is total and a page cursor is exact.

    rank(candidates, me=profile, rules=rules, now=now) -> [Ranked, ...]   # in order
    page(ranked, after=key, limit=50) -> ([Ranked, ...], next key or None)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from functools import lru_cache

from inmail.domain.errors import (
    DomainError,
    InmailNotOnPlan,
    RecipientBlockedByYou,
    RecipientNotAcceptingInmail,
    ValidationError,
)
from inmail.domain.messaging import RESPONSE_WINDOW, Channel, Reach, Route, cheapest_route
from inmail.domain.text import TextRule

QUERY_MAX = 100
QUERY = TextRule(QUERY_MAX)  # the search text that picks the candidates
CANDIDATES_MAX = 200  # ids one request may name; more is a 422
POOL_MAX = 200  # candidates a search or the default pool (2nd degree) ranks at most
DEFAULT_LIMIT = 50
NAMES_SHOWN = 3  # mutual connections and groups named in a reason, the rest counted
WEIGHT_BOUND = 1000  # a configured weight lies in [-1000, 1000]; a cap in [0, 1000]


class Answers(StrEnum):
    """How often a candidate answers the InMail they receive, as a bucket only."""

    MOST = "most"
    SOME = "some"
    RARELY = "rarely"
    UNKNOWN = "not_enough_history"


class Tier(IntEnum):
    """Ranked before the score: a lower tier always comes first."""

    REACHABLE = 0
    AWAITING = 1  # an InMail of yours awaits their response: a follow-up, not a new InMail
    UNREACHABLE = 2  # no channel reaches them (InMail off, blocked, or not on your plan)
    DECLINED = 3  # they declined your InMail before: always last


@dataclass(frozen=True, slots=True)
class Weights:
    """Points per fact (integers; negative ones lower the score) and how many count.

    ``*_counted`` caps how many mutual connections, shared groups and shared
    interests earn points, so one fact piled high cannot drown the others.
    """

    connection: int = 10
    replied_before: int = 8  # they replied to an InMail of yours before
    mutual_connection: int = 3
    mutual_connections_counted: int = 5
    shared_group: int = 4
    shared_groups_counted: int = 3
    same_company: int = 6
    same_school: int = 5
    shared_interest: int = 2
    shared_interests_counted: int = 3
    open_profile: int = 4
    answers_most: int = 8
    answers_some: int = 3
    rarely_answers: int = -6
    recently_active: int = 4


@dataclass(frozen=True, slots=True)
class TargetingRules:
    """The score's weights and the terms of the history and activity facts.

    - ``min_history``: InMails a candidate must have had counted (answered,
      declined, or older than the 30-day response window) before their bucket
      is more than "not enough history";
    - ``history_days``: only the InMails they received within that many days count;
    - ``most_percent`` / ``some_percent``: the share of counted InMails they
      replied to within the window that makes "most" / "some" (below: "rarely");
    - ``active_days``: a message sent or a post or comment written within that
      many days makes a candidate "recently active".
    """

    weights: Weights = Weights()
    active_days: int = 30
    min_history: int = 5
    history_days: int = 365
    most_percent: int = 50
    some_percent: int = 20

    @classmethod
    def configured(cls, weights: Mapping[str, int] | None = None, **terms: int) -> TargetingRules:
        """Rules with some weights and terms changed; ValidationError names a wrong one."""
        known = {f.name for f in fields(Weights)}
        for name, value in (weights or {}).items():
            if name not in known:
                raise ValidationError(
                    f"there is no targeting weight {name!r}; the weights are "
                    + ", ".join(sorted(known)),
                    field="targeting_weights",
                )
            low = 0 if name.endswith("_counted") else -WEIGHT_BOUND
            if not isinstance(value, int) or not low <= value <= WEIGHT_BOUND:
                raise ValidationError(
                    f"targeting weight {name} must be an integer from {low} to {WEIGHT_BOUND}",
                    field="targeting_weights",
                )
        rules = cls(replace(Weights(), **(weights or {})), **terms)
        rules.check()
        return rules

    def check(self) -> None:
        """The terms make sense: positive counts and days, 0 < some <= most <= 100 percent."""
        if not 1 <= self.active_days <= 36_500:
            raise ValidationError("active_days is from 1 to 36500", field="targeting_active_days")
        if not 1 <= self.min_history <= 10_000:
            raise ValidationError("min_history is from 1 to 10000", field="targeting_min_history")
        if not 1 <= self.history_days <= 36_500:
            raise ValidationError("history_days is from 1 to 36500", field="targeting_history_days")
        if not 0 < self.some_percent <= self.most_percent <= 100:
            raise ValidationError(
                "the percentages need 0 < some <= most <= 100", field="targeting_most_percent"
            )


DEFAULT_RULES = TargetingRules()


@dataclass(frozen=True, slots=True)
class Profile:
    """What two members' profiles may share."""

    company: str = ""
    school: str = ""
    interests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Received:
    """One InMail thread a candidate received: when it came, and how it was answered."""

    sent_at: datetime
    replied_at: datetime | None = None  # their reply, if they replied
    declined_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """Everything known about one candidate, from the caller's point of view.

    ``mutual_names`` are the names of the first few mutual connections (by member
    id) out of ``mutual_count``; ``received`` their most recent InMail threads
    received (from anyone); ``last_active_at`` their latest message, post or
    comment since :func:`active_since` (None: none since).
    """

    member_id: str
    profile: Profile
    reach: Reach
    mutual_count: int = 0
    mutual_names: tuple[str, ...] = ()
    shared_groups: tuple[str, ...] = ()  # group names, in order
    received: tuple[Received, ...] = ()
    last_active_at: datetime | None = None
    replied_to_you: bool = False  # an InMail of yours that they replied to
    declined_you_at: datetime | None = None  # their latest decline of an InMail of yours
    awaiting_since: datetime | None = None  # an InMail of yours still awaiting their response


@dataclass(frozen=True, slots=True, order=True)
class RankKey:
    """Where a candidate stands in the order (and what a page cursor holds)."""

    tier: int
    minus_score: int
    minus_mutuals: int
    member_id: str

    @classmethod
    def of(cls, tier: int, score: int, mutuals: int, member_id: str) -> RankKey:
        return cls(tier, -score, -mutuals, member_id)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One candidate's place: score, tier, reasons (plain sentences), and how to reach them.

    ``channel``/``cost_credits`` are the cost preview's (SPEC §7): the cheapest
    channel, or InMail at the plan's cost when none reaches them (``reachable``
    false; the reasons say why).
    """

    member_id: str
    score: int
    tier: Tier
    reasons: tuple[str, ...]
    answers: Answers
    channel: Channel
    cost_credits: int
    reachable: bool
    connected: bool
    mutual_count: int

    @property
    def key(self) -> RankKey:
        return RankKey.of(self.tier, self.score, self.mutual_count, self.member_id)

    @property
    def degree(self) -> int:
        """1, 2, or 3 for "3rd or further", as the member views show it."""
        return 1 if self.connected else 2 if self.mutual_count else 3


def check_candidates(candidates: Sequence[str] | None, q: str | None) -> list[str] | None:
    """The candidate ids to rank, duplicates merged (first place kept); None: not given.

    Raises ValidationError: both ``candidates`` and ``q`` given, an empty list,
    or more than :data:`CANDIDATES_MAX` ids.
    """
    if candidates is not None and q is not None:
        raise ValidationError(
            "give candidates or q, not both (leave both out to rank your 2nd-degree network)",
            field="q",
        )
    if candidates is None:
        return None
    if not candidates:
        raise ValidationError(
            "candidates is empty: name at least one member, or leave it out", field="candidates"
        )
    if len(candidates) > CANDIDATES_MAX:
        raise ValidationError(
            f"candidates holds {len(candidates)} ids: at most {CANDIDATES_MAX}",
            field="candidates",
        )
    return list(dict.fromkeys(candidates))


def listed(items: Sequence[str], shown: int = NAMES_SHOWN) -> str:
    """Items as English lists them: A; A and B; A, B and C; A, B, C and 2 more."""
    if len(items) > shown:
        return f"{', '.join(items[:shown])} and {len(items) - shown} more"
    if len(items) <= 2:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


@lru_cache(maxsize=4096)  # the caller's own values are folded once per candidate
def _fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a profile value, for comparing."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def same_value(mine: str, theirs: str) -> bool:
    """Two profile values name the same thing; an empty one never matches."""
    folded = _fold(mine)
    return bool(folded) and folded == _fold(theirs)


def shared_interests(mine: Iterable[str], theirs: Iterable[str]) -> tuple[str, ...]:
    """Their interests that are also mine (compared folded), in their words and order."""
    folded = {_fold(i) for i in mine} - {""}
    seen: set[str] = set()
    shared = []
    for interest in theirs:
        key = _fold(interest)
        if key in folded and key not in seen:
            seen.add(key)
            shared.append(interest)
    return tuple(shared)


def answer_bucket(
    received: Iterable[Received], now: datetime, rules: TargetingRules = DEFAULT_RULES
) -> Answers:
    """How often they answer InMail, from their InMail threads received (SPEC §5's window).

    Of the threads sent within ``history_days``, a thread counts once it was replied
    to or declined, or is older than the 30-day window; it is a reply when they
    replied within the window. Declines count against: a decline is a response, but
    not an answer. With fewer than
    ``min_history`` counted threads, the bucket is :attr:`Answers.UNKNOWN`.
    Only the bucket leaves this function, never the figures behind it.
    """
    counted = replied = 0
    since = history_since(now, rules)
    for inmail in received:
        if inmail.sent_at < since:
            continue  # older history does not count
        answered = inmail.replied_at is not None or inmail.declined_at is not None
        if not answered and now - inmail.sent_at <= RESPONSE_WINDOW:
            continue  # still within its window: too early to judge
        counted += 1
        if inmail.replied_at is not None and inmail.replied_at - inmail.sent_at <= RESPONSE_WINDOW:
            replied += 1
    if counted < rules.min_history:
        return Answers.UNKNOWN
    if replied * 100 >= rules.most_percent * counted:
        return Answers.MOST
    if replied * 100 >= rules.some_percent * counted:
        return Answers.SOME
    return Answers.RARELY


def history_since(now: datetime, rules: TargetingRules = DEFAULT_RULES) -> datetime:
    """The earliest InMail received that still counts in a member's history."""
    return now - timedelta(days=rules.history_days)


def active_since(now: datetime, rules: TargetingRules = DEFAULT_RULES) -> datetime:
    """The earliest activity that still makes a member "recently active"."""
    return now - timedelta(days=rules.active_days)


ANSWER_REASONS = {
    Answers.MOST: "answers most InMail they receive",
    Answers.SOME: "answers some InMail they receive",
    Answers.RARELY: "rarely answers InMail",
    Answers.UNKNOWN: "not enough InMail history to say how often they answer",
}
FREE_REASONS = {
    Channel.MESSAGE: "free: a 1st-degree connection, so a message costs nothing",
    Channel.CONVERSATION: "free: you have an open conversation with them",
    Channel.GROUP_MESSAGE: "free: you can message them in a group you share",
    Channel.OPEN_PROFILE: "free: their profile is open (Open Profile), so InMail costs nothing",
}


def route_for(reach: Reach) -> Route | DomainError:
    """The cost preview's cheapest route (SPEC §7), or the refusal when none reaches them.

    A block either way leaves no route, even to a connection (a message would be
    refused). Their block is told in the words of InMail turned off, so nobody learns
    who blocked them; the member's own block is told as theirs (RecipientBlockedByYou).
    """
    if reach.blocked and not reach.you_blocked:
        return RecipientNotAcceptingInmail("they do not accept InMail from you")
    try:
        return cheapest_route(reach)
    except DomainError as refusal:
        return refusal


def _unreachable(refusal: DomainError, candidate: Candidate) -> str:
    if isinstance(refusal, InmailNotOnPlan):
        why = f"the {candidate.reach.sender_plan.name} plan does not include InMail"
        if candidate.mutual_names:
            why += f"; ask {candidate.mutual_names[0]} for an introduction (free)"
        return f"not reachable: {why}"
    if isinstance(refusal, RecipientBlockedByYou):
        return "not reachable: you blocked this member (unblock them to write)"
    return "not reachable: they do not accept InMail from you"


def _tier(candidate: Candidate, reachable: bool) -> Tier:
    if candidate.declined_you_at is not None:
        return Tier.DECLINED
    if not reachable:
        return Tier.UNREACHABLE
    if candidate.awaiting_since is not None:
        return Tier.AWAITING
    return Tier.REACHABLE


def _tier_reasons(candidate: Candidate, refusal: DomainError | None) -> list[str]:
    reasons = []
    if candidate.declined_you_at is not None:
        on = candidate.declined_you_at.date().isoformat()
        reasons.append(f"they declined your InMail on {on}: ranked last")
    if refusal is not None:
        reasons.append(_unreachable(refusal, candidate))
    elif candidate.awaiting_since is not None:
        since = candidate.awaiting_since.date().isoformat()
        reasons.append(
            f"your InMail of {since} still awaits their response: "
            "follow it up rather than write again"
        )
    return reasons


@dataclass(slots=True)
class _Tally:
    """The score so far and the sentences that explain it."""

    reasons: list[str]
    score: int = 0

    def add(self, points: int, reason: str | None) -> None:
        """Points for a fact, and its sentence (None: another sentence says it already)."""
        self.score += points
        if reason is not None:
            self.reasons.append(reason)


def _relationship(t: _Tally, c: Candidate, route: Route | None, w: Weights) -> None:
    if c.reach.connected:
        free_message = route is not None and route.channel is Channel.MESSAGE
        t.add(w.connection, None if free_message else "you are connected (1st degree)")
    if c.replied_to_you:
        t.add(w.replied_before, "they replied to your InMail before")
    if c.mutual_count:
        noun = "mutual connection" if c.mutual_count == 1 else "mutual connections"
        names = list(c.mutual_names[:NAMES_SHOWN])
        more = c.mutual_count - len(names)
        named = ", ".join(names) + (f" and {more} more" if more and names else "")
        counted = min(c.mutual_count, w.mutual_connections_counted)
        sentence = f"{c.mutual_count} {noun}: {named}" if names else f"{c.mutual_count} {noun}"
        t.add(w.mutual_connection * counted, sentence)


def _shared(t: _Tally, c: Candidate, me: Profile, w: Weights) -> None:
    groups = list(c.shared_groups)
    if groups:
        many = f"{len(groups)} groups: " if len(groups) > NAMES_SHOWN else ""
        counted = min(len(groups), w.shared_groups_counted)
        t.add(w.shared_group * counted, f"you are both in {many}{listed(groups)}")
    if same_value(me.company, c.profile.company):
        t.add(w.same_company, f"you both work at {c.profile.company.strip()}")
    if same_value(me.school, c.profile.school):
        t.add(w.same_school, f"you both went to {c.profile.school.strip()}")
    interests = shared_interests(me.interests, c.profile.interests)
    if interests:
        noun = "an interest" if len(interests) == 1 else "interests"
        counted = min(len(interests), w.shared_interests_counted)
        t.add(w.shared_interest * counted, f"you share {noun}: {', '.join(interests)}")


def _behaviour(
    t: _Tally, c: Candidate, route: Route | None, rules: TargetingRules, now: datetime
) -> Answers:
    w = rules.weights
    if c.reach.recipient_open_profile:
        said = route is not None and route.channel is Channel.OPEN_PROFILE
        t.add(w.open_profile, None if said else "their profile is open (Open Profile)")
    answers = answer_bucket(c.received, now, rules)
    points = {
        Answers.MOST: w.answers_most,
        Answers.SOME: w.answers_some,
        Answers.RARELY: w.rarely_answers,
    }.get(answers, 0)
    t.add(points, ANSWER_REASONS[answers])
    if c.last_active_at is not None and c.last_active_at >= active_since(now, rules):
        t.add(w.recently_active, f"active in the last {rules.active_days} days")
    return answers


def score(candidate: Candidate, *, me: Profile, rules: TargetingRules, now: datetime) -> Ranked:
    """One candidate's score, tier and reasons. The reasons come in this order: the tier's
    (declined, not reachable, awaiting), the free route, then the facts in the order of
    docs/targeting.md's table."""
    found = route_for(candidate.reach)
    route = found if isinstance(found, Route) else None
    refusal = found if isinstance(found, DomainError) else None
    tally = _Tally(_tier_reasons(candidate, refusal))
    if route is not None and route.cost == 0:
        tally.reasons.append(FREE_REASONS.get(route.channel, f"free: {route.reason}"))
    _relationship(tally, candidate, route, rules.weights)
    _shared(tally, candidate, me, rules.weights)
    answers = _behaviour(tally, candidate, route, rules, now)
    return Ranked(
        member_id=candidate.member_id,
        score=tally.score,
        tier=_tier(candidate, route is not None),
        reasons=tuple(tally.reasons),
        answers=answers,
        channel=route.channel if route is not None else Channel.INMAIL,
        cost_credits=route.cost if route is not None else candidate.reach.sender_plan.inmail_cost,
        reachable=route is not None,
        connected=candidate.reach.connected,
        mutual_count=candidate.mutual_count,
    )


def rank(
    candidates: Iterable[Candidate], *, me: Profile, rules: TargetingRules, now: datetime
) -> list[Ranked]:
    """Every candidate scored, in the order of the module docstring."""
    scored = [score(c, me=me, rules=rules, now=now) for c in candidates]
    return sorted(scored, key=lambda r: r.key)


def page(
    ranked: Sequence[Ranked], *, after: RankKey | None, limit: int
) -> tuple[list[Ranked], RankKey | None]:
    """The ``limit`` candidates ranked after ``after`` (from the top without it) and the
    key to continue from, or None when none are left."""
    rest = [r for r in ranked if after is None or r.key > after]
    shown = rest[:limit]
    return shown, (shown[-1].key if len(rest) > limit else None)
