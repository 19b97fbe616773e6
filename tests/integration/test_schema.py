"""The schema reaches databases only through migrations, so they must match the tables."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inmail.services.context import Deps
from inmail.store.tables import metadata


def test_the_migrations_build_exactly_the_tables_the_code_uses(deps: Deps) -> None:
    with deps.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []
