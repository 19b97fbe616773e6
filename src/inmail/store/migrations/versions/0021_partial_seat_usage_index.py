"""the seat usage index holds seats' spends only

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 07:40:00

Most spends are no seat's: indexing their NULL ``seat_member_id`` wrote one more b-tree
page to every spend's commit (of about 15) and served no query, since a seat's usage is
always looked up by its member id (``seat_member_id = :id``, which implies NOT NULL on
both engines, so the partial index still serves it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_SEATS_ONLY = sa.text("seat_member_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_spends_seat_member_id_at", table_name="spends")
    op.create_index(
        "ix_spends_seat_member_id_at",
        "spends",
        ["seat_member_id", "at"],
        sqlite_where=_SEATS_ONLY,
        postgresql_where=_SEATS_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_spends_seat_member_id_at", table_name="spends")
    op.create_index("ix_spends_seat_member_id_at", "spends", ["seat_member_id", "at"])
