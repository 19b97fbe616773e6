"""templates (with an optional B variant, soft-deleted); messages keep their template and variant

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("b_subject", sa.String(length=200), nullable=True),
        sa.Column("b_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(b_subject IS NULL) = (b_body IS NULL)", name=op.f("ck_templates_variant_b_whole")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["members.id"], name=op.f("fk_templates_owner_id_members")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_templates")),
        sa.UniqueConstraint("id", name=op.f("uq_templates_id")),
    )
    op.create_index("ix_templates_owner_id_seq", "templates", ["owner_id", "seq"], unique=False)
    # Null for every message before: none was rendered from a template.
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("template_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(length=1), nullable=True))
        batch.create_foreign_key(
            op.f("fk_messages_template_id_templates"), "templates", ["template_id"], ["id"]
        )
        batch.create_index("ix_messages_template_id", ["template_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_template_id")
        batch.drop_constraint(op.f("fk_messages_template_id_templates"), type_="foreignkey")
        batch.drop_column("variant")
        batch.drop_column("template_id")
    op.drop_index("ix_templates_owner_id_seq", table_name="templates")
    op.drop_table("templates")
