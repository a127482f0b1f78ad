"""Money: rounding by ISO 4217 minor units, exact allocation, cumulative shares. Values worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import returnflow  # noqa: F401  (registers the ISO 4217 table)
from returnflow.domain.errors import InvalidInput, UnknownCurrency
from returnflow.domain.money import (
    Money,
    allocate,
    minor_units,
    quantum,
    round_money,
    share_of_units,
    to_decimal,
)


@pytest.mark.parametrize(("currency", "digits", "unit"), [
    ("JPY", 0, D(1)), ("GBP", 2, D("0.01")), ("EUR", 2, D("0.01")), ("KWD", 3, D("0.001")), ("gbp", 2, D("0.01")),
])
def test_minor_units_follow_iso_4217(currency: str, digits: int, unit: D) -> None:
    assert minor_units(currency) == digits
    assert quantum(currency) == unit


def test_an_unknown_currency_code_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        Money(D(1), "ZZZ")


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("2.675", "GBP", "2.68"),     # exactly half a penny: half-up (a float would give 2.67)
    ("2.674999", "GBP", "2.67"),
    ("-2.675", "GBP", "-2.68"),   # half-up rounds away from zero
    ("1234.5", "JPY", "1235"),    # yen has no minor unit
    ("1234.4999", "JPY", "1234"),
    ("1.2345", "KWD", "1.235"),   # dinar has three decimals: fils
    ("1.2344", "KWD", "1.234"),
    ("70.125", "GBP", "70.13"),
])
def test_rounding_is_half_up_to_the_currency_minor_unit(amount: str, currency: str, expected: str) -> None:
    result = round_money(D(amount), currency)
    assert result == D(expected)
    assert result.as_tuple().exponent == -minor_units(currency)


def test_money_rounds_only_when_asked() -> None:
    m = Money(D("70.125"), "GBP") * 3  # 210.375 unrounded
    assert m.amount == D("210.375")
    assert m.rounded() == Money(D("210.38"), "GBP")
    assert str(Money(D("1234.5"), "JPY")) == "1235 JPY"


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(InvalidInput):
        Money(D(1), "GBP") + Money(D(1), "EUR")
    with pytest.raises(InvalidInput):
        _ = Money(D(1), "GBP") < Money(D(2), "EUR")


def test_money_adds_subtracts_and_compares_within_one_currency() -> None:
    a, b = Money(D("10.10"), "gbp"), Money(D("0.95"), "GBP")
    assert a.currency == "GBP"
    assert (a + b).amount == D("11.05")
    assert (a - b).amount == D("9.15")
    assert (-b).amount == D("-0.95")
    assert b < a and b <= Money(D("0.95"), "GBP") and not a <= b


@pytest.mark.parametrize("value", [1.5, "abc", "NaN", "Infinity", "", None])
def test_to_decimal_refuses_floats_and_non_finite_text(value: object) -> None:
    with pytest.raises(InvalidInput):
        to_decimal(value)


def test_to_decimal_accepts_text_ints_and_decimals() -> None:
    assert to_decimal(" 12.50 ") == D("12.50")
    assert to_decimal(7) == D(7)
    assert to_decimal(D("0.001")) == D("0.001")


# -- allocate ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("total", "weights", "currency", "expected"), [
    # 10000 pence / 3 = 3333.33 each; floors 3333 x 3 = 9999; 1 penny left goes to the earliest tie
    ("100.00", [1, 1, 1], "GBP", ["33.34", "33.33", "33.33"]),
    # 5 pence / 3 = 1.667 each; floors 1,1,1; 2 pence left -> first two
    ("0.05", [1, 1, 1], "GBP", ["0.02", "0.02", "0.01"]),
    # 11 pence over 1:5:4 -> exact 1.1, 5.5, 4.4; floors 1,5,4 = 10; the 1 left goes to the largest remainder (.5)
    ("0.11", [1, 5, 4], "GBP", ["0.01", "0.06", "0.04"]),
    # 100 pence / 6 = 16.667; floors 16 x 6 = 96; 4 left -> first four
    ("1.00", [1, 1, 1, 1, 1, 1], "GBP", ["0.17", "0.17", "0.17", "0.17", "0.16", "0.16"]),
    # 1000 yen / 3 = 333.33; floors 333 x 3 = 999; 1 yen -> first
    ("1000", [1, 1, 1], "JPY", ["334", "333", "333"]),
    # 1000 fils over 1:2 -> 333.33 / 666.67; floors 333 + 666 = 999; 1 fils -> larger remainder (.67)
    ("1.000", [1, 2], "KWD", ["0.333", "0.667"]),
    # total rounded first: 10.005 -> 10.01; 1001 pence / 2 = 500.5 each; 1 left -> first
    ("10.005", [1, 1], "GBP", ["5.01", "5.00"]),
    # negative totals split as the negation of the positive split
    ("-100.00", [1, 1, 1], "GBP", ["-33.34", "-33.33", "-33.33"]),
    ("0", [0, 0], "GBP", ["0.00", "0.00"]),
])
def test_allocate_splits_in_whole_minor_units_and_sums_exactly(total: str, weights: list[int], currency: str,
                                                               expected: list[str]) -> None:
    parts = allocate(D(total), [D(w) for w in weights], currency)
    assert parts == [D(e) for e in expected]
    assert sum(parts, D(0)) == round_money(D(total), currency)


@pytest.mark.parametrize("weights", [[], [D(1), D(-1)], [D(0), D(0)]])
def test_allocate_refuses_no_weights_negative_weights_or_a_non_zero_total_over_zero_weights(weights: list[D]) -> None:
    with pytest.raises(InvalidInput):
        allocate(D("1.00"), weights, "GBP")


def test_allocate_sums_exactly_for_many_awkward_splits() -> None:
    # Property checked over a grid: parts are whole pence and always add up to the rounded total.
    for pence in (1, 7, 99, 1001, 70130):
        total = D(pence) / 100
        for weights in ([D(1)] * 7, [D("0.3"), D("0.3"), D("0.4")], [D(5), D(0), D(2), D(3)]):
            parts = allocate(total, weights, "GBP")
            assert sum(parts, D(0)) == total
            assert all(p == p.quantize(D("0.01")) for p in parts)


# -- share_of_units ----------------------------------------------------------------------------------------------

def test_ten_units_totalling_701_30_refunded_one_by_one_sum_to_701_30() -> None:
    # 701.30 / 10 = 70.13 exactly, so every unit is 70.13 and ten of them are 701.30.
    shares = [share_of_units(D("701.30"), quantity=10, units_before=k, units=1, currency="GBP") for k in range(10)]
    assert shares == [D("70.13")] * 10
    assert sum(shares, D(0)) == D("701.30")


def test_seven_units_totalling_701_30_alternate_pennies_and_sum_exactly() -> None:
    # 701.30 / 7 = 100.185714...; cumulative k x 100.185714 rounded:
    # 100.19, 200.37, 300.56, 400.74, 500.93, 601.11, 701.30 -> differences below
    expected = ["100.19", "100.18", "100.19", "100.18", "100.19", "100.18", "100.19"]
    shares = [share_of_units(D("701.30"), quantity=7, units_before=k, units=1, currency="GBP") for k in range(7)]
    assert shares == [D(e) for e in expected]
    assert sum(shares, D(0)) == D("701.30")  # 4 x 100.19 + 3 x 100.18 = 400.76 + 300.54


def test_unrounded_line_total_of_ten_units_at_70_125_is_shared_without_losing_a_penny() -> None:
    # 10 x 70.125 = 701.25. Cumulative: k=1 70.125 -> 70.13; k=2 140.25; k=3 210.375 -> 210.38; k=4 280.50 ...
    # differences alternate 70.13, 70.12 and add up to 701.25.
    shares = [share_of_units(D("701.25"), quantity=10, units_before=k, units=1, currency="GBP") for k in range(10)]
    assert shares == [D("70.13"), D("70.12")] * 5
    assert sum(shares, D(0)) == D("701.25")


def test_partial_returns_in_batches_add_up_to_the_line_total() -> None:
    # 100.00 for 3 units: two units = round(66.666..) = 66.67; the last unit 100.00 - 66.67 = 33.33
    first = share_of_units(D("100.00"), quantity=3, units_before=0, units=2, currency="GBP")
    last = share_of_units(D("100.00"), quantity=3, units_before=2, units=1, currency="GBP")
    assert (first, last) == (D("66.67"), D("33.33"))


@pytest.mark.parametrize(("currency", "total", "expected"), [
    ("JPY", "1000", ["333", "334", "333"]),        # 333.3 -> 333; 666.7 -> 667; 1000
    ("KWD", "10.000", ["3.333", "3.334", "3.333"]),  # 3.3333 -> 3.333; 6.6667 -> 6.667; 10.000
])
def test_shares_round_to_yen_and_fils(currency: str, total: str, expected: list[str]) -> None:
    shares = [share_of_units(D(total), quantity=3, units_before=k, units=1, currency=currency) for k in range(3)]
    assert shares == [D(e) for e in expected]
    assert sum(shares, D(0)) == D(total)


@pytest.mark.parametrize(("quantity", "before", "units"), [(0, 0, 0), (3, 0, 4), (3, 2, 2), (3, -1, 1), (3, 0, -1)])
def test_share_of_units_refuses_units_outside_the_line(quantity: int, before: int, units: int) -> None:
    with pytest.raises(InvalidInput):
        share_of_units(D("10.00"), quantity=quantity, units_before=before, units=units, currency="GBP")
