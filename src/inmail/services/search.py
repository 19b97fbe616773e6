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

from sqlalchemy import Connection

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
from inmail.services import reach_many
from inmail.services.context import Deps, current_account, is_due
from inmail.services.quote import CheapestWay, cheapest_ways
from inmail.services.seats import Payer, payer_as_of, read_payer
from inmail.store import accounts as account_store
from inmail.store import members as member_store
from inmail.store import reach as reach_store
from inmail.store import search as search_store
from inmail.store import social
from inmail.store.members import MemberRecord
from inmail.store.reach import Recipient
from inmail.store.search import Scope
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
    what :func:`quote.quote` would answer for them: a team seat holder's is priced on the
    team's plan, from its pool, within the seat's monthly cap (``seats.Payer``). One read
    transaction, unless the viewer, their team's pool or someone on the page has a renewal
    due (it is applied first, as the quote does). Raises ValidationError naming the
    parameter (``q``, ``company``, ``school``, ``interest``, ``degree``).
    """
    search = member_search(q=q, company=company, school=school, interest=interest)
    found = _Search(search, as_handle(q), _scope(check_degree(degree)), {"viewer": viewer})
    # Search may lag the primary (docs/rules.md, "Reads from the replica"): the quotes it
    # shows decide nothing, the send quotes again. A lagging replica shows an older
    # next_due_at, so a renewal it has not seen yet looks due and is applied below.
    with deps.db.read_stale() as conn:
        held = account_store.read_account_with_book(conn, viewer, deps.plans.lookup(conn))
        hits = found.hits(conn, after, limit)
        people = reach_many.recipients(conn, [owner for _, owner in hits])
        due = [r.record.id for r in people.values() if is_due(r.record.plan_due_at, now)]
        if held is not None and not due:
            own, book = held
            payer = read_payer(deps, conn, own, now, book=book)  # a seat: the pool pays
            if not payer.due(now):
                return _member_page(deps, conn, payer, hits, people, limit, now)
    payer = payer_as_of(deps, viewer, now)  # raises UnknownMember
    for member_id in due:  # their plan decides their Open Profile: apply their renewals first
        current_account(deps, member_id, now)
    with deps.db.read() as conn:
        people = reach_many.recipients(conn, list(people))
        return _member_page(deps, conn, payer, hits, people, limit, now)


def _member_page(
    deps: Deps,
    conn: Connection,
    payer: Payer,
    hits: list[Hit],
    people: dict[str, Recipient],
    limit: int,
    now: datetime,
) -> MemberPage:
    ways = cheapest_ways(deps, conn, payer, people, now)
    items = [
        FoundMember(people[i].record, ways[i].degree, ways[i].way)
        for _, i in hits
        if i in people and i in ways
    ]
    return MemberPage(items, _next(hits, limit))


def _next(hits: Sequence[Hit], limit: int) -> Position | None:
    return hits[-1][0] if len(hits) == limit else None


def _scope(degree: int | None) -> Scope:
    """Who a member's search may find (over the bound ``viewer``): never themself or anyone
    blocked either way; at ``degree`` 1 or 2, only among those; at 3, outside them."""
    hidden = reach_store.HIDDEN
    if degree == 1:
        return Scope(among=(reach_store.CONNECTIONS,), excluding=(hidden,))
    if degree == 2:  # too many to look at one by one: checked on what the words find
        return Scope(within=(reach_store.SECOND_DEGREE,), excluding=(hidden,))
    if degree == 3:  # outside: not the viewer, their connections or anyone connected to those
        return Scope(excluding=(hidden, reach_store.CONNECTIONS, reach_store.AROUND))
    return Scope(excluding=(hidden,))


@dataclass(frozen=True, slots=True)
class _Search:
    """A search of members in tiers: the member whose handle is the search box (if any),
    then each tier of ``search``, in index order, within ``scope``."""

    search: TextSearch
    handle: str | None
    scope: Scope
    values: dict[str, str]

    def hits(self, conn: Connection, after: Position | None, limit: int) -> list[Hit]:
        """The next ``limit`` results after ``after``."""
        found: list[Hit] = []
        scope, values = self.scope, self.values
        handle_id = None
        if self.handle and self.search.words:
            handle_id = member_store.id_by_handle(conn, self.handle)
        if handle_id is not None:
            values = values | {"skip": handle_id}
            if after is None or after.tier == Tier.HANDLE:
                only = Scope((search_store.SKIPPED, *scope.among), scope.within, scope.excluding)
                start = after.seq if after else 0
                match = Match(self.search.filters)
                hits = search_store.find(
                    conn,
                    search_store.MEMBERS,
                    match,
                    after=start,
                    limit=1,
                    scope=only,
                    values=values,
                )
                found += [(Position(Tier.HANDLE, s), o) for s, o in hits]
            # Found first (or not at all: then no other tier would find them either).
            scope = Scope(scope.among, scope.within, (*scope.excluding, search_store.SKIPPED))
        tiers = _Tiers(self.search.tiers(), scope, values)
        return found + tiers.page(conn, search_store.MEMBERS, after, limit - len(found))


@dataclass(frozen=True, slots=True)
class _Tiers:
    tiers: tuple[tuple[Tier, Match], ...]
    scope: Scope = search_store.EVERYONE
    values: dict[str, str] | None = None

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
                scope=self.scope,
                values=self.values,
                rare=tier == Tier.NAME and not _short(match),
            )
            found += [(Position(tier, s), o) for s, o in hits]
        return found


SHORT_PREFIX = 2  # letters: a name word this short starts a few % of all names (issue 10)


def _short(match: Match) -> bool:
    """Whether a word of ``match`` is a prefix of at most :data:`SHORT_PREFIX` letters.

    Few names hold a given word, so a name's words go to the word index at once (no walk
    to fill a page): but two letters typed start some 1-8 % of the names on a big graph,
    where the next rows in order fill a page sooner than the index's thousands of matches
    are fetched and sorted. The results are the same either way; only the work differs.
    """
    return any(len(word.partition(":")[2] or word) <= SHORT_PREFIX for word in match.required)


def search_records(
    deps: Deps, *, text: str, limit: int, viewer: str | None = None
) -> list[MemberRecord]:
    """The first ``limit`` members the search box ``text`` finds, as stored (no quote):
    for the operator (``viewer`` None: everyone) and the network page."""
    scope = search_store.EVERYONE if viewer is None else _scope(None)
    found = _Search(member_search(q=text), as_handle(text), scope, {"viewer": viewer or ""})
    with deps.db.read_stale() as conn:  # search may lag the primary (docs/rules.md)
        hits = found.hits(conn, None, limit)
        people = reach_many.recipients(conn, [o for _, o in hits])
    return [people[o].record for _, o in hits if o in people]


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
    with deps.db.read_stale() as conn:  # search may lag the primary (docs/rules.md)
        tiers = _Tiers(search.tiers())
        hits = tiers.page(conn, search_store.GROUPS, after, limit)
        ids = [owner for _, owner in hits]
        found = social.groups_by_id(conn, ids)
        counts = social.member_counts(conn, ids)
        mine = social.memberships_in(conn, viewer, ids)
    items = [FoundGroup(found[i], counts.get(i, 0), mine.get(i)) for i in ids if i in found]
    return GroupPage(items, _next(hits, limit))
