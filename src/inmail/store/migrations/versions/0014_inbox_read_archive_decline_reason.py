"""the inbox: what each side of a thread has seen and archived, decline reasons, read notices

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SIDES = ("initiator", "recipient")


def upgrade() -> None:
    # Message seqs, not times: the test clock shows one moment for many messages, and a
    # message newer than what a side saw (or archived) must still count as newer.
    # Plain ADD COLUMNs (no batch copy on SQLite: it would rebuild the table's partial index).
    for side in _SIDES:
        op.add_column("threads", sa.Column(f"{side}_seen_seq", BigId, nullable=True))
        op.add_column("threads", sa.Column(f"{side}_archived_seq", BigId, nullable=True))
    op.add_column("threads", sa.Column("decline_reason", sa.String(20), nullable=True))
    # What came before the inbox showed unread state counts as seen: the sender saw what
    # they sent, the recipient what they opened. An unopened InMail stays unread.
    newest = "(SELECT MAX(m.seq) FROM messages m WHERE m.thread_id = threads.id)"
    op.execute(f"UPDATE threads SET initiator_seen_seq = {newest}")
    op.execute(f"UPDATE threads SET recipient_seen_seq = {newest} WHERE opened_at IS NOT NULL")
    op.add_column("notifications", sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    # The unread count in the navigation, on every page: unread notices of one member.
    op.create_index(
        "ix_notifications_member_unread",
        "notifications",
        ["member_id"],
        sqlite_where=sa.text("read_at IS NULL"),
        postgresql_where=sa.text("read_at IS NULL"),
    )


def downgrade() -> None:
    # Plain DROP COLUMNs as well (SQLite 3.35+): a batch copy would rebuild the threads
    # table and its partial unique index.
    op.drop_index("ix_notifications_member_unread", table_name="notifications")
    op.drop_column("notifications", "read_at")
    op.drop_column("threads", "decline_reason")
    for side in reversed(_SIDES):
        op.drop_column("threads", f"{side}_archived_seq")
        op.drop_column("threads", f"{side}_seen_seq")
