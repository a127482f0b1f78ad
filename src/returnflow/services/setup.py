"""Database set-up use cases: migrate, reset (demo only)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from returnflow.adapters.db import migrate
from returnflow.adapters.db.tables import metadata


def upgrade_database(engine: Engine) -> None:
    """Apply every Alembic migration (``returnflow db upgrade``)."""
    migrate.upgrade(engine)


def reset_database(engine: Engine) -> None:
    """Drop every Returnflow table and rebuild the schema from the migrations (the demo's fresh start)."""
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(engine)
