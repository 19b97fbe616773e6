"""Finding people and groups (issue 10 §1; docs/rules.md "Finding people and groups").

A page of members comes with each one's degree and the cheapest way to reach
them, exactly as the quote (``services.quote``) would give it for that person,
gathered for the whole page at once. A page of groups comes with each one's
size and the caller's membership. What matches and in which order is
``domain.search``; finding the words is ``store.search``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, literal, select, union

from inmail.domain.search import (
    Match,
    Position,
    TextSearch,
    Tier,
    as_handle,
    check_degree,
    member_search,
    text_search,
)
from inmail.services.context import Deps, current_account, is_due
from inmail.services.quote import CheapestWay, cheapest_ways
from inmail.store import members as member_store
from inmail.store import reach as reach_store
from inmail.store import search as search_store
from inmail.store import social
from inmail.store.accounts import Account
from inmail.store.members import MemberRecord
from inmail.store.social import Group

Hit = tuple[Position, str]  # where a result is, and its id


@dataclass(frozen=True, slots=True)
class FoundMember:
    member: MemberRecord  # with the plan they are on now
    degree: int  # 1, 2, or 3 for the 3rd degree or further
    way: CheapestWay


@dataclass(frozen=True, slots=True)
class MemberPage:
    items: list[FoundMember]
    next: Position | None  # where the next page starts; None when this page was not full


def find_members(
    deps: Deps,
    *,
    viewer: str,
    now: datetime,
    q: str = "",
    company: str = "",
    school: str = "",
    interest: str = "",
    degree: int | None = None,
    after: Position | None = None,
    limit: int = 50,
) -> MemberPage:
    """Members whose profile holds the words of ``q`` and of each filter, best matches first.

    ``degree``: only members at that degree from the viewer (3: the 3rd or further).
    The viewer and members blocked either way are never found. Each result carries
    what :func:`quote.quote` would answer for them. Raises ValidationError naming
    the parameter (``q``, ``company``, ``school``, ``interest``, ``degree``).
    """
    search = member_search(q=q, company=company, school=school, interest=interest)
    check_degree(degree)
    sender = current_account(deps, viewer, now)
    scope = _Scope.of(viewer, degree)
    with deps.db.read() as conn:
        hits = member_hits(conn, search, as_handle(q), scope, after, limit)
        ids = [owner for _, owner in hits]
        due = [r.id for r in member_store.members_by_id(conn, ids) if is_due(r.plan_due_at, now)]
        if not due:
            return _member_page(deps, conn, sender, hits, limit, now)
    for member_id in due:  # their plan decides their Open Profile: apply their renewals first
        current_account(deps, member_id, now)
    with deps.db.read() as conn:
        return _member_page(deps, conn, sender, hits, limit, now)


def _member_page(
    deps: Deps, conn: Connection, sender: Account, hits: list[Hit], limit: int, now: datetime
) -> MemberPage:
    ids = [owner for _, owner in hits]
    records = {r.id: r for r in member_store.members_by_id(conn, ids)}
    ways = cheapest_ways(deps, conn, sender, ids, now)
    items = [
        FoundMember(records[i], ways[i].degree, ways[i].way)
        for i in ids
        if i in records and i in ways
    ]
    return MemberPage(items, _next(hits, limit))


def _next(hits: Sequence[Hit], limit: int) -> Position | None:
    return hits[-1][0] if len(hits) == limit else None


@dataclass(frozen=True, slots=True)
class _Scope:
    """Which members a viewer's search may find: ``among`` them only (if set), never
    ``excluding`` (themself, blocks either way, and the network for the 3rd degree)."""

    among: Select[Any] | None
    excluding: Select[Any] | None

    @classmethod
    def of(cls, viewer: str | None, degree: int | None) -> _Scope:
        if viewer is None:  # the operator's search: everyone
            return cls(None, None)
        hidden = reach_store.hidden_from(viewer)
        if degree == 1:
            return cls(reach_store.connection_ids(viewer), hidden)
        if degree == 2:
            return cls(reach_store.second_degree_ids(viewer), hidden)
        if degree == 3:
            outside = union(hidden, reach_store.in_network_ids(viewer)).subquery().select()
            return cls(None, outside)
        return cls(None, hidden)


def member_hits(
    conn: Connection,
    search: TextSearch,
    handle: str | None,
    scope: _Scope,
    after: Position | None,
    limit: int,
) -> list[Hit]:
    """The next ``limit`` results after ``after``: the member whose handle is the search
    box (if any), then each tier of ``search`` in index order."""
    found: list[Hit] = []
    excluding = scope.excluding
    handle_id = member_store.id_by_handle(conn, handle) if handle and search.words else None
    if handle_id is not None:
        if after is None or after.tier == Tier.HANDLE:
            only = select(literal(handle_id))
            if scope.among is not None:
                only = only.where(literal(handle_id).in_(scope.among))
            match = Match(search.filters)
            start = after.seq if after else 0
            hits = search_store.find(
                conn,
                search_store.MEMBERS,
                match,
                after=start,
                limit=1,
                among=only,
                excluding=excluding,
            )
            found += [(Position(Tier.HANDLE, s), o) for s, o in hits]
        # Found first (or not at all: then no other tier would find them either).
        gone = select(literal(handle_id))
        excluding = gone if excluding is None else union(excluding, gone).subquery().select()
    tiers = _Tiers(search.tiers(), scope.among, excluding)
    return found + tiers.page(conn, search_store.MEMBERS, after, limit - len(found))


@dataclass(frozen=True, slots=True)
class _Tiers:
    tiers: tuple[tuple[Tier, Match], ...]
    among: Select[Any] | None
    excluding: Select[Any] | None

    def page(
        self, conn: Connection, index: search_store.Index, after: Position | None, limit: int
    ) -> list[Hit]:
        found: list[Hit] = []
        for tier, match in self.tiers:
            if len(found) >= limit or (after is not None and tier < after.tier):
                continue
            start = after.seq if after is not None and tier == after.tier else 0
            hits = search_store.find(
                conn,
                index,
                match,
                after=start,
                limit=limit - len(found),
                among=self.among,
                excluding=self.excluding,
            )
            found += [(Position(tier, s), o) for s, o in hits]
        return found


def search_records(
    deps: Deps, *, text: str, limit: int, viewer: str | None = None
) -> list[MemberRecord]:
    """The first ``limit`` members the search box ``text`` finds, as stored (no quote):
    for the operator (``viewer`` None: everyone) and the network page."""
    search = member_search(q=text)
    scope = _Scope.of(viewer, None)
    with deps.db.read() as conn:
        hits = member_hits(conn, search, as_handle(text), scope, None, limit)
        records = {r.id: r for r in member_store.members_by_id(conn, [o for _, o in hits])}
    return [records[o] for _, o in hits if o in records]


# --- Groups --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundGroup:
    group: Group
    member_count: int
    membership: str | None  # the viewer's: 'member', 'pending' (asked to join) or None


@dataclass(frozen=True, slots=True)
class GroupPage:
    items: list[FoundGroup]
    next: Position | None


def find_groups(
    deps: Deps, *, viewer: str, q: str = "", after: Position | None = None, limit: int = 50
) -> GroupPage:
    """Groups whose name or description holds the words of ``q``, name matches first.

    Raises ValidationError naming ``q``.
    """
    search = text_search(q)
    with deps.db.read() as conn:
        tiers = _Tiers(search.tiers(), None, None)
        hits = tiers.page(conn, search_store.GROUPS, after, limit)
        ids = [owner for _, owner in hits]
        found = social.groups_by_id(conn, ids)
        counts = social.member_counts(conn, ids)
        mine = social.memberships_in(conn, viewer, ids)
    items = [FoundGroup(found[i], counts.get(i, 0), mine.get(i)) for i in ids if i in found]
    return GroupPage(items, _next(hits, limit))
