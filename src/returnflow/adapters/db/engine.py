"""Engine and session factory for any SQLAlchemy URL (SQLite by default, PostgreSQL via psycopg 3)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from returnflow.adapters.db.mapping import start_mappers


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine. SQLite files get WAL, foreign keys and a busy timeout; their folder is created.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL cannot be parsed.
    """
    start_mappers()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them as results)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
