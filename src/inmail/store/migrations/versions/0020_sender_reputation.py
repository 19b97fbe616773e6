"""sender reputation: spam reports, suspensions and each sender's standing

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spam_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("thread_id", sa.String(length=40), nullable=False),
        sa.Column("reporter_id", sa.String(length=40), nullable=False),
        sa.Column("sender_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("inmail_sent_at", When, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_spam_reports_thread_id_threads")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["members.id"], name=op.f("fk_spam_reports_reporter_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["members.id"], name=op.f("fk_spam_reports_sender_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spam_reports")),
        sa.UniqueConstraint("thread_id", "reporter_id", name="uq_spam_reports_thread_reporter"),
    )
    op.create_index("ix_spam_reports_sender", "spam_reports", ["sender_id", "created_at"])
    op.create_table(
        "suspensions",
        sa.Column("seq", BigId, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("starts_at", When, nullable=False),
        sa.Column("ends_at", When, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("lifted_at", When, nullable=True),
        sa.Column("appeal_status", sa.String(length=12), nullable=False),
        sa.Column("appeal_text", sa.Text(), nullable=True),
        sa.Column("appealed_at", When, nullable=True),
        sa.Column("decided_at", When, nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_suspensions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_suspensions")),
        sa.UniqueConstraint("id", name=op.f("uq_suspensions_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_suspensions_member", "suspensions", ["member_id", "starts_at"])
    op.create_table(
        "sender_standings",
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("warned_at", When, nullable=True),
        sa.Column("bulk_off_from", When, nullable=True),
        sa.Column("bulk_off_until", When, nullable=True),
        sa.Column("bulk_off_reason", sa.Text(), nullable=True),
        sa.Column("suspended_until", When, nullable=True),
        sa.Column("suspension_id", sa.String(length=40), nullable=True),
        sa.Column("suspension_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_sender_standings_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_sender_standings")),
    )


def downgrade() -> None:
    op.drop_table("sender_standings")
    op.drop_index("ix_suspensions_member", table_name="suspensions")
    op.drop_table("suspensions")
    op.drop_index("ix_spam_reports_sender", table_name="spam_reports")
    op.drop_table("spam_reports")
