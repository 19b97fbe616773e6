"""Spends keyed by their reference

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01 07:00:00

A spend is identified by what it paid for: its reference is unique, and every lookup goes by it
(a refund, the audit, an InMail's message). Its ``id`` (``sp_…``) is a label carried in the
spend's answers, never looked up. Yet the id was the key and the reference a unique index beside
it, so every spend wrote two b-trees for one row: on SQLite 1.7 pages more in the write-ahead log
per spend (11.2 against 9.5, measured for issue 13), on PostgreSQL one more index entry.

The reference becomes the primary key and the id a plain column:

- PostgreSQL: the primary key on ``id`` and the unique constraint on ``reference`` are dropped
  and the primary key is built on ``reference`` (PostgreSQL cannot hand a constraint's index to
  another constraint): spends wait while it builds, seconds per million rows (docs/deploy.md).
- SQLite: ``spends`` is copied into its new shape (``WITHOUT ROWID``, keyed by the reference),
  with its CHECK and its partial index of seats' spends.

The downgrade puts the key back on ``id`` (the ids are unique: each is a new UUIDv7).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from alembic import op
from alembic.operations import BatchOperations

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _copied_spends() -> AbstractContextManager[BatchOperations]:
    """SQLite: ``spends`` copied into the shape its block describes, still ``WITHOUT ROWID``
    (migration 0027)."""
    return op.batch_alter_table(
        "spends", recreate="always", table_kwargs={"sqlite_with_rowid": False}
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with _copied_spends() as batch:
            batch.drop_constraint("pk_spends", type_="primary")
            batch.drop_constraint("uq_spends_reference", type_="unique")
            batch.create_primary_key("pk_spends", ["reference"])
        return
    op.drop_constraint("pk_spends", "spends", type_="primary")
    op.drop_constraint("uq_spends_reference", "spends", type_="unique")
    op.create_primary_key("pk_spends", "spends", ["reference"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with _copied_spends() as batch:
            batch.drop_constraint("pk_spends", type_="primary")
            batch.create_primary_key("pk_spends", ["id"])
            batch.create_unique_constraint("uq_spends_reference", ["reference"])
        return
    op.drop_constraint("pk_spends", "spends", type_="primary")
    op.create_unique_constraint("uq_spends_reference", "spends", ["reference"])
    op.create_primary_key("pk_spends", "spends", ["id"])
