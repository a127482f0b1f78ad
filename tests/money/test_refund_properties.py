"""Property-based tests of the refund calculator over random orders and random return sequences."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings, strategies as st

import returnflow  # noqa: F401
from returnflow.domain.money import quantum, round_money
from returnflow.domain.orders import LineKind, Order, OrderLine
from returnflow.domain.pricing import allocate_order_discount, order_total
from returnflow.domain.settlement import Fee, PaymentSource, RefundItem, quote_refund, route_to_payments

from tests.money.builders import PLACED

CURRENCIES = ["JPY", "GBP", "EUR", "USD", "KWD"]
RATES = [D("0"), D("0.05"), D("0.10"), D("0.19"), D("0.20")]


@st.composite
def orders(draw: st.DrawFn) -> tuple[Order, list[D]]:
    """A random order and its payments (captured amounts, possibly with more precision than the currency)."""
    currency = draw(st.sampled_from(CURRENCIES))
    q = quantum(currency)
    extra = draw(st.integers(0, 2))  # unit prices with up to 2 more decimals than the currency
    lines = []
    for i in range(1, draw(st.integers(1, 4)) + 1):
        quantity = draw(st.integers(1, 10))
        unit = D(draw(st.integers(1, 50_000))) * q / D(10) ** extra
        discount = round_money(unit * quantity * D(draw(st.integers(0, 50))) / 100, currency)
        line = OrderLine(line_number=i, sku=f"S{i}", description="", quantity=quantity, unit_price=unit,
                         line_discount=discount * draw(st.sampled_from([1, -1])), tax_rate=draw(st.sampled_from(RATES)),
                         id=i)
        if draw(st.booleans()) and draw(st.booleans()):  # the shop invoiced a slightly different total
            line.invoiced_total = -1  # placeholder, set after discounts
        lines.append(line)
    if draw(st.booleans()):
        lines.append(OrderLine(line_number=9, sku="SHIP", description="", quantity=1, kind=LineKind.SHIPPING,
                               unit_price=D(draw(st.integers(0, 2000))) * q, id=9))
    o = Order(order_number="P", customer_id="C", customer_email="c@x", country="GB", currency=currency,
              placed_at=PLACED, lines=lines, prices_include_tax=draw(st.booleans()), id=1)
    goods_value = sum((l.unit_price * l.quantity - abs(l.line_discount) for l in lines if l.kind == LineKind.GOODS),
                      D(0))
    allocate_order_discount(o.lines, -round_money(goods_value * D(draw(st.integers(0, 30))) / 100, currency)
                            .min(round_money(goods_value, currency) - 0), currency=currency) \
        if goods_value >= q else None
    for line in lines:
        if line.invoiced_total == -1:
            line.invoiced_total = None
            computed = o.line_paid_total(line)
            line.invoiced_total = max(computed + q * draw(st.integers(-2, 2)), D(0))
    total = order_total(o)
    cuts = sorted(draw(st.lists(st.integers(0, 1000), max_size=2)))
    fine = q / 1000  # captured with 3 more decimals than the currency
    points = [(total * c / 1000).quantize(fine) for c in cuts]
    payments = [b - a for a, b in zip([D(0), *points], [*points, total])]
    return o, payments


@st.composite
def sequences(draw: st.DrawFn, o: Order) -> list[list[RefundItem]]:
    """All goods units in random batches: each batch takes 1.. units of some lines."""
    left = {l.id: l.quantity for l in o.lines if l.kind == LineKind.GOODS}
    batches = []
    while any(left.values()):
        batch = []
        for line_id, units in left.items():
            if units and draw(st.booleans()):
                batch.append((line_id, draw(st.integers(1, units))))
        if not batch:
            line_id = next(k for k, v in left.items() if v)
            batch = [(line_id, 1)]
        batches.append(batch)
        for line_id, units in batch:
            left[line_id] -= units
    return batches


def _run(o: Order, payments: list[D], batches, *, fee: Fee = Fee(), label: D = D(0)) -> list[D]:  # type: ignore[no-untyped-def]
    done: dict[int, int] = {}
    refunded, totals = D(0), []
    sources = [PaymentSource(i, "card", amount) for i, amount in enumerate(payments)]
    for n, batch in enumerate(batches):
        items = [RefundItem(line_id, units, units_before=done.get(line_id, 0), restocking_fee=fee)
                 for line_id, units in batch]
        last = n == len(batches) - 1
        shipping = [l.id for l in o.lines if l.kind == LineKind.SHIPPING] if last else []
        quote = quote_refund(o, items, return_shipping_fee=label, refund_shipping_line_ids=shipping,
                             already_refunded=refunded, captured=sum(payments, D(0)))
        for value in [quote.total, *quote.allocations.values(), *(l.amount for l in quote.lines),
                      *(l.tax for l in quote.lines), *(l.restocking_fee for l in quote.lines)]:
            assert value >= 0
            assert value == round_money(value, o.currency)  # whole minor units
        assert sum(quote.allocations.values(), D(0)) == quote.total
        parts, rest = route_to_payments(quote.total, sources, method_order=["card"], currency=o.currency)
        assert sum((p.amount for p in parts), D(0)) + rest == quote.total and rest >= 0
        sources = [PaymentSource(s.payment_id, s.method, s.refundable - sum(
            (p.amount for p in parts if p.payment_id == s.payment_id), D(0))) for s in sources]
        assert all(s.refundable >= -quantum(o.currency) for s in sources)
        for line_id, units in batch:
            done[line_id] = done.get(line_id, 0) + units
        refunded += quote.total
        totals.append(quote.total)
        assert refunded <= round_money(sum(payments, D(0)), o.currency)  # never more than was paid
    return totals


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_fully_returned_order_refunds_exactly_what_was_paid_in_any_sequence(data: st.DataObject) -> None:
    o, payments = data.draw(orders())
    totals = _run(o, payments, data.draw(sequences(o)))
    assert sum(totals, D(0)) == round_money(sum(payments, D(0)), o.currency) == order_total(o)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), percent=st.integers(0, 100), flat=st.integers(0, 500), label=st.integers(0, 2000))
def test_fees_never_make_a_refund_negative_or_larger_than_what_was_paid(data: st.DataObject, percent: int,
                                                                       flat: int, label: int) -> None:
    o, payments = data.draw(orders())
    q = quantum(o.currency)
    totals = _run(o, payments, data.draw(sequences(o)), fee=Fee(percent=D(percent), flat=D(flat) * q),
                  label=D(label) * q)
    assert sum(totals, D(0)) <= order_total(o)
