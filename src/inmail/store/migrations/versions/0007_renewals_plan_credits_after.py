"""renewals record the plan credits they left (for credit-backs after a cap or a cancel)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 16:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for renewals written before: a credit-back then judges them by their forfeit.
    op.add_column("renewals", sa.Column("plan_credits_after", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("renewals") as batch:
        batch.drop_column("plan_credits_after")
