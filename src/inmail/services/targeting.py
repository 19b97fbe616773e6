"""Who is likely to answer: ranking candidate recipients for a member (SPEC §8, docs/targeting.md).

The candidates are the ids a member names, the members a search text finds, or by
default their 2nd-degree network. Their facts are read in one transaction, a fixed
handful of batched queries for all of them (:mod:`inmail.store.targeting`); the
score, reasons and order are :mod:`inmail.domain.targeting`'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.domain.errors import UnknownMember, ValidationError
from inmail.domain.messaging import Reach, ThreadStatus
from inmail.domain.plans import BASIC
from inmail.domain.targeting import (
    DEFAULT_LIMIT,
    NAMES_SHOWN,
    POOL_MAX,
    QUERY,
    Candidate,
    Profile,
    Ranked,
    RankKey,
    Received,
    active_since,
    check_candidates,
    history_since,
    listed,
    page,
    rank,
)
from inmail.services.context import Deps, current_account, holder_account, is_due
from inmail.services.members import search_members
from inmail.services.seats import read_payer
from inmail.store import targeting as facts_store
from inmail.store.accounts import Account
from inmail.store.members import MemberRecord, MessagingSettings
from inmail.store.targeting import Facts, ThreadBetween


@dataclass(frozen=True, slots=True)
class Target:
    member: MemberRecord
    ranked: Ranked


@dataclass(frozen=True, slots=True)
class Targeting:
    """A page of ranked candidates; ``next_key`` continues it (None: nothing more);
    ``pool`` is how many candidates were ranked in all."""

    items: list[Target]
    next_key: RankKey | None
    pool: int


def rank_candidates(
    deps: Deps,
    *,
    member_id: str,
    now: datetime,
    candidates: Sequence[str] | None = None,
    q: str | None = None,
    after: RankKey | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Targeting:
    """The candidates ranked by how likely they are to answer ``member_id``, best first.

    ``candidates`` (ids, at most 200, duplicates merged) or ``q`` (a search text:
    the first 200 members whose name or handle holds it), not both; neither: the
    caller's 2nd-degree network, the 200 with the most mutual connections. Found by a
    search or in the network, members blocked either way are left out; named, they
    are ranked as not reachable. Raises ValidationError (both given, too many, an
    empty list, your own id, unknown ids: ``field`` names it) and UnknownMember
    for an unknown caller.

    Two transactions when nothing is due: the caller's account as of ``now``, then
    one read of the pool and every fact. Candidates whose renewal is due are caught
    up first, as every member read does, and the read is made again; so is the team
    pool of a caller who holds a seat (they send on its plan: ``seats.Payer``).
    """
    require_utc(now)
    wanted = check_candidates(candidates, q)
    if q is not None:
        QUERY.check(q, field="q")
    if wanted is not None and member_id in wanted:
        raise ValidationError(
            f"candidates holds your own id ({member_id}): leave yourself out", field="candidates"
        )
    own = current_account(deps, member_id, now)
    if q is not None:
        found = search_members(deps, text=q, now=now, limit=POOL_MAX + 1)
        wanted = [m.id for m in found if m.id != member_id][:POOL_MAX]
    gathered = _gather(deps, own, wanted, now)
    if gathered.due:
        for due in gathered.due:
            holder_account(deps, due, now)
        gathered = _gather(deps, own, wanted, now)
    facts = gathered.candidates
    if candidates is None:  # a search or the network suggests nobody blocked either way
        facts = [c for c in facts if not c.reach.blocked]
    me = Profile(gathered.me.company, gathered.me.school, gathered.me.interests)
    ranked = rank(facts, me=me, rules=deps.targeting, now=now)
    shown, next_key = page(ranked, after=after, limit=limit)
    return Targeting(
        [Target(gathered.members[r.member_id], r) for r in shown], next_key, len(ranked)
    )


@dataclass(slots=True)
class _Gathered:
    me: MemberRecord
    members: dict[str, MemberRecord]
    candidates: list[Candidate]
    due: list[str]  # holders with a renewal due: catch them up and gather again


def _gather(deps: Deps, own: Account, ids: list[str] | None, now: datetime) -> _Gathered:
    """The pool (``ids``, or the caller's network) and every fact about it, in one read.

    ``own``: the caller's account as of ``now``. Each candidate's reach is priced on the
    plan the caller sends on (their team's while they hold a seat), as the quote does.
    """
    me = own.member_id
    with deps.db.read() as conn:
        payer = read_payer(deps, conn, own, now)
        sender = payer.sender
        if ids is None:
            ids = facts_store.second_degree(conn, me, limit=POOL_MAX)
        found = facts_store.profiles(conn, [*ids, me])
        if me not in found:
            raise UnknownMember(f"there is no member {me!r}")
        _check_known(ids, found)
        members = {i: found[i].member for i in ids}
        due = [i for i in ids if is_due(members[i].plan_due_at, now)]
        if payer.due(now):  # their team pool's renewal: its plan is the one they send on
            due.append(payer.pays.member_id)
        if due or not ids:
            return _Gathered(found[me].member, members, [], due)
        rules = deps.targeting
        since = {"history": history_since(now, rules), "active": active_since(now, rules)}
        facts = facts_store.facts(conn, me, ids, **since)
    between: defaultdict[str, list[ThreadBetween]] = defaultdict(list)
    for thread in facts.between:
        between[thread.other].append(thread)
    received: defaultdict[str, list[Received]] = defaultdict(list)
    for row in facts.received:
        received[row.recipient].append(_received(row.sent_at, row.status, row.responded_at))
    candidates = [
        _candidate(members[i], found[i].settings, facts, between[i], received[i], sender)
        for i in ids
    ]
    return _Gathered(found[me].member, members, candidates, [])


def _check_known(ids: list[str], found: Mapping[str, object]) -> None:
    unknown = [i for i in ids if i not in found]
    if unknown:
        noun = "the id" if len(unknown) == 1 else "the ids"
        raise ValidationError(
            f"candidates: there is no member with {noun} {listed(unknown, 10)}",
            field="candidates",
        )


def member_ids_by_handle(deps: Deps, handles: Sequence[str]) -> tuple[list[str], list[str]]:
    """(ids of the handles that exist, in order, duplicates merged; the handles that do not)."""
    wanted = list(dict.fromkeys(h.removeprefix("@").lower() for h in handles if h.strip("@")))
    with deps.db.read() as conn:
        found = facts_store.ids_by_handle(conn, wanted)
    return [found[h] for h in wanted if h in found], [h for h in wanted if h not in found]


def _candidate(
    member: MemberRecord,
    setting: MessagingSettings,
    facts: Facts,
    between: list[ThreadBetween],
    received: list[Received],
    sender: Account,
) -> Candidate:
    """One candidate's facts (``between``: the threads between us; ``received``: the InMails
    they received); their reach built as the cost preview builds it (reach.py): ``member``
    comes with the plan they are on now (Open Profile counts on a paid plan)."""
    mine, mutuals = between, facts.mutuals
    reach = Reach(
        sender_plan=sender.subscription.plan,
        connected=member.id in facts.connected,
        blocked=member.id in facts.blocked,
        you_blocked=member.id in facts.you_blocked,
        recipient_accepts_inmail=setting.inmail_open,
        recipient_open_profile=setting.open_profile and member.plan != BASIC,
        open_conversation=any(t.status in _OPEN for t in mine),
        group_peer=bool(facts.groups[member.id]) and setting.group_messages_open,
    )
    return Candidate(
        member_id=member.id,
        profile=Profile(member.company, member.school, member.interests),
        reach=reach,
        mutual_count=len(mutuals[member.id]),
        mutual_names=tuple(name for _, name in mutuals[member.id][:NAMES_SHOWN]),
        shared_groups=tuple(facts.groups[member.id]),
        received=tuple(received),
        last_active_at=facts.active.get(member.id),
        replied_to_you=any(t.status == ThreadStatus.ANSWERED for t in _sent(mine)),
        declined_you_at=_declined_at(mine),
        awaiting_since=_awaiting_since(mine),
    )


_OPEN = (ThreadStatus.ANSWERED.value, ThreadStatus.OPEN.value)  # as the cost preview reads it


def _received(sent_at: datetime, status: str, responded_at: datetime | None) -> Received:
    replied = responded_at if status == ThreadStatus.ANSWERED else None
    declined = responded_at if status == ThreadStatus.DECLINED else None
    return Received(sent_at, replied, declined)


def _sent(threads: list[ThreadBetween]) -> list[ThreadBetween]:
    """The InMail threads I started with them."""
    return [t for t in threads if t.mine and t.kind == "inmail"]


def _declined_at(threads: list[ThreadBetween]) -> datetime | None:
    """When they last declined an InMail of mine (None: never)."""
    declined = [t for t in _sent(threads) if t.status == ThreadStatus.DECLINED]
    return max((t.responded_at or t.created_at for t in declined), default=None)


def _awaiting_since(threads: list[ThreadBetween]) -> datetime | None:
    """When the InMail of mine that still awaits their response was sent (None: none)."""
    waiting = [t for t in _sent(threads) if t.status == ThreadStatus.AWAITING_RESPONSE]
    return min((t.created_at for t in waiting), default=None)
