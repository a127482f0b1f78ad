"""Routing respects a return center's daily capacity (SQLite and PostgreSQL).

The default centers (services/centers.py): RC-UK-01 Daventry, RC-EU-01 Venlo, RC-US-01 Omaha. A customer in the
United Kingdom is nearest Daventry; with Daventry full, the next cheapest capable center takes the return.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, update

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.services import returns as svc
from returnflow.services import routing
from tests.conftest import add_order


def ask(container: Container, order_number: str, email: str) -> str:
    rma = svc.request_return(container.uow, order_number=order_number, proof=email,
                             lines=[svc.RequestedLine(sku="SKU-A", quantity=1, reason="damaged")],
                             actor=None, policy=container.policy)
    assert rma.return_center_code is not None
    return rma.return_center_code


def set_capacity(container: Container, code: str, capacity: int) -> None:
    with container.engine.begin() as conn:
        conn.execute(update(t.return_centers).where(t.return_centers.c.code == code).values(daily_capacity=capacity))
    routing.forget_centers()


def test_a_full_center_sends_the_next_return_elsewhere(container: Container) -> None:
    set_capacity(container, "RC-UK-01", 2)
    for n in range(3):
        add_order(container, order_number=f"10000{n}", customer_id=f"C{n}", email=f"c{n}@example.com")
    assert [ask(container, f"10000{n}", f"c{n}@example.com") for n in range(3)] == [
        "RC-UK-01", "RC-UK-01", "RC-EU-01"]  # the third finds Daventry's 2 places of the day taken


def test_returns_routed_by_another_process_count_once_the_process_counts_again(
        container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    set_capacity(container, "RC-UK-01", 2)
    add_order(container, order_number="100001", customer_id="C1", email="ann@example.com")
    add_order(container, order_number="100002", customer_id="C2", email="bob@example.com")
    assert ask(container, "100001", "ann@example.com") == "RC-UK-01"  # 1 of 2 used, counted by this process
    with container.engine.begin() as conn:  # another API process routes one to Daventry meanwhile
        order = conn.execute(select(t.orders.c.id).where(t.orders.c.order_number == "100002")).scalar_one()
        conn.execute(insert(t.return_authorizations).values(
            number="RMA-OTHER", order_id=order, order_number="100002", customer_id="C2", currency="GBP",
            status="authorized", channel="api", return_center_code="RC-UK-01", decision="", refund_total=0,
            requested_at=datetime.now(UTC)))
    monkeypatch.setattr(routing, "USED_TODAY_TTL_SECONDS", 0.0)
    routing.forget_day_counts()  # as when the TTL has run out
    assert ask(container, "100002", "bob@example.com") == "RC-EU-01"  # 2 of 2 used: Daventry is full


def test_yesterdays_returns_do_not_use_todays_capacity(container: Container) -> None:
    set_capacity(container, "RC-UK-01", 1)
    add_order(container, order_number="100001", customer_id="C1", email="ann@example.com")
    with container.engine.begin() as conn:
        order = conn.execute(select(t.orders.c.id)).scalar_one()
        conn.execute(insert(t.return_authorizations).values(
            number="RMA-OLD", order_id=order, order_number="100001", customer_id="C1", currency="GBP",
            status="closed", channel="api", return_center_code="RC-UK-01", decision="", refund_total=0,
            requested_at=datetime(2026, 1, 1, 23, 59, tzinfo=UTC)))
    with container.uow() as uow:
        assert routing.routed_today(uow, datetime(2026, 1, 2, 0, 0, tzinfo=UTC)) == {}
        routing.forget_day_counts()
        assert routing.routed_today(uow, datetime(2026, 1, 1, 12, 0, tzinfo=UTC)) == {"RC-UK-01": 1}
