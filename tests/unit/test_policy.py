"""Return policy: each check gives a reason; hard checks refuse, soft checks send to review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from returnflow.domain.orders import LineKind, Order, OrderLine
from returnflow.domain.policy import Eligibility, ReturnPolicy, Verdict, check_line

PLACED = datetime(2011, 3, 1, 12, 0, tzinfo=UTC)
GOODS = OrderLine(1, "22423", "REGENCY CAKESTAND 3 TIER", 2, D("12.75"))
POSTAGE = OrderLine(2, "POST", "POSTAGE", 1, D("18.00"), kind=LineKind.SHIPPING)
ORDER = Order("536365", "17850", "c17850@example.com", "United Kingdom", "GBP", PLACED, lines=[GOODS, POSTAGE])


def check(at: datetime, line: OrderLine = GOODS, policy: ReturnPolicy | None = None) -> Eligibility:
    return check_line(policy or ReturnPolicy(), order=ORDER, line=line, requested_at=at)


def test_a_return_within_the_window_is_eligible_with_no_reasons() -> None:
    result = check(PLACED + timedelta(days=10))
    assert (result.verdict, result.reasons) == (Verdict.ELIGIBLE, [])


def test_the_last_moment_of_the_thirty_day_window_is_still_eligible() -> None:
    assert check(PLACED + timedelta(days=30)).verdict == Verdict.ELIGIBLE


def test_a_return_after_the_window_but_within_a_year_goes_to_review() -> None:
    result = check(PLACED + timedelta(days=31, hours=1))
    assert result.verdict == Verdict.NEEDS_REVIEW
    assert result.reasons == ["requested 31 days after purchase; the return window is 30 days"]


def test_a_return_more_than_a_year_later_is_not_eligible_and_says_when_the_window_ended() -> None:
    # 2011-03-01 + 30 days = 2011-03-31
    result = check(PLACED + timedelta(days=366))
    assert result.verdict == Verdict.NOT_ELIGIBLE
    assert result.reasons == ["the 30-day return window ended 2011-03-31"]


def test_without_a_review_window_a_late_return_is_not_eligible() -> None:
    result = check(PLACED + timedelta(days=31), policy=ReturnPolicy(window_days=30, review_window_days=None))
    assert result.verdict == Verdict.NOT_ELIGIBLE


def test_postage_cannot_be_sent_back() -> None:
    result = check(PLACED + timedelta(days=1), line=POSTAGE)
    assert result.verdict == Verdict.NOT_ELIGIBLE
    assert result.reasons == ["POST is a shipping charge, not goods, and cannot be sent back"]


def test_a_return_dated_before_the_order_is_not_eligible() -> None:
    result = check(PLACED - timedelta(seconds=1))
    assert result.verdict == Verdict.NOT_ELIGIBLE
    assert result.reasons == ["the return is dated before the order was placed"]


@pytest.mark.parametrize(("first", "second", "expected"), [
    (Verdict.ELIGIBLE, Verdict.ELIGIBLE, Verdict.ELIGIBLE),
    (Verdict.ELIGIBLE, Verdict.NEEDS_REVIEW, Verdict.NEEDS_REVIEW),
    (Verdict.NEEDS_REVIEW, Verdict.NOT_ELIGIBLE, Verdict.NOT_ELIGIBLE),
    (Verdict.NOT_ELIGIBLE, Verdict.ELIGIBLE, Verdict.NOT_ELIGIBLE),
])
def test_merging_keeps_the_worst_verdict_and_every_reason(first: Verdict, second: Verdict, expected: Verdict) -> None:
    a = Eligibility(first, ["a"] if first != Verdict.ELIGIBLE else [])
    b = Eligibility(second, ["b"] if second != Verdict.ELIGIBLE else [])
    merged = a.merge(b)
    assert merged.verdict == expected
    assert merged.reasons == a.reasons + b.reasons


def test_a_soft_failure_never_softens_a_hard_one() -> None:
    result = Eligibility()
    result.fail("hard", hard=True)
    result.fail("soft", hard=False)
    assert (result.verdict, result.reasons) == (Verdict.NOT_ELIGIBLE, ["hard", "soft"])
