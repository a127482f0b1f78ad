"""The policy engine: TOML file, checks with customer-readable reasons, explained decisions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

import returnflow  # noqa: F401
from returnflow.domain.policy import LineRequest, ReturnPolicy, Verdict, check_line
from returnflow.domain.policy_file import PolicyError, parse_policy
from returnflow.domain.policy_terms import CustomerFacts, RequestedUnits, decide

from tests.money.builders import PLACED, line, order

ROOT = Path(__file__).resolve().parents[2]
FASHION = parse_policy((ROOT / "policies" / "example-fashion.toml").read_text())


def _decide(policy, o, *asked, days=5, customer=None):  # type: ignore[no-untyped-def]
    return decide(policy, order=o, items=[RequestedUnits(line=l, units=u, request=r) for l, u, r in asked],
                  at=PLACED + timedelta(days=days), customer=customer)


def test_the_default_policy_file_is_the_demo_policy() -> None:
    policy = parse_policy((ROOT / "policies" / "default.toml").read_text())
    assert (policy.version, policy.window_days, policy.review_window_days, policy.window_starts) == \
        ("default-1", 30, 365, "purchase")
    o = order(line(1, "10.00"))
    # day 31: review with the reason; day 400: refused; day 30: approved
    assert check_line(policy, order=o, line=o.lines[0], requested_at=PLACED + timedelta(days=30)).verdict == \
        Verdict.ELIGIBLE
    late = check_line(policy, order=o, line=o.lines[0], requested_at=PLACED + timedelta(days=31))
    assert (late.verdict, late.reasons) == (Verdict.NEEDS_REVIEW,
                                            ["requested 31 days after purchase; the return window is 30 days"])
    assert check_line(policy, order=o, line=o.lines[0], requested_at=PLACED + timedelta(days=400)).verdict == \
        Verdict.NOT_ELIGIBLE


def test_the_window_counts_from_delivery_when_the_policy_says_so() -> None:
    o = order(line(1, "10.00"))
    o.delivered_at = PLACED + timedelta(days=10)
    # 35 days after purchase = 25 days after delivery: inside a 30-day window from delivery
    ok = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="changed_mind")), days=35)
    assert ok.verdict == Verdict.ELIGIBLE
    late = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="changed_mind")), days=45)  # 35 after delivery
    assert late.verdict == Verdict.NEEDS_REVIEW and "35 days after delivery" in late.eligibility.reasons[0]


def test_final_sale_and_conditions_refuse_with_a_reason_each() -> None:
    o = order(line(1, "10.00", tags=["clearance"]), line(2, "30.00", category="swimwear"))
    d = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="size")),
                (o.lines[1], 1, LineRequest(reason="size", conditions=("unworn",))))
    assert d.verdict == Verdict.NOT_ELIGIBLE
    assert d.eligibility.reasons == ["item 1 was a final sale and cannot be returned",
                                     "item 2 must be returned hygiene seal intact"]


def test_a_damage_claim_without_a_photo_goes_to_review_and_is_free() -> None:
    o = order(line(1, "20.00"))
    d = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="damaged")))
    assert d.verdict == Verdict.NEEDS_REVIEW
    assert d.eligibility.reasons == ["a photo is needed for 'Arrived damaged'; an agent will review the request"]
    assert (d.free_return, d.return_shipping_fee) == (True, D("0"))
    assert "return shipping is free: the reason is 'Arrived damaged'" in d.explanations


def test_an_unknown_reason_or_a_missing_comment_is_refused() -> None:
    o = order(line(1, "20.00"))
    d = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="bored")))
    assert d.verdict == Verdict.NOT_ELIGIBLE and d.eligibility.reasons[0].startswith("'bored' is not one of")
    d = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="defective")))
    assert d.eligibility.reasons == ["please describe the problem ('Does not work' needs a comment)"]


def test_return_shipping_is_charged_unless_the_order_is_large_or_the_customer_gold() -> None:
    small = order(line(1, "20.00"))
    d = _decide(FASHION, small, (small.lines[0], 1, LineRequest(reason="size")))
    assert d.return_shipping_fee == D("4.95")
    assert _decide(FASHION, small, (small.lines[0], 1, LineRequest(reason="size")),
                   customer=CustomerFacts(tier="gold")).return_shipping_fee == 0
    big = order(line(1, "150.00"))
    assert _decide(FASHION, big, (big.lines[0], 1, LineRequest(reason="size"))).return_shipping_fee == 0


def test_an_item_worth_less_than_the_label_is_kept_by_the_customer() -> None:
    # 5.00 <= 6.50 estimated return shipping: keep it, no fee
    o = order(line(1, "5.00"))
    d = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="size")))
    assert (d.keep_items, d.return_shipping_fee) == (True, 0)


def test_high_value_and_repeat_returners_go_to_review() -> None:
    o = order(line(1, "600.00"))
    d = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="size")), customer=CustomerFacts(recent_returns=5))
    assert d.verdict == Verdict.NEEDS_REVIEW
    assert d.eligibility.reasons == ["returns worth more than 500.00 GBP are checked by an agent",
                                     "5 returns in the last 90 days: an agent will review this one"]


def test_restocking_fees_come_from_the_most_specific_rule() -> None:
    o = order(line(1, "100.00", category="electronics"), line(2, "50.00", category="shoes"))
    d = _decide(FASHION, o, (o.lines[0], 1, LineRequest(reason="size")), (o.lines[1], 1, LineRequest(reason="size")))
    assert (d.restocking_fees[1].percent, d.restocking_fees[2].percent) == (D("15"), D("10"))


@pytest.mark.parametrize(("text", "message"), [
    ('[window]\ndays = "thirty"', "whole number"),
    ('[fees]\nreturn_shipping_fee = 4.95', "not floats"),
    ('[windw]\ndays = 3', "unknown section"),
    ('[[rules]]\nsku = "A"\ncategory = "B"', "exactly one"),
    ('[refunds]\nshipping = "sometimes"', "'never', 'full_return' or 'free_return'"),
    ('version = ', "not valid TOML"),
])
def test_a_broken_policy_file_is_refused_with_the_key_named(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(text)


def test_the_built_in_default_matches_the_file() -> None:
    built_in, from_file = ReturnPolicy(), parse_policy((ROOT / "policies" / "default.toml").read_text())
    assert (built_in.window_days, built_in.review_window_days, built_in.refund_shipping) == \
        (from_file.window_days, from_file.review_window_days, from_file.refund_shipping)
