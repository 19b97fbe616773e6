"""Drop ix_outbox_events_member_id

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01 04:30:00

Every event put an entry at its member's place in ``ix_outbox_events_member_id`` (member_id,
seq): members are many, so each entry landed on a page of its own, one more page written by
each event of each write (a send's three events wrote 3.0 pages of it to SQLite's log, of 33;
a spend's one 1.4 of 12; measured for issue 13). Its one reader was the operators'
``GET /v1/admin/events?member_id=``, which now examines a bounded window of the outbox after its
cursor (store/outbox.read_filtered, docs/events.md), as does the ``type`` filter, which never had
an index.

Both engines. Dropping an index takes a moment and no rebuild; the downgrade builds it again
(on PostgreSQL writes to the outbox wait while it builds). docs/deploy.md lists it.
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_events_member_id", table_name="outbox_events")


def downgrade() -> None:
    op.create_index("ix_outbox_events_member_id", "outbox_events", ["member_id", "seq"])
