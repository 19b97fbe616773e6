"""the search index: members and groups by their folded words (FTS5 on SQLite, GIN on PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:00:00

The words are folded by inmail.domain.search (one rule for both engines), so
PostgreSQL needs no extension: no unaccent() (which is not IMMUTABLE, so no
index could call it) and no pg_trgm (a word starts-with match is a full-text
prefix query). Existing members and groups are indexed here, in the order they
were created.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from inmail.domain.search import group_document, member_document

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = ("member_search", "group_search")
# Words are tagged "n:", "c:"...: the colon is part of a word for the FTS5 tokenizer.
FTS5 = (
    "CREATE VIRTUAL TABLE {name}_fts USING fts5(document, content='{name}', "
    "content_rowid='seq', tokenize=\"unicode61 remove_diacritics 2 tokenchars ':'\", "
    "prefix='2 3 4')"
)
# The external-content FTS5 table follows its table through these (the SQLite manual's own).
TRIGGERS = (
    "CREATE TRIGGER {name}_fts_insert AFTER INSERT ON {name} BEGIN "
    "INSERT INTO {name}_fts(rowid, document) VALUES (new.seq, new.document); END",
    "CREATE TRIGGER {name}_fts_delete AFTER DELETE ON {name} BEGIN "
    "INSERT INTO {name}_fts({name}_fts, rowid, document) "
    "VALUES ('delete', old.seq, old.document); END",
    "CREATE TRIGGER {name}_fts_update AFTER UPDATE ON {name} BEGIN "
    "INSERT INTO {name}_fts({name}_fts, rowid, document) "
    "VALUES ('delete', old.seq, old.document); "
    "INSERT INTO {name}_fts(rowid, document) VALUES (new.seq, new.document); END",
)

members = sa.table(
    "members",
    sa.column("id", sa.String),
    sa.column("handle", sa.String),
    sa.column("name", sa.String),
    sa.column("headline", sa.String),
    sa.column("company", sa.String),
    sa.column("school", sa.String),
    sa.column("interests", sa.JSON),
    sa.column("created_at", sa.DateTime),
)
groups = sa.table(
    "groups",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("created_at", sa.DateTime),
)


def _index_table(name: str, owner: str, owned: str) -> None:
    document = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")
    op.create_table(
        name,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(owner, sa.String(length=40), nullable=False),
        sa.Column("document", document, nullable=False),
        sa.ForeignKeyConstraint([owner], [f"{owned}.id"], name=f"fk_{name}_{owner}_{owned}"),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.UniqueConstraint(owner, name=f"uq_{name}_{owner}"),
    )


def upgrade() -> None:
    op.create_index("ix_blocks_blocked_id", "blocks", ["blocked_id"], unique=False)
    _index_table("member_search", "member_id", "members")
    _index_table("group_search", "group_id", "groups")
    if op.get_bind().dialect.name == "sqlite":
        for name in INDEXES:
            op.execute(FTS5.format(name=name))
            for trigger in TRIGGERS:
                op.execute(trigger.format(name=name))
    else:
        for name in INDEXES:
            op.execute(f"CREATE INDEX ix_{name}_document ON {name} USING gin (document)")
    _index_existing()


def _index_existing() -> None:
    conn = op.get_bind()
    found = conn.execute(sa.select(members).order_by(members.c.created_at, members.c.id))
    for batch in _batches(
        (
            r.id,
            member_document(
                name=r.name,
                handle=r.handle,
                headline=r.headline,
                company=r.company,
                school=r.school,
                interests=r.interests,
            ),
        )
        for r in found
    ):
        _insert(conn, "member_search", "member_id", batch)
    found = conn.execute(sa.select(groups).order_by(groups.c.created_at, groups.c.id))
    for batch in _batches(
        (r.id, group_document(name=r.name, description=r.description)) for r in found
    ):
        _insert(conn, "group_search", "group_id", batch)


def _batches(rows: Iterator[tuple[str, Sequence[str]]]) -> Iterator[list[tuple[str, Any]]]:
    batch: list[tuple[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == 1000:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(
    conn: sa.Connection, table: str, owner: str, rows: list[tuple[str, Sequence[str]]]
) -> None:
    values: list[dict[str, Any]]
    if conn.dialect.name == "sqlite":
        document = ":words"
        values = [{"owner": o, "words": " ".join(words)} for o, words in rows]
    else:
        document = "array_to_tsvector(CAST(:words AS text[]))"
        values = [{"owner": o, "words": list(words)} for o, words in rows]
    statement = f"INSERT INTO {table} ({owner}, document) VALUES (:owner, {document})"
    conn.execute(sa.text(statement), values)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in INDEXES:
            for kind in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {name}_fts_{kind}")
            op.execute(f"DROP TABLE {name}_fts")
    op.drop_table("group_search")
    op.drop_table("member_search")
    op.drop_index("ix_blocks_blocked_id", table_name="blocks")
