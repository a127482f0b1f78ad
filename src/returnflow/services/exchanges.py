"""Exchange use cases: swap returned units for another variant or another product, reserving stock.

* Same product, other variant (same ``products.product_group``): no price difference.
* Another product: ``price difference = new value - value returned`` (new value = price x units,
  rounded; value returned = the cumulative share of what was paid for those units). Positive: the
  customer pays it; negative: it is refunded. It is recorded on the exchange and sent through the
  outbox (``exchange.requested``) for the payment adapter.
* The new item's stock is reserved at request time (a negative ``exchange_reserved`` stock movement at
  the location with most stock). Out of stock -> :class:`OutOfStock` (409) and nothing changes.
* Instant exchange (policy ``[exchanges] instant``): the new item ships now, secured by a payment hold of
  its value, charged by :func:`charge_overdue_holds` if the returned units have not arrived within
  ``hold_days`` (Loop's instant exchange).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, update

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.money_repository import MoneyRepository
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from returnflow.domain.money import round_money, share_of_units
from returnflow.domain.policy import ReturnPolicy
from returnflow.domain.statuses import ReturnStatus
from returnflow.services.settlement import load_rma_and_order, request_hash

UowFactory = Callable[[], UnitOfWork]
_OPEN = {ReturnStatus.AUTHORIZED, ReturnStatus.LABEL_ISSUED, ReturnStatus.IN_TRANSIT,
         ReturnStatus.PARTIALLY_RECEIVED, ReturnStatus.RECEIVED, ReturnStatus.INSPECTED}


class OutOfStock(Conflict):
    """The item asked for in exchange has too few units in stock (HTTP 409)."""

    title = "Out of stock"


@dataclass(frozen=True)
class ExchangeResult:
    """An exchange: ids, the new SKU and units, where they were reserved, the values and the
    ``price_difference`` (> 0 the customer pays, < 0 refunded), hold if instant; ``replayed``."""

    exchange_id: int
    rma_number: str
    new_sku: str
    quantity: int
    location_code: str
    returned_value: Decimal
    new_value: Decimal
    price_difference: Decimal
    currency: str
    status: str
    instant: bool
    hold_amount: Decimal
    hold_due_at: datetime | None
    replayed: bool = False


def _result(row: object, rma_number: str, replayed: bool) -> ExchangeResult:
    r = row  # a Row of the exchanges table
    return ExchangeResult(exchange_id=r.id, rma_number=rma_number, new_sku=r.new_sku, quantity=r.quantity,  # type: ignore[attr-defined]
                          location_code=r.location_code, returned_value=Decimal(r.returned_value),  # type: ignore[attr-defined]
                          new_value=Decimal(r.new_value), price_difference=Decimal(r.price_difference),  # type: ignore[attr-defined]
                          currency=r.currency, status=r.status, instant=r.instant,  # type: ignore[attr-defined]
                          hold_amount=Decimal(r.hold_amount), hold_due_at=r.hold_due_at, replayed=replayed)  # type: ignore[attr-defined]


def _stock_by_location(uow: UnitOfWork, sku: str) -> list[tuple[str, int]]:
    m = t.stock_movements.c
    rows = uow.session.execute(select(m.location_code, func.sum(m.quantity)).where(m.sku == sku)
                               .group_by(m.location_code))
    return sorted(((code, int(units)) for code, units in rows), key=lambda r: (-r[1], r[0]))


def request_exchange(uow_factory: UowFactory, number: str, *, return_line_id: int, new_sku: str,
                     idempotency_key: str, actor: str, policy: ReturnPolicy, quantity: int | None = None,
                     instant: bool = False, at: datetime | None = None) -> ExchangeResult:
    """Exchange ``quantity`` (default: all not yet exchanged) units of an RMA line for ``new_sku``,
    reserving its stock. A unit is exchanged at most once; exchanged units are left out of the RMA's
    refund (``services.settlement``).

    Raises:
        NotFound: unknown RMA or product. InvalidInput: bad quantity, currency mismatch, instant
        exchange not offered by the policy. IllegalTransition: the RMA is not open.
        OutOfStock: not enough units of ``new_sku`` at any location (nothing changes).
        Conflict: the key was used for another request; the line's units are already exchanged.
    """
    if not idempotency_key:
        raise InvalidInput("an idempotency key is required")
    at = at or datetime.now(UTC)
    digest = request_hash(op="exchange", rma=number.strip(), line=return_line_id, sku=new_sku, quantity=quantity,
                          instant=instant)
    with uow_factory() as uow:
        rma, order = load_rma_and_order(uow, number, lock=True)
        prior = uow.session.execute(select(t.exchanges).where(t.exchanges.c.idempotency_key == idempotency_key)).first()
        if prior is not None:
            if prior.request_hash != digest:
                raise Conflict(f"idempotency key {idempotency_key!r} was used for a different request")
            return _result(prior, rma.number, True)
        if rma.status not in _OPEN:
            raise IllegalTransition(status=str(rma.status), action="exchange", rma_number=rma.number)
        if instant and not policy.instant_exchange:
            raise InvalidInput("instant exchanges are not offered by the return policy")
        line = rma.line(return_line_id)
        # Each unit asked back is exchanged at most once: a second exchange of the same units would
        # reserve (and ship) a second new item for one returned item.
        already = MoneyRepository(uow.session).exchanged_units(rma.id or 0).get(line.id or 0, 0)
        left = line.quantity - already
        units = max(left, 1) if quantity is None else quantity
        if not 1 <= units <= line.quantity:
            raise InvalidInput(f"exchange quantity must be 1..{line.quantity}, got {units}")
        if units > left:
            raise Conflict(f"return line {line.id} ({line.sku}): {already} of its {line.quantity} unit(s) are "
                           f"already exchanged; {max(left, 0)} left to exchange")
        product = uow.session.execute(select(t.products).where(t.products.c.sku == new_sku)).first()
        if product is None:
            raise NotFound(f"no product {new_sku}")
        if product.currency != order.currency:
            raise InvalidInput(f"{new_sku} is priced in {product.currency}, the order in {order.currency}")
        old = uow.session.execute(select(t.products.c.product_group).where(t.products.c.sku == line.sku)).scalar()
        returned = share_of_units(line.paid_amount, quantity=line.quantity, units_before=already, units=units,
                                  currency=order.currency)
        same_product = bool(old) and old == product.product_group
        new_value = returned if same_product else round_money(Decimal(product.price) * units, order.currency)
        stock = [(code, level) for code, level in _stock_by_location(uow, new_sku) if level >= units]
        if not stock:
            raise OutOfStock(f"{new_sku} is out of stock ({units} unit(s) needed); choose another item or a refund")
        location = stock[0][0]
        uow.session.execute(insert(t.stock_movements).values(sku=new_sku, location_code=location, quantity=-units,
                                                             reason="exchange_reserved", rma_number=rma.number,
                                                             occurred_at=at))
        values = dict(idempotency_key=idempotency_key, request_hash=digest, rma_id=rma.id, return_line_id=line.id,
                      new_sku=new_sku, quantity=units, location_code=location, returned_value=returned,
                      new_value=new_value, price_difference=new_value - returned, currency=order.currency,
                      status="shipped" if instant else "reserved", instant=instant,
                      hold_amount=new_value if instant else Decimal(0),
                      hold_due_at=at + timedelta(days=policy.instant_exchange_hold_days) if instant else None,
                      created_at=at)
        exchange_id = int(uow.session.execute(insert(t.exchanges).values(**values)).inserted_primary_key[0])
        uow.repo.add_outbox([("exchange.requested", {
            "type": "exchange.requested", "occurred_at": at.isoformat(), "rma_number": rma.number, "order_number": order.order_number,
            "new_sku": new_sku, "quantity": units, "price_difference": str(new_value - returned),
            "currency": order.currency, "instant": instant, "hold_amount": str(values["hold_amount"])})], at=at)
        uow.commit()
        row = uow.session.execute(select(t.exchanges).where(t.exchanges.c.id == exchange_id)).first()
        return _result(row, rma.number, False)


def charge_overdue_holds(uow_factory: UowFactory, *, at: datetime | None = None) -> list[int]:
    """Charge the hold of every instant exchange whose returned units have not arrived by its due date;
    returns the exchange ids charged (each once: its status becomes ``charged``)."""
    at = at or datetime.now(UTC)
    x, ra, rl = t.exchanges.c, t.return_authorizations.c, t.return_lines.c
    with uow_factory() as uow:
        due = uow.session.execute(select(x.id, ra.number, x.hold_amount, x.currency).join(
            t.return_authorizations, ra.id == x.rma_id).join(t.return_lines, rl.id == x.return_line_id)
            .where(x.instant.is_(True)).where(x.status == "shipped").where(x.hold_due_at <= at)
            .where(rl.quantity_received == 0).with_for_update(of=t.exchanges)).all()
        for exchange_id, _, _, _ in due:
            uow.session.execute(update(t.exchanges).where(x.id == exchange_id).values(status="charged"))
        uow.repo.add_outbox([("exchange.hold_charged", {"type": "exchange.hold_charged", "occurred_at": at.isoformat(), "rma_number": number,
                                                        "amount": str(amount), "currency": currency})
                             for _, number, amount, currency in due], at=at)
        uow.commit()
        return [int(row[0]) for row in due]
