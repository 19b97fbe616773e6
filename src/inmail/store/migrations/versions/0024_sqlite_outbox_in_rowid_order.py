"""SQLite reads the outbox in rowid order: no (tx, seq) index

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 11:20:00

On SQLite ``tx`` is always 0 (its writers take the one write lock in turn, so ``seq`` order
is commit order: store/outbox.py), so ``ix_outbox_events_tx (tx, seq)`` held the table's
own rowid order a second time. Every write that tells of itself (a spend, a send, a
renewal) paid one more b-tree page at its commit for it, of about 15 a spend; SQLite's
readers now order by ``seq`` alone (``store.outbox.commit_order``). PostgreSQL keeps the
index: there ``tx`` is the writing transaction's id and readers need that order.
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_outbox_events_tx", table_name="outbox_events")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_outbox_events_tx", "outbox_events", ["tx", "seq"])
