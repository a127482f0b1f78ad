"""Orders and order lines as imported from a shop, and what of them can still be returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from returnflow.domain.errors import QuantityExceedsReturnable


class LineKind(StrEnum):
    """What an order line is. Only ``goods`` can be returned; the others are charges on the order."""

    GOODS = "goods"
    SHIPPING = "shipping"  # postage / carriage charged to the customer
    FEE = "fee"  # bank charges, marketplace fees, commissions
    MANUAL = "manual"  # manual price adjustments
    DISCOUNT = "discount"
    SAMPLE = "sample"
    VOUCHER = "voucher"  # gift vouchers sold: money, not goods


@dataclass(eq=False)
class OrderLine:
    """A line of an order. Amounts in the order's currency; ``unit_price`` before discounts (and before
    tax when the order's prices exclude tax).

    ``line_discount``: discount on this line (a magnitude; a negative value from a source that writes
    discounts as negative amounts means the same discount); ``order_discount``: this line's share of
    order-level discounts (set by :func:`returnflow.domain.pricing.allocate_order_discount`);
    ``tax_amount``: tax charged on top (tax-exclusive prices), or 0 to compute it as
    ``tax_rate`` x net; ``tax_rate``: e.g. ``Decimal("0.20")`` for 20 %; ``invoiced_total``: the line
    total as actually charged, when the shop's invoice says so (it wins over the computed total, see
    ``domain/pricing.py``); ``category`` and ``tags`` select policy rules.
    """

    line_number: int
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    kind: LineKind = LineKind.GOODS
    line_discount: Decimal = Decimal(0)
    order_discount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    id: int | None = None
    order_id: int | None = None
    tax_rate: Decimal = Decimal(0)
    invoiced_total: Decimal | None = None
    category: str = ""
    tags: list[str] | None = None

    def paid_total(self, currency: str, *, prices_include_tax: bool = False) -> Decimal:
        """What the customer paid for the whole line, rounded to the currency's minor unit.

        See :func:`returnflow.domain.pricing.line_amounts` for the formula.
        """
        from returnflow.domain.pricing import line_amounts

        return line_amounts(self, currency=currency, prices_include_tax=prices_include_tax).gross


@dataclass(eq=False)
class Order:
    """A customer's order: ``order_number`` is the shop's number; ``placed_at`` timezone-aware UTC."""

    order_number: str
    customer_id: str
    customer_email: str
    country: str
    currency: str
    placed_at: datetime
    lines: list[OrderLine] = field(default_factory=list)
    id: int | None = None
    prices_include_tax: bool = False
    fulfilled_at: datetime | None = None
    delivered_at: datetime | None = None

    def line_paid_total(self, line: OrderLine) -> Decimal:
        """What was paid for ``line`` (rounded, order currency), in this order's tax mode."""
        return line.paid_total(self.currency, prices_include_tax=self.prices_include_tax)

    def goods_lines(self) -> list[OrderLine]:
        return [line for line in self.lines if line.kind == LineKind.GOODS]


def check_returnable(*, sku: str, bought: int, already_returned: int, requested: int) -> None:
    """Raise unless ``requested`` units fit in ``bought - already_returned``.

    ``already_returned`` counts units on every RMA of the line that is not rejected or cancelled
    (open RMAs included), as ERPNext's return validation and Medusa's RETURN_ITEM check do.

    Raises:
        QuantityExceedsReturnable: with the numbers, in words a customer understands.
    """
    left = bought - already_returned
    if requested > left:
        raise QuantityExceedsReturnable(
            f"{sku}: {requested} unit(s) asked for, but only {max(left, 0)} of the {bought} bought "
            f"can still be returned ({already_returned} already returned or requested)")
