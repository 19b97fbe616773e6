"""Creating and reading members. Every member has a credit account from the start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from inmail.domain.billing import Subscription, catch_up, subscribe
from inmail.domain.credits import Book, new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import HandleTaken, UnknownMember
from inmail.domain.plans import BASIC
from inmail.domain.profile import check_handle, check_profile
from inmail.domain.text import is_clean
from inmail.services.context import Deps
from inmail.store import accounts as account_store
from inmail.store import catalog as catalog_store
from inmail.store import members as member_store
from inmail.store.members import MemberRecord


def create_member(
    deps: Deps,
    *,
    handle: str,
    name: str,
    now: datetime,
    headline: str = "",
    company: str = "",
    school: str = "",
    interests: Sequence[str] = (),
    plan: str = BASIC,
) -> MemberRecord:
    """A new member on ``plan``; a paid plan starts its first cycle (and fee) now.

    The handle and texts follow :mod:`inmail.domain.profile` (ValidationError names the
    field); a taken handle is HandleTaken, an unknown plan UnknownPlan.
    """
    require_utc(now)
    check_handle(handle)
    check_profile(name=name, headline=headline, company=company, school=school, interests=interests)
    record = MemberRecord(
        new_id("m"), handle, name.strip(), headline, company, school, tuple(interests), plan, now
    )
    with deps.db.write() as conn:
        target = catalog_store.current_plan(conn, plan)
        if member_store.handle_exists(conn, handle):
            raise HandleTaken(f"the handle {handle!r} is taken")
        member_store.insert_member(conn, record)
        basic = catalog_store.current_plan(conn, BASIC)
        sub = Subscription(new_id("sub"), basic, now, renewed_cycle=-1)
        account_store.insert_account(conn, record.id, sub)
        if target.is_paid:
            account = account_store.lock_account(conn, record.id, deps.plans.lookup(conn))
            assert account is not None
            book = Book(0, [])
            subscribe(account.subscription, target, new_id("sub"), now)
            lookup = lambda code: catalog_store.current_plan(conn, code)  # noqa: E731
            done = catch_up(book, account.subscription, lookup, now)
            account_store.save(conn, account, book, done)
    return record


def get_member(deps: Deps, member_id: str) -> MemberRecord:
    with deps.db.read() as conn:
        record = member_store.get_member(conn, member_id)
    if record is None:
        raise UnknownMember(f"there is no member {member_id!r}")
    return record


def get_members(deps: Deps, member_ids: list[str]) -> list[MemberRecord]:
    """The members with these ids, in the order given, in one query (unknown ids left out)."""
    with deps.db.read() as conn:
        return member_store.get_members(conn, member_ids)


def list_members(deps: Deps, *, after: str | None = None, limit: int = 50) -> list[MemberRecord]:
    with deps.db.read() as conn:
        return member_store.list_members(conn, after=after, limit=limit)


def search_members(deps: Deps, *, text: str, limit: int = 20) -> list[MemberRecord]:
    text = text.strip()
    if not text or not is_clean(text):  # no profile holds control characters: nothing matches
        return []
    with deps.db.read() as conn:
        return member_store.search_members(conn, text[:100], limit=limit)
