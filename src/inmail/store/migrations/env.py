"""Alembic environment: runs on the connection that ``inmail.store.schema`` hands it."""

from __future__ import annotations

from alembic import context

from inmail.store.schema import include_object
from inmail.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `inmail db upgrade` (inmail.store.schema)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
