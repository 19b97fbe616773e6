"""pack versions (packs edited as versions) and indexes for the operator's monthly totals

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pack_versions",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("credits > 0", name=op.f("ck_pack_versions_credits_positive")),
        sa.PrimaryKeyConstraint("code", "version", name=op.f("pk_pack_versions")),
    )
    # The packs on sale become their version 1, dated with the catalog's first plan (both were
    # loaded together by `inmail db upgrade`); plain SQL keeps each engine's stored time format.
    op.execute(
        "INSERT INTO pack_versions (code, version, credits, price_minor, currency, created_at) "
        "SELECT code, 1, credits, price_minor, currency, (SELECT MIN(created_at) FROM plans) "
        "FROM packs"
    )
    op.create_index("ix_ledger_entries_at", "ledger_entries", ["at"])
    op.create_index("ix_charges_at", "charges", ["at"])


def downgrade() -> None:
    op.drop_index("ix_charges_at", table_name="charges")
    op.drop_index("ix_ledger_entries_at", table_name="ledger_entries")
    op.drop_table("pack_versions")
