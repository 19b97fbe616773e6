"""Sender reputation's rows: spam reports, suspensions and each sender's standing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError

from inmail.domain.reputation import PastBan, RateFacts, Report
from inmail.store.tables import (
    messages,
    sender_standings,
    spam_reports,
    suspensions,
    threads,
)

ANSWERED = ("answered", "declined")


@dataclass(frozen=True, slots=True)
class StandingRecord:
    """A sender's stored standing (all None: nothing on record)."""

    member_id: str
    warned_at: datetime | None = None
    bulk_off_from: datetime | None = None
    bulk_off_until: datetime | None = None
    bulk_off_reason: str | None = None
    suspended_until: datetime | None = None
    suspension_id: str | None = None
    suspension_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReportRecord:
    id: str
    thread_id: str
    reporter_id: str
    sender_id: str
    reason: str
    inmail_sent_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SuspensionRecord:
    seq: int
    id: str
    member_id: str
    level: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    reports: int
    lifted_at: datetime | None
    appeal_status: str
    appeal_text: str | None
    appealed_at: datetime | None
    decided_at: datetime | None

    def as_past_ban(self) -> PastBan:
        return PastBan(self.level, self.starts_at, self.ends_at, self.lifted_at is not None)

    def running(self, now: datetime) -> bool:
        """In force at ``now``: begun, not ended, not lifted."""
        return self.lifted_at is None and self.starts_at <= now < self.ends_at


def get_standing(conn: Connection, member_id: str) -> StandingRecord:
    """The sender's standing: one row by primary key (the send guard's only read)."""
    row = conn.execute(
        select(sender_standings).where(sender_standings.c.member_id == member_id)
    ).first()
    if row is None:
        return StandingRecord(member_id)
    return standing_of_row(row._mapping)


def standing_of_row(values: Mapping[Any, Any]) -> StandingRecord:
    """A StandingRecord from a ``sender_standings`` row's columns, by name."""
    return StandingRecord(**{k: values[k] for k in StandingRecord.__dataclass_fields__})


def save_standing(conn: Connection, standing: StandingRecord, now: datetime) -> None:
    """Write the standing (insert or update); the caller holds the member's account lock."""
    values = {k: getattr(standing, k) for k in StandingRecord.__dataclass_fields__}
    values["updated_at"] = now
    changed = conn.execute(
        update(sender_standings)
        .where(sender_standings.c.member_id == standing.member_id)
        .values(**values)
    )
    if changed.rowcount == 0:
        conn.execute(insert(sender_standings).values(**values))


def rate_facts(conn: Connection, member_id: str, since: datetime, now: datetime) -> RateFacts:
    """InMails (first messages of InMail threads, not follow-ups) the member sent in
    (since, now], and how many of their threads were replied to or declined by ``now``.
    One query over ``ix_messages_sender``."""
    answered = case(
        (and_(threads.c.status.in_(ANSWERED), threads.c.responded_at <= now), 1), else_=0
    )
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(answered), 0))
        .select_from(messages.join(threads, threads.c.id == messages.c.thread_id))
        .where(
            messages.c.sender_id == member_id,
            messages.c.kind == literal_column("'inmail'"),
            messages.c.created_at > since,
            messages.c.created_at <= now,
        )
    ).one()
    return RateFacts(int(row[0]), int(row[1]))


def rate_candidates(
    conn: Connection, *, since: datetime, min_sent: int, after: str | None, limit: int
) -> list[str]:
    """Members (by id, after ``after``) the floor may concern: those who sent at least
    ``min_sent`` InMails since ``since``, and those with a warning or bulk-off on record."""
    busy = (
        select(messages.c.sender_id.label("member_id"))
        .where(messages.c.kind == literal_column("'inmail'"), messages.c.created_at > since)
        .group_by(messages.c.sender_id)
        .having(func.count() >= min_sent)
    )
    marked = select(sender_standings.c.member_id).where(
        or_(
            sender_standings.c.warned_at.is_not(None),
            sender_standings.c.bulk_off_until.is_not(None),
        )
    )
    both = busy.union(marked).subquery()
    query = select(both.c.member_id).order_by(both.c.member_id).limit(limit)
    if after is not None:
        query = query.where(both.c.member_id > after)
    return list(conn.execute(query).scalars())


def insert_report(conn: Connection, report: ReportRecord) -> bool:
    """Store a report unless the reporter reported the thread already: True if stored."""
    try:
        with conn.begin_nested():
            conn.execute(insert(spam_reports).values(**_row(report)))
    except IntegrityError:
        return False
    return True


def _row(report: ReportRecord) -> dict[str, Any]:
    return {k: getattr(report, k) for k in ReportRecord.__dataclass_fields__}


def find_report(conn: Connection, thread_id: str, reporter_id: str) -> ReportRecord | None:
    row = conn.execute(
        select(spam_reports).where(
            spam_reports.c.thread_id == thread_id, spam_reports.c.reporter_id == reporter_id
        )
    ).first()
    return None if row is None else ReportRecord(**row._mapping)


def get_report(conn: Connection, report_id: str) -> ReportRecord | None:
    row = conn.execute(select(spam_reports).where(spam_reports.c.id == report_id)).first()
    return None if row is None else ReportRecord(**row._mapping)


def recent_reports(conn: Connection, sender_id: str, since: datetime) -> list[Report]:
    """Reports on the sender's InMails made after ``since``."""
    rows = conn.execute(
        select(spam_reports.c.created_at, spam_reports.c.inmail_sent_at).where(
            spam_reports.c.sender_id == sender_id, spam_reports.c.created_at > since
        )
    ).all()
    return [Report(r.created_at, r.inmail_sent_at) for r in rows]


def member_suspensions(conn: Connection, member_id: str) -> list[SuspensionRecord]:
    """The member's suspensions, oldest first."""
    rows = conn.execute(
        select(suspensions).where(suspensions.c.member_id == member_id).order_by(suspensions.c.seq)
    ).all()
    return [SuspensionRecord(**r._mapping) for r in rows]


def get_suspension(conn: Connection, suspension_id: str) -> SuspensionRecord | None:
    row = conn.execute(select(suspensions).where(suspensions.c.id == suspension_id)).first()
    return None if row is None else SuspensionRecord(**row._mapping)


def insert_suspension(conn: Connection, values: dict[str, Any]) -> SuspensionRecord:
    conn.execute(insert(suspensions).values(**values))
    found = get_suspension(conn, values["id"])
    assert found is not None
    return found


def change_suspension(
    conn: Connection, suspension_id: str, expected_appeal: str, **values: Any
) -> bool:
    """Update a suspension whose appeal status is still ``expected_appeal``: True if it was
    (a concurrent decision changed it otherwise)."""
    changed = conn.execute(
        update(suspensions)
        .where(suspensions.c.id == suspension_id, suspensions.c.appeal_status == expected_appeal)
        .values(**values)
    )
    return changed.rowcount == 1


def list_suspensions(
    conn: Connection, *, appeal_status: str | None, before: int | None, limit: int
) -> list[SuspensionRecord]:
    """Suspensions newest first (by seq, before ``before``), optionally by appeal status."""
    query = select(suspensions).order_by(suspensions.c.seq.desc()).limit(limit)
    if appeal_status is not None:
        query = query.where(suspensions.c.appeal_status == appeal_status)
    if before is not None:
        query = query.where(suspensions.c.seq < before)
    return [SuspensionRecord(**r._mapping) for r in conn.execute(query).all()]
