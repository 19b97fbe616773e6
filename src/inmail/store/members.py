"""Member profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from inmail.domain.search import member_document
from inmail.store import search
from inmail.store.tables import accounts, members


@dataclass(frozen=True, slots=True)
class MemberRecord:
    id: str
    handle: str
    name: str
    headline: str
    company: str
    school: str
    interests: tuple[str, ...]
    plan: str
    created_at: datetime
    # When the account next renews or expires something: past it, ``plan`` may be stale.
    plan_due_at: datetime | None = None


def _member(row: Row[Any]) -> MemberRecord:
    return MemberRecord(
        id=row.id,
        handle=row.handle,
        name=row.name,
        headline=row.headline,
        company=row.company,
        school=row.school,
        interests=tuple(row.interests),
        plan=row.plan_code,
        created_at=row.created_at,
        plan_due_at=row.next_due_at,
    )


def member_record(row: Row[Any]) -> MemberRecord:
    """A profile from a row of ``members`` with the account's ``plan_code`` and ``next_due_at``."""
    return _member(row)


def with_plan() -> Any:
    """A select of members with their account's plan code and next due time."""
    return select(members, accounts.c.plan_code, accounts.c.next_due_at).join(
        accounts, accounts.c.member_id == members.c.id
    )


def get_member(conn: Connection, member_id: str) -> MemberRecord | None:
    row = conn.execute(with_plan().where(members.c.id == member_id)).first()
    return None if row is None else _member(row)


def members_by_id(conn: Connection, ids: list[str]) -> list[MemberRecord]:
    return [_member(r) for r in conn.execute(with_plan().where(members.c.id.in_(ids)))]


def handle_exists(conn: Connection, handle: str) -> bool:
    return id_by_handle(conn, handle) is not None


def id_by_handle(conn: Connection, handle: str) -> str | None:
    found: str | None = conn.execute(
        select(members.c.id).where(members.c.handle == handle)
    ).scalar()
    return found


def list_members(conn: Connection, *, after: str | None, limit: int) -> list[MemberRecord]:
    query = with_plan().order_by(members.c.id).limit(limit)
    if after is not None:
        # Both sides of the join: PostgreSQL's merge join would otherwise read the accounts
        # from the first one (about 40 ms into 100,000 members, for a page of 50).
        query = query.where(members.c.id > after, accounts.c.member_id > after)
    return [_member(r) for r in conn.execute(query)]


def insert_member(conn: Connection, record: MemberRecord) -> None:
    """The profile, and its words in the search index (every write of a profile does both)."""
    conn.execute(
        members.insert().values(
            id=record.id,
            handle=record.handle,
            name=record.name,
            headline=record.headline,
            company=record.company,
            school=record.school,
            interests=list(record.interests),
            created_at=record.created_at,
        )
    )
    document = member_document(
        name=record.name,
        handle=record.handle,
        headline=record.headline,
        company=record.company,
        school=record.school,
        interests=record.interests,
    )
    search.write_document(conn, search.MEMBERS, record.id, document)


@dataclass(frozen=True, slots=True)
class MessagingSettings:
    inmail_open: bool
    open_profile: bool
    group_messages_open: bool


def get_messaging_settings(conn: Connection, member_id: str) -> MessagingSettings | None:
    row = conn.execute(
        select(members.c.inmail_open, members.c.open_profile, members.c.group_messages_open).where(
            members.c.id == member_id
        )
    ).first()
    return None if row is None else MessagingSettings(*row)


def update_messaging_settings(conn: Connection, member_id: str, value: MessagingSettings) -> None:
    conn.execute(
        update(members)
        .where(members.c.id == member_id)
        .values(
            inmail_open=value.inmail_open,
            open_profile=value.open_profile,
            group_messages_open=value.group_messages_open,
        )
    )


def time_zone_of(conn: Connection, member_id: str) -> str | None:
    found: str | None = conn.execute(
        select(members.c.time_zone).where(members.c.id == member_id)
    ).scalar_one_or_none()
    return found


def set_time_zone(conn: Connection, member_id: str, time_zone: str) -> None:
    conn.execute(update(members).where(members.c.id == member_id).values(time_zone=time_zone))


def update_profile(conn: Connection, record: MemberRecord) -> None:
    """Write the profile's texts, and its words in the search index (as :func:`insert_member`)."""
    conn.execute(
        update(members)
        .where(members.c.id == record.id)
        .values(
            name=record.name,
            headline=record.headline,
            company=record.company,
            school=record.school,
            interests=list(record.interests),
        )
    )
    document = member_document(
        name=record.name,
        handle=record.handle,
        headline=record.headline,
        company=record.company,
        school=record.school,
        interests=record.interests,
    )
    search.write_document(conn, search.MEMBERS, record.id, document)
