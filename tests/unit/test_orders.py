"""Orders: what a line cost the customer and how many of its units can still come back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

import returnflow  # noqa: F401
from returnflow.domain.errors import QuantityExceedsReturnable
from returnflow.domain.orders import LineKind, Order, OrderLine, check_returnable
from tests.unit.rma_builders import quote_line


def test_paid_total_is_quantity_times_price_rounded_to_pence() -> None:
    # 3 x 10.00 = 30.00
    assert OrderLine(1, "SKU-A", "a", 3, D("10.00")).paid_total("GBP") == D("30.00")


def test_paid_total_takes_off_discounts_adds_tax_and_rounds_once() -> None:
    # 3 x 19.99 = 59.97; - 5.00 line discount - 1.25 order discount + 2.345 tax = 56.065 -> 56.07 (half up)
    line = OrderLine(1, "SKU-A", "a", 3, D("19.99"), line_discount=D("5.00"), order_discount=D("1.25"),
                     tax_amount=D("2.345"))
    assert line.paid_total("GBP") == D("56.07")


def test_paid_total_in_yen_has_no_decimals() -> None:
    # 3 x 333.5 = 1000.5 -> 1001 yen
    assert OrderLine(1, "X", "x", 3, D("333.5")).paid_total("JPY") == D(1001)


def test_goods_lines_leave_out_postage_and_fees() -> None:
    order = Order("1", "C1", "a@example.com", "United Kingdom", "GBP", datetime(2011, 1, 1, tzinfo=UTC), lines=[
        OrderLine(1, "SKU-A", "a", 1, D(1)), OrderLine(2, "POST", "postage", 1, D(18), kind=LineKind.SHIPPING),
        OrderLine(3, "BANK CHARGES", "fee", 1, D(15), kind=LineKind.FEE)])
    assert [line.sku for line in order.goods_lines()] == ["SKU-A"]


def test_units_within_bought_minus_already_returned_may_be_returned() -> None:
    check_returnable(sku="SKU-A", bought=3, already_returned=1, requested=2)  # 3 - 1 = 2 left: fine


def test_asking_back_more_than_is_left_names_the_numbers() -> None:
    with pytest.raises(QuantityExceedsReturnable) as info:
        check_returnable(sku="SKU-A", bought=3, already_returned=2, requested=2)
    assert info.value.detail == ("SKU-A: 2 unit(s) asked for, but only 1 of the 3 bought can still be returned "
                                 "(2 already returned or requested)")


def test_when_more_was_returned_than_bought_none_is_left_not_a_negative_number() -> None:
    with pytest.raises(QuantityExceedsReturnable, match="only 0 of the 1 bought"):
        check_returnable(sku="SKU-A", bought=1, already_returned=2, requested=1)


def test_refund_quote_for_units_of_a_line_uses_cumulative_shares() -> None:
    # 3 x 33.33 = 99.99; first unit round(33.33) = 33.33; two more: 99.99 - 33.33 = 66.66
    line = OrderLine(1, "SKU-A", "a", 3, D("33.33"), id=11)
    first = quote_line(line, currency="GBP", units=1, units_already_refunded=0)
    rest = quote_line(line, currency="GBP", units=2, units_already_refunded=1)
    assert (first.order_line_id, first.units, first.amount) == (11, 1, D("33.33"))
    assert rest.amount == D("66.66")
