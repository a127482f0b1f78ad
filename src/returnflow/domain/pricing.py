"""What an order line cost: discounts, tax (exclusive or inclusive), and the invoiced truth.

The refund of any set of units is a share of what was *paid* for their line, so everything starts
from one number per line, :attr:`LineAmounts.gross` (whole minor units):

* ``net = unit_price x quantity - |line_discount| - |order_discount|`` (line discounts first, then the
  line's share of order-level discounts, see :func:`allocate_order_discount`). Discounts are
  magnitudes: a source that writes ``-4.45`` means the same discount as ``4.45`` (issue 3, case 4;
  Medusa's refund bugs came from flipped signs).
* tax-exclusive prices: ``tax = tax_amount`` if given, else ``net x tax_rate``; ``gross = net + tax``.
* tax-inclusive prices: ``gross = net``; the tax inside it is ``net x rate / (1 + rate)``.
* ``invoiced_total`` (what the shop actually charged, e.g. 701.30 for 10 x 70.125 = 701.25 because
  the shop rounded the unit price) wins over the computed gross: refunds follow the money, not a
  recomputation. The tax inside it keeps the computed ratio ``tax / gross``.

``gross`` is rounded once, half-up, to the currency (``money.round_money``). ``tax`` is the part of
``gross`` that is tax, also whole minor units (largest remainder split of ``gross`` by the exact
``net : tax`` ratio), so ``net_part + tax == gross`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from returnflow.domain.errors import InvalidInput
from returnflow.domain.money import allocate, round_money
from returnflow.domain.orders import LineKind, Order, OrderLine


@dataclass(frozen=True)
class LineAmounts:
    """One line's money (order currency): ``gross`` paid and the ``tax`` inside it (rounded);
    ``exact_net`` / ``exact_tax`` unrounded, used as split weights."""

    gross: Decimal
    tax: Decimal
    exact_net: Decimal
    exact_tax: Decimal

    @property
    def net(self) -> Decimal:
        """``gross - tax``: the value of the goods without tax (whole minor units)."""
        return self.gross - self.tax


def line_amounts(line: OrderLine, *, currency: str, prices_include_tax: bool) -> LineAmounts:
    """The paid amounts of ``line`` (formula in the module docstring).

    Raises:
        InvalidInput: a negative unit price, quantity or tax rate; discounts larger than the line.
    """
    if line.unit_price < 0 or line.quantity < 0 or line.tax_rate < 0:
        raise InvalidInput(f"line {line.line_number}: price, quantity and tax rate must not be negative")
    net = line.unit_price * line.quantity - abs(line.line_discount) - abs(line.order_discount)
    if net < 0:
        raise InvalidInput(f"line {line.line_number}: discounts exceed the line's value")
    if prices_include_tax:
        exact_tax = net * line.tax_rate / (1 + line.tax_rate)
        exact_gross = net
    else:
        exact_tax = abs(line.tax_amount) if line.tax_amount else net * line.tax_rate
        exact_gross = net + exact_tax
    gross = round_money(line.invoiced_total if line.invoiced_total is not None else exact_gross, currency)
    if gross < 0:
        raise InvalidInput(f"line {line.line_number}: the invoiced total must not be negative")
    tax = split_tax(gross, exact_net=exact_gross - exact_tax, exact_tax=exact_tax, currency=currency)
    return LineAmounts(gross=gross, tax=tax, exact_net=exact_gross - exact_tax, exact_tax=exact_tax)


def split_tax(amount: Decimal, *, exact_net: Decimal, exact_tax: Decimal, currency: str) -> Decimal:
    """The tax part of ``amount`` (whole minor units) in the ratio ``exact_net : exact_tax``."""
    if exact_tax == 0 or amount == 0:
        return Decimal(0)
    return allocate(amount, [exact_net, exact_tax], currency)[1]


def allocate_order_discount(lines: Sequence[OrderLine], discount: Decimal, *, currency: str) -> None:
    """Set ``order_discount`` of the goods lines to their share of an order-level ``discount``.

    Shares are proportional to each line's value after its own line discount
    (``unit_price x quantity - |line_discount|``), in whole minor units, adding up exactly to
    ``|discount|`` (largest remainder, ``money.allocate``). Shipping and fee lines take no share.
    Example (issue 3, case 1): lines 6.00 and 4.00, discount 1.00 -> 0.60 and 0.40.

    Raises:
        InvalidInput: a discount on an order without goods, or larger than the goods' value.
    """
    goods = [line for line in lines if line.kind == LineKind.GOODS]
    weights = [max(line.unit_price * line.quantity - abs(line.line_discount), Decimal(0)) for line in goods]
    magnitude = round_money(abs(discount), currency)
    if magnitude == 0:
        for line in goods:
            line.order_discount = Decimal(0)
        return
    if not goods or magnitude > sum(weights, Decimal(0)):
        raise InvalidInput(f"an order discount of {magnitude} {currency} exceeds the goods' value")
    for line, share in zip(goods, allocate(magnitude, weights, currency)):
        line.order_discount = share


def order_total(order: Order) -> Decimal:
    """What the whole order costs: the sum of every line's rounded ``gross`` (goods, shipping, fees),
    minus discount lines (a ``discount`` line is a magnitude, whatever sign the source gave its price)."""
    total = Decimal(0)
    for line in order.lines:
        if line.kind == LineKind.DISCOUNT:
            total -= round_money(abs(line.unit_price) * line.quantity, order.currency)
        else:
            total += line_amounts(line, currency=order.currency, prices_include_tax=order.prices_include_tax).gross
    return max(total, Decimal(0))


@dataclass(frozen=True)
class Balance:
    """Payment status of an order: ``total`` due, ``captured`` (rounded once), ``outstanding`` >= 0,
    ``overpaid`` >= 0, ``fully_paid``."""

    total: Decimal
    captured: Decimal
    outstanding: Decimal
    overpaid: Decimal

    @property
    def fully_paid(self) -> bool:
        return self.outstanding == 0


def balance(order: Order, captured_amounts: Sequence[Decimal]) -> Balance:
    """Compare what is due with what was captured. Captured amounts may carry more precision than the
    currency (a gateway reporting 10.285); their sum is rounded once, half-up, before comparing, so an
    order of 10.285 paid as 10.29 is fully paid with nothing outstanding (issue 3, case 6).
    """
    total = order_total(order)
    captured = round_money(sum(captured_amounts, Decimal(0)), order.currency)
    return Balance(total=total, captured=captured, outstanding=max(total - captured, Decimal(0)),
                   overpaid=max(captured - total, Decimal(0)))
