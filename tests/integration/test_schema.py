"""The schema reaches databases only through migrations, so they must match the tables."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inmail.services.context import Deps
from inmail.store.schema import include_object
from inmail.store.tables import metadata


def test_the_migrations_build_exactly_the_tables_the_code_uses(deps: Deps) -> None:
    with deps.db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": include_object}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []
