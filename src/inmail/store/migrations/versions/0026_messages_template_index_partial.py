"""ix_messages_template_id only on messages that have a template

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 22:00:00

Most messages are written by hand (no ``template_id``): every one of them still added an
entry for NULL to ``ix_messages_template_id``, one more b-tree written at every send (on
SQLite one more page in the write-ahead log of each commit, measured: issue 13). The index
now holds only messages rendered from a template. Its one reader
(``store.templates.sent_from_templates``: ``template_id IN (the owner's templates)``) compares
the column with values, which implies ``IS NOT NULL``: both engines' planners use a partial
index for it.

Not ``CONCURRENTLY`` on PostgreSQL (``inmail db upgrade`` owns one transaction for all
migrations): writes to ``messages`` wait while the index builds, which reads only the rows
with a template. docs/deploy.md lists it in "Upgrading while serving".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_WITH_TEMPLATE = sa.text("template_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_messages_template_id", table_name="messages")
    op.create_index(
        "ix_messages_template_id",
        "messages",
        ["template_id"],
        sqlite_where=_WITH_TEMPLATE,
        postgresql_where=_WITH_TEMPLATE,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_template_id", table_name="messages")
    op.create_index("ix_messages_template_id", "messages", ["template_id"])
