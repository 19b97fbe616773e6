"""Creating and reading members. Every member has a credit account from the start."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.billing import Subscription, catch_up
from inmail.domain.credits import Book, new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import HandleTaken, UnknownMember, ValidationError
from inmail.domain.plan_changes import subscribe
from inmail.domain.plans import BASIC
from inmail.domain.profile import check_handle, check_profile
from inmail.services import search
from inmail.services.context import Deps, current_account, is_due, plans_in_force
from inmail.services.idempotency import keyed, keyed_write
from inmail.store import accounts as account_store
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
    idempotency_key: str | None = None,
) -> MemberRecord:
    """A new member on ``plan``; a paid plan starts its first cycle (and fee) now.

    The handle and texts follow :mod:`inmail.domain.profile` (ValidationError names the
    field); a taken handle is HandleTaken, an unknown plan UnknownPlan.
    A retry with the same ``idempotency_key`` (the operator's) answers the first
    creation instead of ``handle-taken``.
    """
    require_utc(now)
    request = {
        "handle": handle,
        "name": name,
        "headline": headline,
        "company": company,
        "school": school,
        "interests": list(interests),
        "plan": plan,
    }

    def effect(conn: Connection) -> MemberRecord:
        check_handle(handle)
        check_profile(
            name=name, headline=headline, company=company, school=school, interests=interests
        )
        record = MemberRecord(
            new_id("m"),
            handle,
            name.strip(),
            headline,
            company,
            school,
            tuple(interests),
            plan,
            now,
        )
        _insert_member(deps, conn, record, now)
        return record

    write = keyed(MemberRecord, "operator:members", idempotency_key, request)
    return keyed_write(deps, write, now=now, effect=effect)


def _insert_member(deps: Deps, conn: Connection, record: MemberRecord, now: datetime) -> None:
    in_force = plans_in_force(conn)
    target = in_force(record.plan, now)
    if member_store.handle_exists(conn, record.handle):
        raise HandleTaken(f"the handle {record.handle!r} is taken")
    member_store.insert_member(conn, record)
    sub = Subscription(new_id("sub"), in_force(BASIC, now), now, renewed_cycle=-1)
    account_store.insert_account(conn, record.id, sub)
    if target.is_paid:
        account = account_store.lock_account(conn, record.id, deps.plans.lookup(conn))
        assert account is not None
        book = Book(0, [])
        subscribe(account.subscription, target, new_id("sub"), now)
        done = catch_up(book, account.subscription, in_force, now)
        account_store.save(conn, account, book, done)


def get_member(deps: Deps, member_id: str, *, now: datetime) -> MemberRecord:
    """A member's profile with the plan they are on at ``now``. Raises UnknownMember."""
    with deps.db.read() as conn:
        record = member_store.get_member(conn, member_id)
    if record is None:
        raise UnknownMember(f"there is no member {member_id!r}")
    return _as_of(deps, [record], now)[0]


def member_by_handle(deps: Deps, handle: str, *, now: datetime) -> MemberRecord:
    """The member with ``handle`` (a leading ``@`` allowed), with the plan they are on at ``now``.

    Raises ValidationError for a text that cannot be a handle, UnknownMember for no such member.
    """
    handle = handle.strip().removeprefix("@")
    check_handle(handle)  # never a query with a NUL (PostgreSQL refuses it where SQLite finds none)
    with deps.db.read() as conn:
        member_id = member_store.id_by_handle(conn, handle)
    if member_id is None:
        raise UnknownMember(f"there is no member @{handle}")
    return get_member(deps, member_id, now=now)


def members_by_id(deps: Deps, ids: Iterable[str], *, now: datetime) -> dict[str, MemberRecord]:
    """Members by id, each with the plan they are on at ``now``; unknown ids are left out."""
    with deps.db.read() as conn:
        found = member_store.members_by_id(conn, sorted(set(ids)))
    return {r.id: r for r in _as_of(deps, found, now)}


def list_members(
    deps: Deps, *, now: datetime, after: str | None = None, limit: int = 50
) -> list[MemberRecord]:
    with deps.db.read() as conn:
        found = member_store.list_members(conn, after=after, limit=limit)
    return _as_of(deps, found, now)


def search_members(
    deps: Deps, *, text: str, now: datetime, limit: int = 20, viewer: str | None = None
) -> list[MemberRecord]:
    """The members the search box ``text`` finds (``services.search``: the handle, then the
    names, then the rest of the profile), with the plan they are on at ``now``.

    ``viewer``: a member searching (they, and members blocked either way, are left
    out); None: the operator. A blank text, or one the search refuses (control
    characters, too many words), finds no one.
    """
    if not text.strip():
        return []
    try:
        found = search.search_records(deps, text=text.strip(), limit=limit, viewer=viewer)
    except ValidationError:
        return []
    return _as_of(deps, found, now)


def _as_of(deps: Deps, records: list[MemberRecord], now: datetime) -> list[MemberRecord]:
    """The records with the plan each member is on at ``now`` (SPEC §2: no stale plan shown).

    Members whose renewal is due are caught up first (a write each, once);
    the rest cost nothing more than the read that found them.
    """
    due = [r.id for r in records if is_due(r.plan_due_at, now)]
    if not due:
        return records
    for member_id in due:
        current_account(deps, member_id, now)
    with deps.db.read() as conn:
        fresh = {r.id: r for r in member_store.members_by_id(conn, due)}
    return [fresh.get(r.id, r) for r in records]


def update_profile(
    deps: Deps,
    *,
    member_id: str,
    name: str,
    headline: str,
    company: str,
    school: str,
    interests: Sequence[str],
) -> MemberRecord:
    """Replace the member's own name, headline, company, school and interests.

    The texts follow :func:`inmail.domain.profile.check_profile` (ValidationError names
    the field); the search index is rewritten in the same transaction, so the member is
    found by their new words at once. Raises UnknownMember.
    """
    cleaned = tuple(i.strip() for i in interests if i.strip())
    check_profile(name=name, headline=headline, company=company, school=school, interests=cleaned)
    with deps.db.write() as conn:
        record = member_store.get_member(conn, member_id)
        if record is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        changed = replace(
            record,
            name=name.strip(),
            headline=headline.strip(),
            company=company.strip(),
            school=school.strip(),
            interests=cleaned,
        )
        member_store.update_profile(conn, changed)
    return changed
