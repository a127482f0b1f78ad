"""Database adapter: tables, mapping, repositories, unit of work, outbox, Alembic migrations."""
