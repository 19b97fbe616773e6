"""bulk sends and their recipients (issue 10 §6)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00

On the bulk branch it follows both 0008 (one awaiting InMail per pair) and 0009
(templates: a bulk send names its template), joining the two heads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_sends",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=False),
        sa.Column("connections", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("max_credits", sa.Integer(), nullable=False),
        sa.Column("max_overage_minor", sa.BigInteger(), nullable=True),
        sa.Column("credits_spent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("overage_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("overage_currency", sa.String(length=3), nullable=True),
        sa.Column("stop", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "credits_spent <= max_credits", name=op.f("ck_bulk_sends_within_confirmed_credits")
        ),
        sa.CheckConstraint(
            "max_overage_minor IS NULL OR overage_minor <= max_overage_minor",
            name=op.f("ck_bulk_sends_within_confirmed_overage"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["members.id"], name=op.f("fk_bulk_sends_owner_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name=op.f("fk_bulk_sends_template_id_templates")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bulk_sends")),
        sa.UniqueConstraint("id", name=op.f("uq_bulk_sends_id")),
    )
    op.create_index("ix_bulk_sends_owner_id_seq", "bulk_sends", ["owner_id", "seq"], unique=False)
    op.create_table(
        "bulk_send_recipients",
        sa.Column("bulk_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("variant", sa.String(length=1), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("cost_credits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("overage_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("thread_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bulk_id"], ["bulk_sends.id"], name=op.f("fk_bulk_send_recipients_bulk_id_bulk_sends")
        ),
        sa.PrimaryKeyConstraint("bulk_id", "position", name=op.f("pk_bulk_send_recipients")),
    )


def downgrade() -> None:
    op.drop_table("bulk_send_recipients")
    op.drop_index("ix_bulk_sends_owner_id_seq", table_name="bulk_sends")
    op.drop_table("bulk_sends")
