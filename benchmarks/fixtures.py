"""An inmail database ready to spend on: migrated, seeded, members with plenty of credits."""

from __future__ import annotations

from array import array
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.graph import Graph, load_sqlite
from benchmarks.profiles import random_profiles
from inmail.domain.credits import new_id
from inmail.services.catalog import seed_catalog
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import adjust_credits
from inmail.services.members import create_member
from inmail.store import schema
from inmail.store.db import Database, make_engine

# A fixed moment: no renewal or expiry falls due during a run, so we measure the plain spend.
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PLAN = "recruiter_corporate"
CREDITS = 100_000


def spend_reference() -> str:
    """A new spend reference shaped as an InMail's (``inmail:<message id>``,
    services/inmail.py): ids made later sort later, so each lands at the right edge of
    ``spends``' unique index, as the product's own spends do."""
    return f"inmail:{new_id('msg')}"


def open_deps(url: str, *, pool_size: int = 10) -> Deps:
    return Deps(Database(make_engine(url, pool_size=pool_size)), PlanVersionCache())


def prepare(url: str, members: int, *, now: datetime = NOW) -> list[str]:
    """Migrate and seed the database at ``url``; return the ids of ``members`` funded members."""
    deps = open_deps(url)
    try:
        schema.upgrade(deps.db.engine)
        seed_catalog(deps, now=now)
        return [_funded_member(deps, f"bench{i}", now) for i in range(members)]
    finally:
        deps.db.dispose()


def plain_members(url: str, members: int, *, prefix: str, now: datetime = NOW) -> list[str]:
    """``members`` more members on the free plan with no credits (someone to write to)."""
    deps = open_deps(url)
    try:
        return [
            create_member(deps, handle=f"{prefix}{i}", name=f"Plain {prefix}{i}", now=now).id
            for i in range(members)
        ]
    finally:
        deps.db.dispose()


def many_plain_members(path: Path, members: int, *, now: datetime = NOW) -> list[str]:
    """``members`` members on the free plan, written in bulk into the SQLite file at ``path``.

    The rows ``plain_members`` would write (see benchmarks.graph), without a transaction
    and an fsync each: enough people to write to that no sender writes to one twice
    (SPEC §4: a second InMail to someone who has not answered the first is refused).
    Handles are ``g0``, ``g1``, ...: call it once per database.
    """
    ids = [new_id("m") for _ in range(members)]
    load_sqlite(str(path), Graph(ids, array("I"), array("I"), random_profiles(members, 1)), now)
    return ids


def _funded_member(deps: Deps, handle: str, now: datetime) -> str:
    member = create_member(deps, handle=handle, name=f"Bench {handle}", plan=PLAN, now=now)
    adjust_credits(deps, member_id=member.id, amount=CREDITS, reason="bench", now=now)
    return member.id
