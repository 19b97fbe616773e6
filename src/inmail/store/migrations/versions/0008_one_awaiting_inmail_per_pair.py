"""one InMail awaiting a response per sender and recipient (a unique partial index)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00

Older databases (and demo data) may hold several InMail threads awaiting a response
from one sender to one recipient. They stay as they are: each is a real InMail that its
recipient may still answer or decline, and its sender may still follow up, and a status
is something members see. What the migration adds is ``threads.duplicate_rank``: 0 for
the newest such thread of a pair (and for every other thread), 1, 2, ... for the older
ones. The unique index is over (sender, recipient, rank), so it holds over those older
threads and allows exactly one new-style awaiting thread per pair from now on: every new
thread takes rank 0 (docs/rules.md, "One InMail awaiting").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

AWAITING = "kind = 'inmail' AND status = 'awaiting_response'"
INDEX = "uq_threads_awaiting_inmail"

# How many newer InMail threads of the same pair await a response (created_at, then id,
# breaks ties), set only on the threads that have one.
_NEWER = (
    "FROM threads AS newer "
    "WHERE newer.initiator_id = threads.initiator_id "
    "AND newer.recipient_id = threads.recipient_id "
    "AND newer.kind = 'inmail' AND newer.status = 'awaiting_response' "
    "AND (newer.created_at > threads.created_at "
    "OR (newer.created_at = threads.created_at AND newer.id > threads.id))"
)
RANK_OLDER_DUPLICATES = (
    f"UPDATE threads SET duplicate_rank = (SELECT COUNT(*) {_NEWER}) "
    f"WHERE {AWAITING} AND EXISTS (SELECT 1 {_NEWER})"
)


def upgrade() -> None:
    op.add_column(
        "threads",
        sa.Column("duplicate_rank", sa.Integer(), server_default="0", nullable=False),
    )
    op.execute(RANK_OLDER_DUPLICATES)
    op.create_index(
        INDEX,
        "threads",
        ["initiator_id", "recipient_id", "duplicate_rank"],
        unique=True,
        sqlite_where=sa.text(AWAITING),
        postgresql_where=sa.text(AWAITING),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="threads")
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("duplicate_rank")
