"""indexes for targeting: messages by sender, blocks by the blocked, connections (b, a)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 18:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Targeting asks for each candidate's latest message since a moment; the stats read the
    # InMails a member sent. Without it both scan every message.
    op.create_index("ix_messages_sender", "messages", ["sender_id", "created_at"])
    # Who blocked me: ix_blocks_blocked_id (migration 0010, for search) serves targeting too.
    # Connections by their b side answer from the index alone (as the primary key does for
    # the a side): mutual connections walk both sides of dozens of neighbour lists.
    op.drop_index("ix_connections_b", table_name="connections")
    op.create_index("ix_connections_b", "connections", ["b", "a"])


def downgrade() -> None:
    op.drop_index("ix_connections_b", table_name="connections")
    op.create_index("ix_connections_b", "connections", ["b"])
    op.drop_index("ix_messages_sender", table_name="messages")
