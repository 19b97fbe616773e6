"""SQLite: spends keyed by their id alone, and an outbox without AUTOINCREMENT's counter

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 01:00:00

Every page a transaction changes is written to SQLite's write-ahead log and synced at its
commit; a spend changed 13.5, against 3 for the same logical write in raw ``sqlite3``
(issue 13, ``spend_sqlite``). Two of them held nothing a reader needs:

- ``spends`` was a rowid table with its text primary key in an index beside it: two
  b-trees for one key. As a ``WITHOUT ROWID`` table its rows live in the key's own b-tree
  (spend ids are ``new_id``'s, time-ordered, so new rows go to its right edge).
- ``outbox_events`` was ``AUTOINCREMENT``: SQLite then keeps the highest ``seq`` ever
  given in ``sqlite_sequence`` and rewrites that page at every event. Without it a new
  row gets ``max(seq) + 1``, the same number, for as long as the newest event is never
  deleted. No outbox row is ever deleted (docs/events.md states the rule: a retention that
  prunes the outbox must keep its newest row), so ``seq`` is still never reused and a
  webhook's cursor never skips an event. A file whose newest events were deleted by hand
  (the counter past the newest row) keeps ``AUTOINCREMENT``, with a warning: there the
  counter is what keeps those positions from being given again.

PostgreSQL is unchanged (no rowid; its sequence never gives a number twice). Both tables
are rebuilt and copied on SQLite: writes wait meanwhile (docs/deploy.md).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def _rebuild(table: str, **kwargs: bool) -> None:
    with op.batch_alter_table(table, recreate="always", table_kwargs=kwargs):
        pass


def _newest_events_were_deleted() -> bool:
    """Whether AUTOINCREMENT's counter is past the newest row: events at the end were
    deleted by hand. Without the counter their positions would be given again, and a
    cursor already past them would skip the new events."""
    bind = op.get_bind()
    given = bind.execute(
        sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'outbox_events'")
    ).scalar()
    newest = bind.execute(sa.text("SELECT max(seq) FROM outbox_events")).scalar()
    return (given or 0) > (newest or 0)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("spends", sqlite_with_rowid=False)
        if _newest_events_were_deleted():
            logging.getLogger("alembic.runtime.migration").warning(
                "outbox_events keeps AUTOINCREMENT: its newest events were deleted, and "
                "without the counter their positions would be given again"
            )
        else:
            _rebuild("outbox_events", sqlite_autoincrement=False)


def _outbox_has_its_counter() -> bool:
    defined = op.get_bind().execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox_events'")
    )
    return "AUTOINCREMENT" in str(defined.scalar_one()).upper()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("spends", sqlite_with_rowid=True)
        if not _outbox_has_its_counter():  # kept by upgrade: a rebuild would reset it
            _rebuild("outbox_events", sqlite_autoincrement=True)
