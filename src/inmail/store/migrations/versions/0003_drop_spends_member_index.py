"""drop the index on spends.member_id

Nothing looks spends up by member (the ledger answers that), and every index
is one more page written and synced per spend on the hot path.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spends", schema=None) as batch_op:
        batch_op.drop_index("ix_spends_member_id")


def downgrade() -> None:
    with op.batch_alter_table("spends", schema=None) as batch_op:
        batch_op.create_index("ix_spends_member_id", ["member_id"], unique=False)
