"""What an operator's scrape reads: cheap, indexed queries over accounts and the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, literal, select

from inmail.store.tables import accounts, outbox_events


def oldest_overdue(conn: Connection, now: datetime) -> datetime | None:
    """The earliest ``next_due_at`` at or before ``now`` (UTC), None when no account is due.

    ``min`` over ix_accounts_next_due_at: one index probe.
    """
    query = select(func.min(accounts.c.next_due_at)).where(accounts.c.next_due_at <= now)
    found: datetime | None = conn.execute(query).scalar()
    return found


def outbox_backlog(conn: Connection, cap: int) -> tuple[int, datetime | None]:
    """(events stored in the outbox, counted up to ``cap``; the oldest one's time, UTC).

    Counting stops at ``cap`` so a scrape stays cheap however far delivery falls
    behind; the oldest is the first by ``seq`` (the primary key's index).
    """
    stored = select(literal(1)).select_from(outbox_events).limit(cap).subquery()
    depth = conn.execute(select(func.count()).select_from(stored)).scalar_one()
    oldest = select(outbox_events.c.at).order_by(outbox_events.c.seq).limit(1)
    at: datetime | None = conn.execute(oldest).scalar()
    return depth, at
