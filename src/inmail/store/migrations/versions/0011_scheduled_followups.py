"""scheduled follow-ups: one follow-up InMail sent by itself when no response came

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_followups",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("thread_id", sa.String(length=40), nullable=False),
        sa.Column("sender_id", sa.String(length=40), nullable=False),
        sa.Column("after_days", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("template_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'cancelled', 'failed')",
            name=op.f("ck_scheduled_followups_status_known"),
        ),
        sa.CheckConstraint(
            "body IS NOT NULL OR template_id IS NOT NULL",
            name=op.f("ck_scheduled_followups_has_text"),
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["members.id"], name=op.f("fk_scheduled_followups_sender_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_scheduled_followups_thread_id_threads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_followups")),
        sa.UniqueConstraint("thread_id", name=op.f("uq_scheduled_followups_thread_id")),
    )
    with op.batch_alter_table("scheduled_followups") as batch:
        batch.create_index("ix_scheduled_followups_status_due", ["status", "due_at"])
        batch.create_index("ix_scheduled_followups_sender", ["sender_id", "status", "due_at"])


def downgrade() -> None:
    op.drop_table("scheduled_followups")
