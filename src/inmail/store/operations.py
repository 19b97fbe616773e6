"""What an operator's scrape reads: cheap, indexed queries over accounts and the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, literal, select

from inmail.store.outbox import commit_order, past
from inmail.store.tables import accounts, outbox_events, webhook_deliveries, webhook_endpoints


def oldest_overdue(conn: Connection, now: datetime) -> datetime | None:
    """The earliest ``next_due_at`` at or before ``now`` (UTC), None when no account is due.

    ``min`` over ix_accounts_next_due_at: one index probe.
    """
    query = select(func.min(accounts.c.next_due_at)).where(accounts.c.next_due_at <= now)
    found: datetime | None = conn.execute(query).scalar()
    return found


def outbox_backlog(conn: Connection, cap: int) -> tuple[int, datetime | None]:
    """(events still to deliver, counted up to ``cap``; the oldest one's time, UTC).

    What waits is what the webhook endpoints have not yet had: deliveries still pending
    (ix_webhook_deliveries_due) and events past the furthest-behind endpoint's place in the
    outbox, not yet made deliveries (read in store.outbox.commit_order). With no endpoint
    nothing waits: operators who pull ``GET /v1/admin/events`` keep their own place.
    Counting stops at ``cap`` so a scrape stays cheap however far delivery falls behind.
    """
    pending = webhook_deliveries.c.status == "pending"
    waiting = select(literal(1)).select_from(webhook_deliveries).where(pending).limit(cap)
    depth = conn.execute(select(func.count()).select_from(waiting.subquery())).scalar_one()
    first_pending = select(func.min(webhook_deliveries.c.created_at)).where(pending)
    oldest: datetime | None = conn.execute(first_pending).scalar()
    behind = conn.execute(
        select(webhook_endpoints.c.cursor_tx, webhook_endpoints.c.cursor_seq)
        # No place yet (null) is the start of the outbox: the furthest behind, on both engines.
        .order_by(
            webhook_endpoints.c.cursor_tx.is_not(None),
            webhook_endpoints.c.cursor_tx,
            webhook_endpoints.c.cursor_seq,
        )
        .limit(1)
    ).first()
    if behind is None:
        return depth, oldest
    undispatched = select(outbox_events.c.at).order_by(*commit_order(conn))
    if behind.cursor_tx is not None:
        undispatched = undispatched.where(past(conn, behind.cursor_tx, behind.cursor_seq))
    ahead = (
        conn.execute(
            select(func.count()).select_from(undispatched.limit(cap - depth).subquery())
        ).scalar_one()
        if depth < cap
        else 0
    )
    first = conn.execute(undispatched.limit(1)).scalar() if ahead else None
    if first is not None and (oldest is None or first < oldest):
        oldest = first
    return depth + ahead, oldest
