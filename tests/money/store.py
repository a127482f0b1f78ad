"""Put orders, payments and a return center into a test database and walk an RMA to inspection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.money_repository import MoneyRepository
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.orders import Order
from returnflow.domain.policy import ReturnPolicy
from returnflow.domain.returns import ReturnAuthorization
from returnflow.services import returns

Uow = Callable[[], UnitOfWork]


def store_order(uow_factory: Uow, order: Order, payments: Sequence[tuple[str, str]] = (), tier: str = "standard"
                ) -> Order:
    """Store ``order`` (its lines keep their ids) and ``payments`` as (method, captured amount)."""
    with uow_factory() as uow:
        if uow.repo.customer_email(order.customer_id) is None:
            uow.session.execute(insert(t.customers).values(id=order.customer_id, email=order.customer_email,
                                                           country="GB", postal_code="", tier=tier))
        if not uow.repo.return_center_exists("RC1"):
            uow.session.execute(insert(t.return_centers).values(code="RC1", name="Centre", country="GB",
                                                                capabilities=[]))
        order.id = None
        for line in order.lines:
            line.id = None
        uow.session.add(order)
        uow.session.flush()
        for method, amount in payments:
            MoneyRepository(uow.session).add_payment(order_id=order.id or 0, method=method, amount=Decimal(amount))
        uow.commit()
    return order


def request(uow_factory: Uow, order: Order, lines: dict[int, int], *, policy: ReturnPolicy, reason: str = "",
            days_after: int = 5, photos: int = 0) -> ReturnAuthorization:
    """Request ``lines`` (order line id -> units) with one reason, ``days_after`` the purchase. The default reason
    is the fit: the policy's ``size`` where it lists its reasons, else the managed list's ``wrong_size``."""
    reason = reason or ("size" if policy.reason("size") else "wrong_size")
    return returns.request_return(
        uow_factory, order_number=order.order_number, proof=order.customer_email, actor="customer:C1",
        policy=policy, at=order.placed_at + timedelta(days=days_after),
        lines=[returns.RequestedLine(quantity=q, reason=reason, order_line_id=i, photos=photos)
               for i, q in lines.items()])


def receive_and_inspect(uow_factory: Uow, rma: ReturnAuthorization, received: dict[int, int] | None = None,
                        *, accept: bool = True) -> ReturnAuthorization:
    """Receive ``received`` (order line id -> units; default all asked) and accept (grade A) every line."""
    by_order_line = {l.order_line_id: l for l in rma.lines}
    counts = {by_order_line[k].id or 0: v for k, v in (received or {l.order_line_id: l.quantity
                                                                   for l in rma.lines}).items()}
    rma = returns.receive(uow_factory, rma.number, quantities=counts, return_center_code="RC1", actor="staff:w")
    for line in rma.lines:
        if line.quantity_received:
            rma = returns.inspect_line(uow_factory, rma.number, line_id=line.id or 0, grade="A", actor="staff:w",
                                       accept=accept)
    return rma

def catalogue(uow_factory, *rows) -> None:  # type: ignore[no-untyped-def]
    """Products (sku, product group, price, stock at RC1)."""
    with uow_factory() as uow:
        for sku, group, price, stock in rows:
            uow.session.execute(insert(t.products).values(sku=sku, name=sku, product_group=group, price=Decimal(price),
                                                          currency="GBP"))
            if stock:
                uow.session.execute(insert(t.stock_movements).values(sku=sku, location_code="RC1", quantity=stock,
                                                                     reason="initial",
                                                                     occurred_at=datetime.now(UTC)))
        uow.commit()


def stock(uow_factory, sku: str) -> int:  # type: ignore[no-untyped-def]
    """Units of ``sku`` in stock over all locations (the stock movement ledger)."""
    with uow_factory() as uow:
        return int(uow.session.execute(select(func.coalesce(func.sum(t.stock_movements.c.quantity), 0))
                                       .where(t.stock_movements.c.sku == sku)).scalar_one())
