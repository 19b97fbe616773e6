"""invitation (password-set) links, members' time zones, and public ids of member tokens

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_invitation_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name="fk_member_invitation_links_member_id_members",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_member_invitation_links"),
    )
    op.create_index(
        "ix_member_invitation_links_member_id", "member_invitation_links", ["member_id"]
    )
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
        )
    # Existing tokens get an id derived from their hash (64 of its 256 bits: it names the
    # token without helping anyone guess it); new ones get a random id.
    with op.batch_alter_table("member_tokens") as batch:
        batch.add_column(sa.Column("id", sa.String(40), nullable=True))
    op.execute("UPDATE member_tokens SET id = 'tok_' || substr(token_hash, 1, 16)")
    with op.batch_alter_table("member_tokens") as batch:
        batch.alter_column("id", existing_type=sa.String(40), nullable=False)
        batch.create_unique_constraint("uq_member_tokens_id", ["id"])


def downgrade() -> None:
    with op.batch_alter_table("member_tokens") as batch:
        batch.drop_constraint("uq_member_tokens_id", type_="unique")
        batch.drop_column("id")
    # Not a batch: on SQLite that rebuilds ``members``, which every other table refers to.
    op.execute("ALTER TABLE members DROP COLUMN time_zone")
    op.drop_index("ix_member_invitation_links_member_id", table_name="member_invitation_links")
    op.drop_table("member_invitation_links")
