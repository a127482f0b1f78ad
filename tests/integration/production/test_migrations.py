"""The Alembic migrations build exactly the schema the table definitions describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from returnflow.adapters.db.tables import metadata
from returnflow.bootstrap import Container


def test_migrations_produce_exactly_the_models_schema(container: Container) -> None:
    with container.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
