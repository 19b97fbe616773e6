"""Lots indexed in spending order: the credits overview reads its first lots, not all

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 15:00:00

``GET /v1/me/credits`` lists every live plan lot and the first 10 other live lots in
spending order (SPEC §3). With only ``ix_lots_member_id`` the database read and sorted all of
a member's lots for that: 400 lots made the read cost three times what one did (issue 13).
``ix_lots_spending_order`` holds each member's lots in that order, so the overview reads a
range of it and stops after 10.

It replaces ``ix_lots_member_id``, whose one column is its first. It is not partial on
``remaining > 0``: a spend changes ``remaining``, and SQLite would then rewrite the lot's
index entry at every spend (2.5 more WAL frames a commit, measured).

SQLAlchemy cannot reflect an expression index on SQLite: a later migration that rebuilds
``lots`` there (``batch_alter_table``) must create this index again, or it is lost.

Not ``CONCURRENTLY`` on PostgreSQL: ``inmail db upgrade`` runs every migration in one
transaction (store/schema.py), and Alembic's autocommit block cannot end a transaction its
caller owns. Writes to ``lots`` (every spend) wait while the index builds: seconds per
million lots; docs/deploy.md, "Upgrading while serving", says to run it in a quiet hour.
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# The expressions exactly as store/tables.py's Index renders them: the queries' predicates
# and ORDER BY match the index by these expressions.
_COLUMNS = (
    "member_id, (source = 'allotment'), (expires_at IS NULL), "
    "coalesce(expires_at, created_at), created_at, id"
)


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_lots_spending_order ON lots ({_COLUMNS})")
    op.drop_index("ix_lots_member_id", table_name="lots")


def downgrade() -> None:
    op.create_index("ix_lots_member_id", "lots", ["member_id"])
    op.drop_index("ix_lots_spending_order", table_name="lots")
