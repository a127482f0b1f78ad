"""The refund calculator: ONE function for the preview the customer sees and the refund issued.

For each order line the refund of ``k`` units after ``b`` already refunded is a *cumulative share* of
what was paid for the line (``money.share_of_units``): ``round(P x (b+k)/q) - round(P x b/q)``. So any
sequence of partial refunds of a line adds up exactly to what was paid for it and never more (issue 3,
case 5). The tax inside that share is the same cumulative share of the line's tax.

Restocking fee (a charge on the goods' value, without tax): ``fee = round(net x percent/100) + flat x
k`` (at most ``net``). Tax is refunded in proportion to what is refunded, so the fee reduces the tax
too: ``tax refunded = round(tax x (net - fee) / net)`` (the rule Solidus' ReimbursementTaxCalculator
and Spree 6 apply: tax follows the refunded amount).

Then, per refund: shipping lines the policy refunds are added in full; the return shipping fee is
deducted once (never below zero); the result is capped at ``captured - already refunded`` on the
order. Fee and cap are spread over the lines in proportion to their amounts (largest remainder), so
the per-line amounts always add up to the total. Every amount is whole minor units and never negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from returnflow.domain.errors import InvalidInput
from returnflow.domain.money import allocate, round_money, share_of_units
from returnflow.domain.orders import LineKind, Order
from returnflow.domain.pricing import line_amounts, order_total

ZERO = Decimal(0)


@dataclass(frozen=True)
class Fee:
    """A restocking fee: ``percent`` of the goods' value without tax, plus ``flat`` per unit."""

    percent: Decimal = ZERO
    flat: Decimal = ZERO


@dataclass(frozen=True)
class RefundItem:
    """Units of one order line to refund: ``units`` received and accepted, after ``units_before``
    units of the same line were refunded earlier."""

    order_line_id: int
    units: int
    units_before: int = 0
    restocking_fee: Fee = field(default_factory=Fee)


@dataclass(frozen=True)
class LineQuote:
    """One line of a quote (order currency, whole minor units): ``paid`` for the units, ``tax`` inside
    it, ``restocking_fee`` (without tax), ``tax_kept`` (tax not refunded because of the fee),
    ``amount`` = paid - restocking_fee - tax_kept, before refund-level deductions."""

    order_line_id: int
    units: int
    paid: Decimal
    tax: Decimal
    restocking_fee: Decimal
    tax_kept: Decimal
    amount: Decimal


@dataclass
class RefundQuote:
    """A refund: ``lines`` (goods), ``shipping`` refunded, ``return_shipping_fee`` deducted, ``capped_by``
    (cut by the captured-minus-refunded cap), ``total``; ``allocations``: order line id -> final amount
    (goods and shipping lines), adding up to ``total``."""

    currency: str
    lines: list[LineQuote]
    shipping: Decimal
    return_shipping_fee: Decimal
    cap: Decimal
    capped_by: Decimal
    total: Decimal
    allocations: dict[int, Decimal]

    @property
    def tax_refunded(self) -> Decimal:
        return sum((line.tax - line.tax_kept for line in self.lines), ZERO)

    @property
    def restocking_fees(self) -> Decimal:
        return sum((line.restocking_fee + line.tax_kept for line in self.lines), ZERO)


def quote_line_units(order: Order, item: RefundItem) -> LineQuote:
    """The refund of ``item.units`` units of one goods line (formula in the module docstring).

    Raises:
        InvalidInput: unknown or non-goods line; more units than the line has left; a negative fee.
    """
    line = next((l for l in order.lines if l.id == item.order_line_id), None)
    if line is None or line.kind != LineKind.GOODS:
        raise InvalidInput(f"order {order.order_number} has no goods line {item.order_line_id}")
    if item.restocking_fee.percent < 0 or item.restocking_fee.flat < 0 or item.restocking_fee.percent > 100:
        raise InvalidInput("a restocking fee must be between 0 and 100 % and not negative")
    cur = order.currency
    amounts = line_amounts(line, currency=cur, prices_include_tax=order.prices_include_tax)
    paid = share_of_units(amounts.gross, quantity=line.quantity, units_before=item.units_before,
                          units=item.units, currency=cur)
    tax = min(share_of_units(amounts.tax, quantity=line.quantity, units_before=item.units_before,
                             units=item.units, currency=cur), paid)
    net = paid - tax
    fee = round_money(net * item.restocking_fee.percent / 100 + item.restocking_fee.flat * item.units, cur)
    fee = min(fee, net)
    tax_refunded = round_money(tax * (net - fee) / net, cur) if net > 0 else tax
    return LineQuote(order_line_id=item.order_line_id, units=item.units, paid=paid, tax=tax, restocking_fee=fee,
                     tax_kept=tax - tax_refunded, amount=net - fee + tax_refunded)


def quote_refund(order: Order, items: Sequence[RefundItem], *, return_shipping_fee: Decimal = ZERO,
                 refund_shipping_line_ids: Sequence[int] = (), already_refunded: Decimal = ZERO,
                 captured: Decimal | None = None) -> RefundQuote:
    """Quote a refund of ``items`` of ``order``.

    ``return_shipping_fee``: deducted once (0 when the return is free); ``refund_shipping_line_ids``:
    shipping lines refunded in full with this refund (the policy decides, the caller makes sure each is
    refunded once); ``already_refunded``: money already refunded or credited on the order;
    ``captured``: money captured on the order (rounded here; ``None``: no payment records, the order
    total counts as captured).

    Raises:
        InvalidInput: see :func:`quote_line_units`; a negative fee; a shipping line id that is not one.
    """
    cur = order.currency
    if return_shipping_fee < 0 or already_refunded < 0:
        raise InvalidInput("fees and refunded amounts must not be negative")
    lines = [quote_line_units(order, item) for item in items]
    shipping: dict[int, Decimal] = {}
    for line_id in refund_shipping_line_ids:
        line = next((l for l in order.lines if l.id == line_id and l.kind == LineKind.SHIPPING), None)
        if line is None:
            raise InvalidInput(f"order {order.order_number} has no shipping line {line_id}")
        shipping[line_id] = order.line_paid_total(line)
    parts: dict[int, Decimal] = {}
    for quote in lines:
        parts[quote.order_line_id] = parts.get(quote.order_line_id, ZERO) + quote.amount
    parts.update(shipping)
    subtotal = sum(parts.values(), ZERO)
    fee = min(round_money(return_shipping_fee, cur), subtotal)
    captured_total = round_money(captured, cur) if captured is not None else order_total(order)
    cap = max(captured_total - round_money(already_refunded, cur), ZERO)
    total = min(subtotal - fee, cap)
    capped_by = subtotal - fee - total
    allocations = dict(parts)
    if subtotal > 0 and fee + capped_by > 0:
        keys = list(parts)
        cuts = allocate(fee + capped_by, [parts[k] for k in keys], cur)
        allocations = {k: parts[k] - cut for k, cut in zip(keys, cuts)}
    return RefundQuote(currency=cur, lines=lines, shipping=sum(shipping.values(), ZERO), return_shipping_fee=fee,
                       cap=cap, capped_by=capped_by, total=total, allocations=allocations)


@dataclass(frozen=True)
class PaymentSource:
    """A payment of the order as refunds see it: ``refundable`` = captured - refunded (rounded)."""

    payment_id: int
    method: str
    refundable: Decimal


@dataclass(frozen=True)
class PaymentRefund:
    """Part of a refund sent back to one payment."""

    payment_id: int
    method: str
    amount: Decimal


def route_to_payments(total: Decimal, payments: Sequence[PaymentSource], *, method_order: Sequence[str],
                      non_refundable_methods: Sequence[str] = (), currency: str
                      ) -> tuple[list[PaymentRefund], Decimal]:
    """Send ``total`` back to the order's payments; return (parts, remainder for store credit).

    Order (documented in docs/policy.md): payments whose method comes first in ``method_order`` are
    refunded first (default ``card, paypal, gift_card, store_credit``); methods not listed come after
    the listed ones; ties in payment id order (oldest first). Each payment takes at most its
    refundable amount (captured amounts may carry extra precision: the caps are rounded cumulatively in
    that order, so they add up to the rounded total refundable); methods in ``non_refundable_methods`` take nothing. Whatever is left goes to
    store credit (Solidus' ``reimbursement_helpers.rb`` walks payments the same way).
    """
    total = round_money(total, currency)
    if total < 0:
        raise InvalidInput("a refund must not be negative")
    rank = {method: i for i, method in enumerate(method_order)}
    ordered = sorted(payments, key=lambda p: (rank.get(p.method, len(rank)), p.payment_id))
    parts, left = [], total
    usable = [p for p in ordered if p.method not in non_refundable_methods and p.refundable > 0]
    running, caps = ZERO, []
    for payment in usable:  # cumulative rounding: 3 x 33.333 captured -> 33.33, 33.34, 33.33 = 100.00
        caps.append(round_money(running + payment.refundable, currency) - round_money(running, currency))
        running += payment.refundable
    for payment, cap in zip(usable, caps):
        if left == 0:
            break
        amount = min(left, cap)
        if amount <= 0:
            continue
        parts.append(PaymentRefund(payment_id=payment.payment_id, method=payment.method, amount=amount))
        left -= amount
    return parts, left


def store_credit_bonus(amount: Decimal, *, percent: Decimal, flat: Decimal, currency: str) -> Decimal:
    """The bonus added when a refund is taken as store credit: ``round(amount x percent/100) + flat``
    (Loop's "bonus credit", flat or percentage); 0 for a zero refund."""
    if amount <= 0:
        return ZERO
    return round_money(amount * percent / 100 + flat, currency)
