"""Kinds of refunds issue 3 asks for, with our own numbers worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

import returnflow  # noqa: F401
from returnflow.domain.pricing import allocate_order_discount, order_total
from returnflow.domain.settlement import Fee, RefundItem, quote_refund

from tests.money.builders import line, order


def _discounted(currency: str = "GBP", *, inclusive: bool = False):  # type: ignore[no-untyped-def]
    o = order(line(1, "30.00", 2, tax_rate="0.20"), line(2, "40.00", tax_rate="0.20"), currency=currency,
              prices_include_tax=inclusive)
    allocate_order_discount(o.lines, D("10.00"), currency=currency)
    return o


def test_a_full_return_of_a_discounted_taxed_order_refunds_what_was_paid_tax_exclusive() -> None:
    # discount 10.00 split 60:40 -> 6.00, 4.00; net 54.00 and 36.00; tax 20 % -> 10.80 and 7.20;
    # paid 64.80 + 43.20 = 108.00
    o = _discounted()
    assert order_total(o) == D("108.00")
    quote = quote_refund(o, [RefundItem(1, 2), RefundItem(2, 1)], captured=D("108.00"))
    assert (quote.total, quote.tax_refunded) == (D("108.00"), D("18.00"))


def test_a_full_return_of_a_discounted_taxed_order_refunds_what_was_paid_tax_inclusive() -> None:
    # prices include tax: paid 54.00 + 36.00 = 90.00; tax inside 54 x 0.2/1.2 = 9.00 and 36 x 0.2/1.2 = 6.00
    o = _discounted(inclusive=True)
    quote = quote_refund(o, [RefundItem(1, 2), RefundItem(2, 1)], captured=D("90.00"))
    assert (quote.total, quote.tax_refunded) == (D("90.00"), D("15.00"))


def test_a_full_return_in_yen_refunds_what_was_paid_in_whole_yen() -> None:
    # 1234 x 3 = 3702 and 999; discount 500 split 3702:999 -> 393.746.. / 106.253.. -> floors 393 + 106 = 499,
    # the last yen to the larger remainder (line 1): 394 and 106.
    # line 1: net 3308, tax 10 % 330.8, gross 3638.8 -> 3639; line 2: net 893, tax 89.3, gross 982.3 -> 982
    o = order(line(1, "1234", 3, tax_rate="0.10"), line(2, "999", tax_rate="0.10"), currency="JPY")
    allocate_order_discount(o.lines, D("500"), currency="JPY")
    assert [l.order_discount for l in o.lines] == [D("394"), D("106")]
    assert order_total(o) == D("4621")  # 3639 + 982
    # one unit at a time: round(3639/3) = 1213, round(2426) - 1213 = 1213, 3639 - 2426 = 1213
    refunded, amounts = D(0), []
    for k in range(3):
        q = quote_refund(o, [RefundItem(1, 1, units_before=k)], captured=D("4621"), already_refunded=refunded)
        amounts.append(q.total)
        refunded += q.total
    last = quote_refund(o, [RefundItem(2, 1)], captured=D("4621"), already_refunded=refunded)
    assert amounts == [D("1213")] * 3 and last.total == D("982")
    assert refunded + last.total == D("4621")


def test_partial_refunds_of_a_discounted_order_add_up_to_what_was_paid() -> None:
    # case 1's order: 5.40 + 3.60 = 9.00 paid
    o = order(line(1, "6.00"), line(2, "4.00"))
    allocate_order_discount(o.lines, D("1.00"), currency="GBP")
    first = quote_refund(o, [RefundItem(1, 1)], captured=D("9.00"))
    second = quote_refund(o, [RefundItem(2, 1)], captured=D("9.00"), already_refunded=first.total)
    assert (first.total, second.total, first.total + second.total) == (D("5.40"), D("3.60"), D("9.00"))


def test_three_decimal_dinars_are_refunded_unit_by_unit_to_the_fils() -> None:
    # 1.255 x 3 = 3.765 - 0.100 line discount = 3.665; tax 5 % = 0.18325; gross 3.84825 -> 3.848 KWD
    # units: round(1.282666) = 1.283; round(2.565333) - 1.283 = 1.282; 3.848 - 2.565 = 1.283
    o = order(line(1, "1.255", 3, line_discount="0.100", tax_rate="0.05"), currency="KWD")
    amounts = [quote_refund(o, [RefundItem(1, 1, units_before=k)]).total for k in range(3)]
    assert amounts == [D("1.283"), D("1.282"), D("1.283")]


def test_a_restocking_fee_reduces_the_tax_refunded_in_proportion() -> None:
    # tax-inclusive 59.99 at 19 %: tax inside 59.99 x 0.19/1.19 = 9.578..; split 59.99 -> net 50.41, tax 9.58
    # fee 15 % of 50.41 = 7.5615 -> 7.56; tax refunded 9.58 x (50.41 - 7.56)/50.41 = 8.1433.. -> 8.14
    # refund 42.85 + 8.14 = 50.99; kept 7.56 + tax 1.44 = 9.00
    o = order(line(1, "59.99", tax_rate="0.19"), prices_include_tax=True)
    quote = quote_refund(o, [RefundItem(1, 1, restocking_fee=Fee(percent=D("15")))])
    assert (quote.total, quote.tax_refunded, quote.restocking_fees) == (D("50.99"), D("8.14"), D("9.00"))


def test_a_flat_restocking_fee_per_unit_is_never_more_than_the_goods() -> None:
    # 2 units of 3.00, flat fee 2.00 a unit = 4.00 -> refund 2.00; a fee of 5.00 a unit is capped at 6.00 -> 0.00
    o = order(line(1, "3.00", 2))
    assert quote_refund(o, [RefundItem(1, 2, restocking_fee=Fee(flat=D("2.00")))]).total == D("2.00")
    assert quote_refund(o, [RefundItem(1, 2, restocking_fee=Fee(flat=D("5.00")))]).total == D("0.00")
