"""The search index finds what the rule says, in index order, on both engines.

``store.search.find`` is held to ``domain.search.Match.found_in`` (the
reference) on random documents and random queries, page by page, through
each of its ways: the word index (FTS5; GIN after a walk, the walk made as
short as can be so both halves run, or at once for a word the caller says is
rare), candidates looked at one by one, and members left out. Documents
written again keep their place. Migration 0010 indexes the members and groups
that were there before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Select, create_engine, select, text
from sqlalchemy.engine import make_url

from inmail.domain.search import Match, member_document
from inmail.services.context import Deps
from inmail.services.members import create_member
from inmail.store import schema, search
from inmail.store.db import make_engine
from inmail.store.tables import member_search, members
from tests.conftest import PG_ADMIN_URL, T0

WORDS = ("ada", "adam", "al", "bob", "bo", "cy", "über", "zoe")
TAGS = ("", "n:", "c:")
VOCABULARY = tuple(tag + word for tag in TAGS for word in WORDS)
MEMBERS = 12


@pytest.fixture
def owners(deps: Deps) -> list[str]:
    """Members to hang documents on, in index order."""
    return [
        create_member(deps, handle=f"owner{i}", name=f"Owner {i}", now=T0).id
        for i in range(MEMBERS)
    ]


def _prefixes(word: str) -> list[str]:
    tag = word[:2] if word[1:2] == ":" else ""
    bare = word[len(tag) :]
    return [tag + bare[:n] for n in range(1, len(bare) + 1)]


QUERY_WORDS = tuple(sorted({p for w in VOCABULARY for p in _prefixes(w)}))
documents = st.lists(
    st.lists(st.sampled_from(VOCABULARY), unique=True, max_size=6),
    min_size=MEMBERS,
    max_size=MEMBERS,
)
matches = st.builds(
    Match,
    st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=3, unique=True).map(tuple),
    st.one_of(
        st.just(()), st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=2).map(tuple)
    ),
)
subsets = st.one_of(st.none(), st.sets(st.integers(0, MEMBERS - 1)))


def _ids(owners: list[str], chosen: set[int]) -> Select[Any]:
    return select(members.c.id).where(members.c.id.in_([owners[i] for i in chosen]))


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    docs=documents,
    match=matches,
    among=subsets,
    excluding=subsets,
    limit=st.integers(1, 5),
    walk=st.sampled_from((1, search.WALK)),
    rare=st.booleans(),
)
def test_pages_hold_exactly_the_matching_documents_in_index_order(
    deps: Deps,
    owners: list[str],
    docs: list[list[str]],
    match: Match,
    among: set[int] | None,
    excluding: set[int] | None,
    limit: int,
    walk: int,
    rare: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search, "WALK", walk)
    with deps.db.write() as conn:
        for owner, doc in zip(owners, docs, strict=True):
            search.write_document(conn, search.MEMBERS, owner, doc)
    expected = [
        owner
        for i, (owner, doc) in enumerate(zip(owners, docs, strict=True))
        if match.found_in(doc)
        and (among is None or i in among)
        and (excluding is None or i not in excluding)
    ]
    scope = search.Scope(
        among=() if among is None else (_ids(owners, among),),
        excluding=() if excluding is None else (_ids(owners, excluding),),
    )
    found: list[str] = []
    after = 0
    with deps.db.read() as conn:
        while True:
            page = search.find(
                conn, search.MEMBERS, match, after=after, limit=limit, scope=scope, rare=rare
            )
            found += [owner for _, owner in page]
            if len(page) < limit:
                break
            after = page[-1][0]
    assert found == expected


def test_a_member_written_again_keeps_their_place(deps: Deps, owners: list[str]) -> None:
    with deps.db.read() as conn:
        before = conn.execute(
            select(member_search.c.seq).where(member_search.c.member_id == owners[3])
        ).scalar()
    with deps.db.write() as conn:
        search.write_document(conn, search.MEMBERS, owners[3], ["zelda"])
    with deps.db.read() as conn:
        found = search.find(conn, search.MEMBERS, Match(("zel",)), after=0, limit=5)
        old = search.find(conn, search.MEMBERS, Match(("owner",)), after=0, limit=50)
    assert found == [(before, owners[3])]
    assert owners[3] not in [o for _, o in old]  # the old words are gone from the index


def test_every_new_member_is_indexed_with_their_profile(deps: Deps) -> None:
    member = create_member(
        deps,
        handle="jose",
        name="José Núñez",
        headline="Chef",
        company="Café Müller",
        school="",
        interests=["Ski"],
        now=T0,
    )
    with deps.db.read() as conn:
        stored = conn.execute(
            select(member_search.c.member_id).where(member_search.c.member_id == member.id)
        ).scalar()
        hits = search.find(conn, search.MEMBERS, Match(("c:mull", "nun")), after=0, limit=5)
    assert stored == member.id
    assert [o for _, o in hits] == [member.id]


# --- Migration 0010 indexes what was there before it ---------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails under CI) without a server
    name = f"inmail_migrate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_indexes_the_members_and_groups_already_there(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        schema.upgrade(engine, "0007")
        with engine.begin() as conn:
            for i, (name, company) in enumerate([("Zoë Ådahl", "Acme"), ("Bob", "Initech")]):
                conn.execute(
                    members.insert().values(
                        id=f"m_old{i}",
                        handle=f"old{i}",
                        name=name,
                        company=company,
                        interests=["Chess"],
                        created_at=T0,
                    )
                )
            conn.execute(
                text(
                    "INSERT INTO groups (id, name, description, closed, owner_id, created_at) "
                    "VALUES ('g_old', 'Chess Club', 'Openings', false, 'm_old1', :at)"
                ),
                {"at": T0},
            )
        schema.upgrade(engine)
        with engine.connect() as conn:
            by_name = search.find(conn, search.MEMBERS, Match(("zoe", "adahl")), after=0, limit=5)
            by_interest = search.find(conn, search.MEMBERS, Match(("i:chess",)), after=0, limit=5)
            group = search.find(conn, search.GROUPS, Match(("open",)), after=0, limit=5)
        assert [o for _, o in by_name] == ["m_old0"]
        assert [o for _, o in by_interest] == ["m_old0", "m_old1"]
        assert [o for _, o in group] == ["g_old"]
        assert member_document(
            name="Zoë Ådahl",
            handle="old0",
            headline="",
            company="Acme",
            school="",
            interests=["Chess"],
        )[:2] == ("zoe", "adahl")
    finally:
        engine.dispose()
