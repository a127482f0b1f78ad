"""Helpers that build orders for the money tests (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from returnflow.domain.orders import LineKind, Order, OrderLine

PLACED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def line(line_id: int, unit_price: str, quantity: int = 1, *, kind: LineKind = LineKind.GOODS,
         line_discount: str = "0", tax_rate: str = "0", tax_amount: str = "0", invoiced_total: str | None = None,
         category: str = "", tags: list[str] | None = None, sku: str | None = None) -> OrderLine:
    return OrderLine(line_number=line_id, sku=sku or f"SKU-{line_id}", description=f"item {line_id}",
                     quantity=quantity, unit_price=Decimal(unit_price), kind=kind,
                     line_discount=Decimal(line_discount), tax_rate=Decimal(tax_rate),
                     tax_amount=Decimal(tax_amount),
                     invoiced_total=None if invoiced_total is None else Decimal(invoiced_total),
                     category=category, tags=tags, id=line_id)


def order(*lines: OrderLine, currency: str = "GBP", prices_include_tax: bool = False,
          number: str = "ORD-1") -> Order:
    return Order(order_number=number, customer_id="C1", customer_email="c1@example.com", country="GB",
                 currency=currency, placed_at=PLACED, lines=list(lines), prices_include_tax=prices_include_tax,
                 id=1)
