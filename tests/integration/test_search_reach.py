"""A page of search results prices every row as the quote would (issue 10 §1).

On small random worlds (plans, settings, connections, groups, conversations,
blocks, contact info, the viewer's credits and overage, cancelled plans that a
renewal turns into Basic), on SQLite and PostgreSQL:

- ``reach_many.reaches`` builds, for every other member at once, the very
  ``Reach`` that ``reach.gather_reach`` builds for each alone (free routes and all);
- ``quote.cheapest_ways`` answers what ``quote.quote`` answers for each;
- ``search.find_members`` finds exactly the members at each degree (never the
  viewer or anyone blocked either way), each with the quote's answer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inmail.domain.credits import new_id
from inmail.services.contact import put_contact_info
from inmail.services.context import Deps, current_account
from inmail.services.credits import adjust_credits, update_overage_settings
from inmail.services.groups import create_group
from inmail.services.members import create_member
from inmail.services.network import degree_between
from inmail.services.quote import cheapest_ways, quote
from inmail.services.reach import gather_reach, recipient_as_of
from inmail.services.reach_many import reaches, recipients
from inmail.services.search import find_members
from inmail.services.seats import payer_as_of
from inmail.services.settings import update_settings
from inmail.services.subscriptions import change_plan
from inmail.store import messaging as message_store
from inmail.store import network as network_store
from inmail.store import social
from inmail.store.messaging import ThreadRecord
from tests.conftest import T0
from tests.helpers import balance, days

PLANS = ("basic", "premium_business", "recruiter_lite")
STATUSES = ("answered", "open", "awaiting_response", "declined")
VISIBILITIES = ("only_me", "connections", "network", "everyone")
_worlds = itertools.count(1)


@dataclass
class Person:
    plan: str
    inmail_open: bool
    open_profile: bool
    group_messages_open: bool
    cancels: bool  # a paid plan cancelled now: Basic from the next renewal
    contact: dict[str, str] = field(default_factory=dict)  # field -> visibility


@dataclass
class World:
    people: list[Person]
    connections: list[tuple[int, int]]
    groups: list[dict[int, str]]  # member -> 'member' | 'pending'
    threads: list[tuple[int, int, str]]
    blocks: list[tuple[int, int]]
    drained: bool  # the viewer (person 0) has no credits left
    auto_overage: bool
    overage_limit: int | None
    later: bool  # priced 40 days on: every paid plan renews (a cancelled one becomes Basic)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n = draw(st.integers(min_value=3, max_value=6))
    people = []
    for _ in range(n):
        plan = draw(st.sampled_from(PLANS))
        paid = plan != "basic"
        contact = draw(
            st.dictionaries(
                st.sampled_from(("email", "phone", "website")), st.sampled_from(VISIBILITIES)
            )
        )
        people.append(
            Person(
                plan,
                draw(st.booleans()),
                paid and draw(st.booleans()),
                draw(st.booleans()),
                paid and draw(st.booleans()),
                contact,
            )
        )
    pairs = list(itertools.combinations(range(n), 2))
    ordered = list(itertools.permutations(range(n), 2))
    member_of = st.dictionaries(
        st.integers(0, n - 1), st.sampled_from(("member", "member", "pending")), max_size=n
    )
    return World(
        people=people,
        connections=draw(st.lists(st.sampled_from(pairs), unique=True)),
        groups=draw(st.lists(member_of, max_size=2)),
        threads=draw(
            st.lists(
                st.tuples(*[st.sampled_from(x) for x in (range(n), range(n), STATUSES)]), max_size=3
            )
        ),
        blocks=draw(st.lists(st.sampled_from(ordered), unique=True, max_size=2)),
        drained=draw(st.booleans()),
        auto_overage=draw(st.booleans()),
        overage_limit=draw(st.sampled_from((None, 0, 100_000))),
        later=draw(st.booleans()),
    )


def build(deps: Deps, world: World) -> tuple[list[str], str]:
    """The world's members, person 0 (the viewer) first, and a company only they work at."""
    tag = f"world{next(_worlds)}"
    ids = [
        create_member(
            deps, handle=f"{tag}p{i}", name=f"P{i} {tag}", company=tag, plan=p.plan, now=T0
        ).id
        for i, p in enumerate(world.people)
    ]
    for member_id, p in zip(ids, world.people, strict=True):
        changes = {"inmail_open": p.inmail_open, "group_messages_open": p.group_messages_open}
        if p.open_profile:
            changes["open_profile"] = True
        update_settings(deps, member_id=member_id, changes=changes, now=T0)
        if p.contact:
            values = {f: (f"{f}-of-{member_id}", v) for f, v in p.contact.items()}
            put_contact_info(deps, member_id=member_id, changes=values)
        if p.cancels:
            change_plan(deps, member_id=member_id, plan="basic", now=T0)
    for group in world.groups:
        _group(deps, ids, group)
    with deps.db.write() as conn:
        for a, b in world.connections:
            network_store.insert_connection(conn, ids[a], ids[b], T0)
        awaiting: set[tuple[int, int]] = set()
        for a, b, status in world.threads:
            # One InMail awaiting a response per sender and recipient (migration 0008's
            # unique index): a world cannot hold a second one for the same pair.
            if a == b or (status == "awaiting_response" and (a, b) in awaiting):
                continue
            if status == "awaiting_response":
                awaiting.add((a, b))
            message_store.insert_thread(conn, _thread(ids[a], ids[b], status))
        for a, b in world.blocks:
            network_store.block(conn, ids[a], ids[b], T0)
    viewer = ids[0]
    if world.drained and (left := balance(deps, viewer, T0)):
        adjust_credits(deps, member_id=viewer, amount=-left, reason="drained", now=T0)
    update_overage_settings(
        deps,
        member_id=viewer,
        auto_overage=world.auto_overage,
        limit_minor=world.overage_limit,
        now=T0,
    )
    return ids, tag


def _group(deps: Deps, ids: list[str], members: dict[int, str]) -> None:
    owner = ids[-1]
    group = create_group(deps, owner_id=owner, name="Guild", description="", closed=False, now=T0)
    with deps.db.write() as conn:
        for i, status in members.items():
            if ids[i] != owner:
                social.set_membership(conn, group.id, ids[i], status, T0)


def _thread(a: str, b: str, status: str) -> ThreadRecord:
    return ThreadRecord(new_id("th"), "inmail", a, b, status, T0, T0, T0, 0, None, None)


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,  # .hypothesis/ is not kept; a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(world=worlds())
def test_a_page_is_priced_exactly_as_the_quote_prices_each_row(deps: Deps, world: World) -> None:
    ids, _ = build(deps, world)
    viewer, others = ids[0], ids[1:]
    now = T0 + days(40) if world.later else T0
    quotes = {o: quote(deps, member_id=viewer, to=o, now=now) for o in others}  # catches up
    payer = payer_as_of(deps, viewer, now)
    sender = payer.sender
    alone = {o: recipient_as_of(deps, sender, o, now) for o in others}
    with deps.db.read() as conn:
        found = recipients(conn, others)
        batch = reaches(deps, conn, sender, found)
        ways = cheapest_ways(deps, conn, payer, found, now)
        for other in others:
            assert batch[other].reach == gather_reach(deps, conn, sender, alone[other])
    for other in others:
        expected = quotes[other]
        way = ways[other].way
        assert (way.channel, way.cost_credits, way.allowed, way.reason, way.overage_charge) == (
            expected.channel,
            expected.cost_credits,
            expected.allowed,
            expected.reason,
            expected.overage_charge,
        )
        assert ways[other].degree == degree_between(deps, viewer=viewer, other=other)


@SETTINGS
@given(world=worlds())
def test_the_search_finds_each_degree_and_prices_each_result_as_the_quote(
    deps: Deps, world: World
) -> None:
    ids, tag = build(deps, world)
    viewer, others = ids[0], ids[1:]
    now = T0 + days(40) if world.later else T0
    page = find_members(deps, viewer=viewer, company=tag, now=now, limit=200)
    blocked = {ids[b] for a, b in world.blocks if a == 0} | {
        ids[a] for a, b in world.blocks if b == 0
    }
    assert [f.member.id for f in page.items] == [o for o in others if o not in blocked]
    for found in page.items:
        expected = quote(deps, member_id=viewer, to=found.member.id, now=now)
        assert (found.way.channel, found.way.cost_credits, found.way.reason) == (
            expected.channel,
            expected.cost_credits,
            expected.reason,
        )
        assert (found.way.allowed, found.way.overage_charge) == (
            expected.allowed,
            expected.overage_charge,
        )
        assert (
            found.member.plan == current_account(deps, found.member.id, now).subscription.plan.code
        )
    for degree in (1, 2, 3):
        at = find_members(deps, viewer=viewer, company=tag, degree=degree, now=now, limit=200)
        assert [f.member.id for f in at.items] == [
            f.member.id for f in page.items if f.degree == degree
        ]
