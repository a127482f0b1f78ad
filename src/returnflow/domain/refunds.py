"""Simple per-line refund share (no fees, no tax split), used by the portal and console previews.

The refund that is issued is computed by :mod:`returnflow.domain.settlement` (quote_refund); for a plain
line without fees both agree, since both take the cumulative share of what was paid for the line.

Only units received and accepted are refunded, and never more than was paid for them: the amount for
``k`` units of a line is its cumulative share (:func:`returnflow.domain.money.share_of_units`), so
partial refunds of one line add up exactly to what was paid for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from returnflow.domain.money import share_of_units
from returnflow.domain.orders import OrderLine


@dataclass(frozen=True)
class LineRefund:
    """Refund of one return line: ``units`` refunded for ``amount`` (rounded, order currency)."""

    order_line_id: int
    units: int
    amount: Decimal


@dataclass
class RefundQuote:
    """The refund of a return: per-line amounts and their ``total`` in ``currency``."""

    currency: str
    lines: list[LineRefund] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def quote_line(order_line: OrderLine, *, currency: str, units: int, units_already_refunded: int) -> LineRefund:
    """Refund for ``units`` more units of ``order_line`` after ``units_already_refunded`` were refunded.

    Raises:
        InvalidInput: more units than the line has left.
    """
    amount = share_of_units(order_line.paid_total(currency) + 0, quantity=order_line.quantity,
                            units_before=units_already_refunded, units=units, currency=currency)
    return LineRefund(order_line_id=order_line.id or 0, units=units, amount=amount)
