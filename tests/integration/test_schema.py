"""The schema reaches databases only through migrations, so they must match the tables."""

import re
import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Connection
from sqlalchemy.schema import CreateIndex

from inmail.services.context import Deps
from inmail.store.schema import include_object
from inmail.store.tables import metadata

# SQLAlchemy cannot reflect SQLite's expression indexes (it warns and leaves them out), so
# on SQLite every index with an expression is compared by its CREATE statement instead
# (migration 0025's ix_lots_spending_order is the first).
EXPRESSION_INDEXES = {
    str(ix.name): ix
    for table in metadata.tables.values()
    for ix in table.indexes
    if any(not isinstance(e, Column) for e in ix.expressions)
}


def test_the_migrations_build_exactly_the_tables_the_code_uses(deps: Deps) -> None:
    sqlite = deps.db.engine.dialect.name == "sqlite"

    def included(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if sqlite and name in EXPRESSION_INDEXES:
            return False
        return include_object(obj, name, kind, reflected, compare_to)

    with deps.db.engine.connect() as conn, warnings.catch_warnings():
        if sqlite:
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
            assert _sqlite_expression_indexes(conn) == _declared(conn)
        context = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": included}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def _sqlite_expression_indexes(conn: Connection) -> dict[str, str]:
    found = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
    return {name: _bare(sql) for name, sql in found if name in EXPRESSION_INDEXES}


def _declared(conn: Connection) -> dict[str, str]:
    return {
        name: _bare(str(CreateIndex(index).compile(dialect=conn.dialect)))
        for name, index in EXPRESSION_INDEXES.items()
    }


def _bare(sql: str) -> str:
    """The statement without spacing or parentheses (the migration wraps each expression)."""
    return re.sub(r"[\s()]", "", sql)
