"""Claims: leased, and on PostgreSQL rows another worker is claiming are skipped, not waited for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container


def add_messages(container: Container, n: int) -> list[int]:
    now = datetime.now(UTC)
    with container.uow() as uow:
        uow.repo.add_outbox([("test.topic", {"n": i}) for i in range(n)], at=now)
        uow.commit()
    with container.engine.connect() as conn:
        return list(conn.execute(select(t.outbox.c.id).order_by(t.outbox.c.id)).scalars())


def test_a_claimed_message_is_not_claimed_again_until_its_lease_ends(container: Container) -> None:
    ids = add_messages(container, 6)
    first = container.outbox.claim(4)
    second = container.outbox.claim(4)
    assert [m.id for m in first] == ids[:4] and [m.id for m in second] == ids[4:]
    assert container.outbox.claim(4) == []
    assert {m.attempt for m in first + second} == {1}


def test_rows_locked_by_another_worker_are_skipped_on_postgresql(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
    ids = add_messages(container, 6)
    with container.engine.connect() as other:
        other.begin()
        other.execute(select(t.outbox.c.id).where(t.outbox.c.id.in_(ids[:3])).with_for_update())
        claimed = container.outbox.claim(10)  # would block here without SKIP LOCKED
        other.rollback()
    assert [m.id for m in claimed] == ids[3:]
