"""An inmail database ready to spend on: migrated, seeded, members with plenty of credits."""

from __future__ import annotations

from datetime import UTC, datetime

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


def _funded_member(deps: Deps, handle: str, now: datetime) -> str:
    member = create_member(deps, handle=handle, name=f"Bench {handle}", plan=PLAN, now=now)
    adjust_credits(deps, member_id=member.id, amount=CREDITS, reason="bench", now=now)
    return member.id
