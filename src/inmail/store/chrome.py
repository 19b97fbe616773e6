"""The chrome of a signed-in page in one prebuilt statement: the member with their plan,
their time zone, the navigation's unread counts and their standing row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam

from inmail.store.inbox import unread_notices_count, unread_threads_count
from inmail.store.members import MemberRecord, member_record, with_plan
from inmail.store.reputation import StandingRecord, standing_of_row
from inmail.store.tables import members, sender_standings


@dataclass(frozen=True, slots=True)
class ChromeRow:
    member: MemberRecord
    time_zone: str | None
    unread_threads: int
    unread_notices: int
    standing: StandingRecord


def _statement() -> Any:
    member: BindParameter[str] = bindparam("member_id")
    standing = [c.label(f"standing_{c.name}") for c in sender_standings.c]
    return (
        with_plan()
        .add_columns(
            unread_threads_count(member).label("unread_threads"),
            unread_notices_count(member).label("unread_notices"),
            *standing,
        )
        .outerjoin(sender_standings, sender_standings.c.member_id == members.c.id)
        .where(members.c.id == member)
    )


_CHROME = _statement()  # built once: a statement built per page costs its cache key each time


def read_chrome(conn: Connection, member_id: str) -> ChromeRow | None:
    """The member's chrome, or None when there is no such member."""
    row = conn.execute(_CHROME, {"member_id": member_id}).first()
    if row is None:
        return None
    prefix = "standing_"
    stored = {k.removeprefix(prefix): v for k, v in row._mapping.items() if k.startswith(prefix)}
    standing = StandingRecord(member_id) if stored["member_id"] is None else standing_of_row(stored)
    return ChromeRow(
        member=member_record(row),
        time_zone=row.time_zone,
        unread_threads=int(row.unread_threads),
        unread_notices=int(row.unread_notices),
        standing=standing,
    )
