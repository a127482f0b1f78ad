"""Return policy and eligibility: a list of small checks, each giving a customer-readable reason.

Shape after Solidus' eligibility validators (``return_item/eligibility_validator/*.rb``): the result
is the combination of independent checks; a failed hard check makes the line *not eligible*, a failed
soft check sends it to *review*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from returnflow.domain.orders import LineKind, Order, OrderLine


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_review"
    NOT_ELIGIBLE = "not_eligible"


@dataclass(frozen=True)
class ReturnPolicy:
    """A merchant's return policy (the default one: 30 days from purchase, goods only).

    ``window_days``: days from purchase during which a return is approved automatically;
    ``review_window_days``: beyond the window but within this many days the request goes to review
    (None: straight to not eligible).
    """

    version: str = "default-1"
    window_days: int = 30
    review_window_days: int | None = 365


@dataclass
class Eligibility:
    """The outcome of the checks: ``verdict`` and one reason per failed check."""

    verdict: Verdict = Verdict.ELIGIBLE
    reasons: list[str] = field(default_factory=list)

    def fail(self, reason: str, *, hard: bool) -> None:
        self.reasons.append(reason)
        if hard:
            self.verdict = Verdict.NOT_ELIGIBLE
        elif self.verdict == Verdict.ELIGIBLE:
            self.verdict = Verdict.NEEDS_REVIEW

    def merge(self, other: Eligibility) -> Eligibility:
        out = Eligibility(self.verdict, list(self.reasons))
        for reason in other.reasons:
            out.reasons.append(reason)
        rank = [Verdict.ELIGIBLE, Verdict.NEEDS_REVIEW, Verdict.NOT_ELIGIBLE]
        out.verdict = max(self.verdict, other.verdict, key=rank.index)
        return out


def check_line(policy: ReturnPolicy, *, order: Order, line: OrderLine, requested_at: datetime) -> Eligibility:
    """Run the policy's checks for returning units of ``line`` at ``requested_at`` (UTC)."""
    result = Eligibility()
    if line.kind != LineKind.GOODS:
        result.fail(f"{line.sku} is a {line.kind} charge, not goods, and cannot be sent back", hard=True)
        return result
    age = requested_at - order.placed_at
    if age < timedelta(0):
        result.fail("the return is dated before the order was placed", hard=True)
    elif age > timedelta(days=policy.window_days):
        days = age.days
        if policy.review_window_days is not None and age <= timedelta(days=policy.review_window_days):
            result.fail(f"requested {days} days after purchase; the return window is {policy.window_days} days",
                        hard=False)
        else:
            result.fail(f"the {policy.window_days}-day return window ended "
                        f"{(order.placed_at + timedelta(days=policy.window_days)).date().isoformat()}", hard=True)
    return result
