"""The ten cases of issue 3, worked out by hand (the arithmetic is in each test's comments)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import returnflow  # noqa: F401  (registers the ISO 4217 table)
from returnflow.domain.errors import QuantityExceedsReturnable
from returnflow.domain.orders import check_returnable
from returnflow.domain.pricing import allocate_order_discount, balance
from returnflow.domain.settlement import RefundItem, quote_refund

from tests.money.builders import line, order


def test_an_order_discount_is_shared_by_value_so_the_six_pound_item_refunds_five_forty() -> None:
    # 10 % off 10.00 = 1.00, split 6:4 -> 0.60 and 0.40; the 6.00 item cost 6.00 - 0.60 = 5.40.
    o = order(line(1, "6.00"), line(2, "4.00"))
    allocate_order_discount(o.lines, D("-1.00"), currency="GBP")
    assert [l.order_discount for l in o.lines] == [D("0.60"), D("0.40")]
    assert quote_refund(o, [RefundItem(1, 1)], captured=D("9.00")).total == D("5.40")


def test_a_taxed_line_with_a_line_discount_refunds_half_of_its_gross_for_one_of_two_units() -> None:
    # net = 100 x 2 - 20 = 180; tax 10 % = 18; gross 198; one unit of two = 99.00
    o = order(line(1, "100", 2, line_discount="20.00", tax_rate="0.10"))
    quote = quote_refund(o, [RefundItem(1, 1)])
    assert quote.total == D("99.00")
    assert quote.tax_refunded == D("9.00")  # 18 / 2


def test_a_line_discount_is_taken_off_the_refund() -> None:
    # 100.00 - 10 % = 90.00
    o = order(line(1, "100.00", line_discount="10.00"))
    assert quote_refund(o, [RefundItem(1, 1)]).total == D("90.00")


def test_a_discount_written_as_a_negative_amount_is_still_subtracted() -> None:
    # invoice 112.50, discount -4.45 -> paid 112.50 - 4.45 = 108.05 (not 112.50 + 4.45 = 116.95)
    o = order(line(1, "100.00"), line(2, "12.50"))
    allocate_order_discount(o.lines, D("-4.45"), currency="GBP")
    # shares: 4.45 x 100/112.5 = 3.9555.. -> 3.95 (+1 cent remainder? 0.0055 vs 0.4944 x12.5/112.5 -> 0.4944)
    # floors 3.95 + 0.49 = 4.44; remainders .5555 vs .4444 -> the cent goes to line 1: 3.96 + 0.49
    assert [l.order_discount for l in o.lines] == [D("3.96"), D("0.49")]
    quote = quote_refund(o, [RefundItem(1, 1), RefundItem(2, 1)], captured=D("108.05"))
    assert quote.total == D("108.05")


def test_ten_units_invoiced_at_701_30_refund_701_30_at_once_or_one_by_one() -> None:
    # 82.50 x 0.85 = 70.125 a unit; 10 x 70.125 = 701.25, but the invoice charged 701.30
    o = order(line(1, "82.50", 10, line_discount="123.75", invoiced_total="701.30"))
    assert quote_refund(o, [RefundItem(1, 10)], captured=D("701.30")).total == D("701.30")
    # one by one: cumulative round(701.30 x k / 10) differences: 70.13, 70.13 (140.26), 70.13 (210.39),
    # 70.13 (280.52), 70.13 (350.65), 70.13 (420.78), 70.13 (490.91), 70.13 (561.04), 70.13 (631.17),
    # 70.13 (701.30) -> sum 701.30
    refunded = D(0)
    amounts = []
    for k in range(10):
        q = quote_refund(o, [RefundItem(1, 1, units_before=k)], captured=D("701.30"), already_refunded=refunded)
        amounts.append(q.total)
        refunded += q.total
    assert amounts == [D("70.13")] * 10
    assert refunded == D("701.30")


def test_an_order_of_10_285_paid_as_10_29_is_fully_paid() -> None:
    # 3 x 3.428333.. = 10.285 -> rounds half up to 10.29 = captured
    o = order(line(1, "3.428333333333", 3, invoiced_total="10.285"))
    b = balance(o, [D("10.29")])
    assert (b.total, b.captured, b.outstanding, b.overpaid, b.fully_paid) == (D("10.29"), D("10.29"), 0, 0, True)


def test_only_received_units_are_refunded() -> None:
    # 3 requested, 2 received and accepted: 2 x 89.99 = 179.98
    o = order(line(1, "89.99", 3))
    assert quote_refund(o, [RefundItem(1, 2)]).total == D("179.98")


def test_after_returning_two_of_five_units_at_most_three_remain() -> None:
    check_returnable(sku="S", bought=5, already_returned=2, requested=3)
    with pytest.raises(QuantityExceedsReturnable, match="only 3 of the 5"):
        check_returnable(sku="S", bought=5, already_returned=2, requested=4)


def test_a_paid_return_label_is_deducted_unless_the_reason_is_free() -> None:
    o = order(line(1, "100.00"))
    assert quote_refund(o, [RefundItem(1, 1)], return_shipping_fee=D("5.00")).total == D("95.00")  # 100 - 5
    assert quote_refund(o, [RefundItem(1, 1)], return_shipping_fee=D("0")).total == D("100.00")


def test_a_discount_line_counts_against_the_order_total_whatever_its_sign() -> None:
    # 20.00 of goods with a separate discount line of 2.50 (written +2.50 or -2.50): total 17.50
    from returnflow.domain.orders import LineKind
    from returnflow.domain.pricing import order_total
    for price in ("2.50", "-2.50"):
        o = order(line(1, "20.00"), line(2, price, kind=LineKind.DISCOUNT))
        assert order_total(o) == D("17.50")
