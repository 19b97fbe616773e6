"""the outbox of events, and an index for pruning old idempotency keys

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Each event carries its transaction's id on PostgreSQL (readers stop below the oldest
    # running one: store/outbox.py); SQLite's writers are serial, 0 serves. A default, so every
    # writer (the raw SQL of the spend hot path included) leaves the column out.
    if op.get_bind().dialect.name == "sqlite":
        tx_default = sa.text("0")
    else:
        tx_default = sa.text("(pg_current_xact_id()::text::bigint)")
    op.create_table(
        "outbox_events",
        sa.Column("seq", BigId, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tx", sa.BigInteger(), server_default=tx_default, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_events_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_events_tx", "outbox_events", ["tx", "seq"])
    op.create_index("ix_outbox_events_member_id", "outbox_events", ["member_id", "seq"])
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_index("ix_outbox_events_member_id", table_name="outbox_events")
    op.drop_index("ix_outbox_events_tx", table_name="outbox_events")
    op.drop_table("outbox_events")
