"""indexes for targeting: posts by author and time, InMail threads to a member with their outcome

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 08:00:00

Ranking 200 candidates (issue 10 §4) asks, for each, their latest post since a moment
and the InMail threads they received since another. Both were index range scans that
then read every row found from the table (posts by (author, seq) checked the time on
each row; threads by (recipient, last activity) checked the kind and read the outcome):
on the 100,000-member graph about 1.4 and 1.8 ms of the server's CPU a ranking. Here both
answer from the index alone: posts by (author, created_at), and the InMail threads to a
member by (recipient, last activity) with, on PostgreSQL, their status and times carried
in the index (INCLUDE; SQLite has no INCLUDE and keeps the partial index only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

INMAIL = sa.text("kind = 'inmail'")


def upgrade() -> None:
    op.create_index("ix_posts_author_created_at", "posts", ["author_id", "created_at"])
    op.create_index(
        "ix_threads_inmails_to",
        "threads",
        ["recipient_id", "last_message_at"],
        postgresql_include=["status", "created_at", "responded_at"],
        postgresql_where=INMAIL,
        sqlite_where=INMAIL,
    )


def downgrade() -> None:
    op.drop_index("ix_threads_inmails_to", table_name="threads")
    op.drop_index("ix_posts_author_created_at", table_name="posts")
