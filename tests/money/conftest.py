"""Fixtures for the money tests: a migrated SQLite file and PostgreSQL database, emptied per test.

PostgreSQL: ``RETURNFLOW_TEST_POSTGRES_URL`` names the server; the tests use a throw-away database of
their own per session (two sessions sharing one fixed database name drop each other's tables).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

import returnflow  # noqa: F401
from returnflow.adapters.db import migrate
from returnflow.adapters.db.engine import make_engine, make_session_factory
from returnflow.adapters.db.tables import metadata
from returnflow.adapters.db.unit_of_work import UnitOfWork

#: Same convention as tests/conftest.py: the variable names the server; these tests create the database
#: ``returnflow_money_<random>`` on it for the session, empty its tables before each test, and drop it after.
SERVER_URL = os.environ.get("RETURNFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")
DATABASE = f"returnflow_money_{uuid.uuid4().hex[:10]}"


def _postgres_url() -> str:
    server = make_url(SERVER_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        admin.dispose()
    return server.set(database=DATABASE).render_as_string(hide_password=False)


def _drop_postgres() -> None:
    admin = create_engine(make_url(SERVER_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _fresh(engine: Engine) -> None:
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(engine)


@pytest.fixture(scope="session")
def _engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Engine]]:
    sqlite = make_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('money')) / 'money.db'}")
    postgres = make_engine(_postgres_url())
    for engine in (sqlite, postgres):
        _fresh(engine)
    yield {"sqlite": sqlite, "postgresql": postgres}
    sqlite.dispose()
    postgres.dispose()
    _drop_postgres()


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            pass  # INTEGER PRIMARY KEY without AUTOINCREMENT: ids restart from max+1


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, _engines: dict[str, Engine]) -> Engine:
    engine = _engines[request.param]
    _empty(engine)
    return engine


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    factory = make_session_factory(engine)
    return lambda: UnitOfWork(factory)
