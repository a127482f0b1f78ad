"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL: ``RETURNFLOW_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1/postgres``)
names the server; a throw-away database is created per test session and dropped after. Without CI a
missing server skips the PostgreSQL half; with ``CI=true`` it is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import returnflow  # noqa: F401  (registers the ISO 4217 table)
from returnflow.adapters.db.tables import metadata
from returnflow.bootstrap import Container, Settings, shared_data_dir
from returnflow.domain.orders import LineKind, Order, OrderLine
from returnflow.services import access, centers, staff
from returnflow.services.routing import forget_day_counts
from returnflow.services.setup import upgrade_database

PG_SERVER = os.environ.get("RETURNFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.exists():
        pytest.fail(f"shared data not found at {path}; set RETURNFLOW_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session."""
    server = make_url(PG_SERVER)
    name = f"returnflow_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {PG_SERVER}: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = server.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgresql_url(postgres_url: str) -> str:
    """The same throw-away database, under the dialect's name (the ``container`` fixture's parameter)."""
    return postgres_url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'returnflow.db'}"


_migrated: dict[str, Container] = {}


def _clean(container: Container) -> None:
    engine = container.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(text("DELETE FROM sqlite_sequence")) if conn.execute(
                text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None


@pytest.fixture(params=["sqlite", "postgresql"])
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    """A container on an empty, migrated database (SQLite, then PostgreSQL), with the default centers."""
    url = request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param])
    if url not in _migrated:
        c = Container(Settings(database_url=url, data_dir=tmp_path))
        upgrade_database(c.engine)
        _migrated[url] = c
    c = _migrated[url]
    _clean(c)
    c.forget_active_policy()  # the container outlives the test; the policy it cached was in the old rows
    forget_day_counts()  # and routing's count of the day's RMAs per center was of the old rows
    staff.forget_reason_codes()
    with c.uow() as uow:
        centers.ensure_default_centers(uow)
        uow.commit()
    yield c


@pytest.fixture
def staff_key(container: Container) -> str:
    with container.uow() as uow:
        key = access.create_api_key(uow, name="test-admin", scopes=["admin"])
        uow.commit()
    return key


def add_order(container: Container, *, order_number: str = "100001", customer_id: str = "C1",
              email: str = "ann@example.com", placed_at: datetime | None = None, currency: str = "GBP",
              country: str = "United Kingdom",
              lines: list[tuple[str, int, str]] | None = None) -> Order:
    """Store an order; ``lines`` are (sku, quantity, unit price as text)."""
    from sqlalchemy import insert, select

    from returnflow.adapters.db import tables as t

    lines = lines or [("SKU-A", 3, "10.00"), ("SKU-B", 1, "25.50")]
    with container.uow() as uow:
        if not uow.session.execute(select(t.customers.c.id).where(t.customers.c.id == customer_id)).first():
            uow.session.execute(insert(t.customers).values(id=customer_id, email=email, country=country,
                                                           postal_code="", tier="standard"))
        order = Order(order_number=order_number, customer_id=customer_id, customer_email=email, country=country,
                      currency=currency, placed_at=placed_at or datetime.now(UTC),
                      lines=[OrderLine(line_number=i, sku=sku, description=f"item {sku}", quantity=qty,
                                       unit_price=Decimal(price),
                                       kind=LineKind.SHIPPING if sku == "POST" else LineKind.GOODS)
                             for i, (sku, qty, price) in enumerate(lines, start=1)])
        uow.session.add(order)
        uow.commit()
    return order


#: A small policy with its own reasons: "damaged" needs a photo, "size" has two details (tests of reasons,
#: sub-reasons and photos).
PHOTO_AND_SIZE_POLICY = '''version = "photo-and-size"
[[reasons]]
code = "damaged"
label = "Arrived damaged"
photo_required = true

[[reasons]]
code = "size"
label = "Does not fit"
sub_reasons = ["too_small", "too_large"]
'''
