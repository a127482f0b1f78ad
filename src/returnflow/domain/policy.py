"""Return policy and eligibility: a list of small checks, each giving a customer-readable reason.

Shape after Solidus' eligibility validators (``return_item/eligibility_validator/*.rb``): the result
is the combination of independent checks; a failed hard check makes the line *not eligible*, a failed
soft check sends it to *review*. The policy itself is data (``policy_file.parse_policy`` reads the
TOML format documented in docs/policy.md); the money decisions it feeds (fees, free returns, keep-it,
bonus) are in ``domain/policy_terms.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from returnflow.domain.orders import LineKind, Order, OrderLine
from returnflow.domain.settlement import Fee

ZERO = Decimal(0)


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_review"
    NOT_ELIGIBLE = "not_eligible"


class WindowStart(StrEnum):
    """What the return window is counted from (a missing date falls back to the purchase date)."""

    PURCHASE = "purchase"
    FULFILMENT = "fulfilment"
    DELIVERY = "delivery"


@dataclass(frozen=True)
class ReturnReason:
    """A configurable return reason: ``code`` (stored on the line), ``label`` (shown), ``sub_reasons``
    (codes allowed as detail), whether a comment or photo is required, and whether the return is free
    because the fault is the merchant's (damaged, defective, wrong item)."""

    code: str
    label: str
    sub_reasons: tuple[str, ...] = ()
    comment_required: bool = False
    photo_required: bool = False
    free_return: bool = False


@dataclass(frozen=True)
class ItemRule:
    """Overrides for the items it matches (by ``sku``, ``tag`` or ``category``; a SKU rule beats a tag
    rule, which beats a category rule). ``None`` fields keep the policy's value."""

    sku: str | None = None
    tag: str | None = None
    category: str | None = None
    window_days: int | None = None
    returnable: bool = True
    final_sale: bool = False
    restocking_fee: Fee | None = None
    conditions: tuple[str, ...] = ()

    def matches(self, line: OrderLine) -> bool:
        return bool((self.sku and self.sku == line.sku) or (self.tag and self.tag in (line.tags or ()))
                    or (self.category and self.category == line.category))

    @property
    def specificity(self) -> int:
        return 3 if self.sku else 2 if self.tag else 1


@dataclass(frozen=True)
class ReturnPolicy:
    """A merchant's return policy. The defaults are the demo merchant's: 30 days from purchase, goods
    only, requests up to 365 days after purchase go to review, no fees.

    Window: ``window_days`` counted from ``window_starts``; ``review_window_days`` (days from the same
    start) beyond which a request is refused outright (None: refused right after the window).
    Money (order currency): ``restocking_fee``; ``return_shipping_fee`` deducted unless the return is
    free (a ``free_return`` reason, order value >= ``free_return_order_value``, or a customer tier in
    ``free_return_tiers``); ``return_shipping_cost`` (estimate used for keep-it); ``refund_shipping``
    ("never", "full_return": the order's shipping charge is refunded with the return that brings every
    unit back, "free_return": also with a free-return reason); store credit bonus and expiry.
    Review: value above ``review_value_over``, ``review_repeat_returns`` or more returns by the customer in
    ``review_repeat_days``, a missing photo for a reason that needs one.
    """

    version: str = "default-1"
    window_days: int = 30
    review_window_days: int | None = 365
    window_starts: WindowStart = WindowStart.PURCHASE
    rules: tuple[ItemRule, ...] = ()
    reasons: tuple[ReturnReason, ...] = ()
    restocking_fee: Fee = field(default_factory=Fee)
    return_shipping_fee: Decimal = ZERO
    return_shipping_cost: Decimal = ZERO
    free_return_order_value: Decimal | None = None
    free_return_tiers: tuple[str, ...] = ()
    refund_shipping: str = "never"
    payment_order: tuple[str, ...] = ("card", "paypal", "gift_card", "store_credit")
    non_refundable_methods: tuple[str, ...] = ()
    store_credit_bonus_percent: Decimal = ZERO
    store_credit_bonus_flat: Decimal = ZERO
    store_credit_expiry_days: int | None = None
    keep_it: bool = False
    review_value_over: Decimal | None = None
    review_repeat_returns: int | None = None
    review_repeat_days: int = 90
    instant_exchange: bool = False
    instant_exchange_hold_days: int = 14
    source: str = ""

    def rule_for(self, line: OrderLine) -> ItemRule | None:
        """The most specific item rule matching ``line`` (first in file order among equals), or None."""
        matching = [rule for rule in self.rules if rule.matches(line)]
        return max(matching, key=lambda r: r.specificity) if matching else None

    def reason(self, code: str) -> ReturnReason | None:
        return next((r for r in self.reasons if r.code == code), None)

    def fee_for(self, line: OrderLine) -> Fee:
        rule = self.rule_for(line)
        return rule.restocking_fee if rule and rule.restocking_fee else self.restocking_fee


@dataclass
class Eligibility:
    """The outcome of the checks: ``verdict``, one reason per failed check, and among them ``hard_reasons``,
    the ones that refuse the return outright (the others only send it to review)."""

    verdict: Verdict = Verdict.ELIGIBLE
    reasons: list[str] = field(default_factory=list)
    hard_reasons: list[str] = field(default_factory=list)

    def fail(self, reason: str, *, hard: bool) -> None:
        self.reasons.append(reason)
        if hard:
            self.hard_reasons.append(reason)
            self.verdict = Verdict.NOT_ELIGIBLE
        elif self.verdict == Verdict.ELIGIBLE:
            self.verdict = Verdict.NEEDS_REVIEW

    def merge(self, other: Eligibility) -> Eligibility:
        out = Eligibility(self.verdict, [*self.reasons, *other.reasons], [*self.hard_reasons, *other.hard_reasons])
        rank = [Verdict.ELIGIBLE, Verdict.NEEDS_REVIEW, Verdict.NOT_ELIGIBLE]
        out.verdict = max(self.verdict, other.verdict, key=rank.index)
        return out


@dataclass(frozen=True)
class LineRequest:
    """What the customer says about one line: reason code, sub-reason, comment, photos attached, and
    the condition statements they confirm (e.g. "unworn"). ``listed_only`` False: a claim, whose kind (damaged,
    missing) is its reason, is not refused for a kind the policy does not list; a listed one keeps its rules."""

    reason: str = ""
    sub_reason: str = ""
    comment: str = ""
    photos: int = 0
    conditions: tuple[str, ...] = ()
    listed_only: bool = True


def window_start(policy: ReturnPolicy, order: Order) -> datetime:
    """The date the window counts from; falls back to the purchase date when the order lacks it."""
    if policy.window_starts == WindowStart.DELIVERY and order.delivered_at:
        return order.delivered_at
    if policy.window_starts in (WindowStart.DELIVERY, WindowStart.FULFILMENT) and order.fulfilled_at:
        return order.fulfilled_at
    return order.placed_at


def _check_window(policy: ReturnPolicy, order: Order, line: OrderLine, at: datetime, result: Eligibility) -> None:
    rule = policy.rule_for(line)
    days = rule.window_days if rule and rule.window_days is not None else policy.window_days
    start = window_start(policy, order)
    age = at - start
    what = {"purchase": "purchase", "fulfilment": "dispatch", "delivery": "delivery"}[str(policy.window_starts)]
    if age < timedelta(0):
        result.fail("the return is dated before the order was placed", hard=True)
    elif age > timedelta(days=days):
        if policy.review_window_days is not None and age <= timedelta(days=max(policy.review_window_days, days)):
            result.fail(f"requested {age.days} days after {what}; the return window is {days} days", hard=False)
        else:
            result.fail(f"the {days}-day return window ended {(start + timedelta(days=days)).date().isoformat()}",
                        hard=True)


def _check_item(policy: ReturnPolicy, line: OrderLine, request: LineRequest, result: Eligibility) -> None:
    rule = policy.rule_for(line)
    if rule is None:
        return
    if rule.final_sale:
        result.fail(f"{line.description or line.sku} was a final sale and cannot be returned", hard=True)
    elif not rule.returnable:
        result.fail(f"{line.description or line.sku} cannot be returned", hard=True)
    missing = [c for c in rule.conditions if c not in request.conditions]
    if missing:
        result.fail(f"{line.description or line.sku} must be returned {', '.join(missing)}", hard=True)


def _check_reason(policy: ReturnPolicy, line: OrderLine, request: LineRequest, result: Eligibility) -> None:
    if not policy.reasons or not request.reason:  # no reason yet (a draft previewed as units are chosen)
        return
    reason = policy.reason(request.reason)
    if reason is None and not request.listed_only:
        return
    if reason is None:
        result.fail(f"'{request.reason}' is not one of the return reasons: "
                    f"{', '.join(r.label for r in policy.reasons)}", hard=True)
        return
    if request.sub_reason and request.sub_reason not in reason.sub_reasons:  # none listed: none accepted
        result.fail(f"'{request.sub_reason}' is not a detail of '{reason.label}'", hard=True)
    if reason.comment_required and not request.comment.strip():
        result.fail(f"please describe the problem ('{reason.label}' needs a comment)", hard=True)
    if reason.photo_required and request.photos < 1:
        result.fail(f"a photo is needed for '{reason.label}'; an agent will review the request", hard=False)


def check_line(policy: ReturnPolicy, *, order: Order, line: OrderLine, requested_at: datetime,
               request: LineRequest | None = None) -> Eligibility:
    """Run the policy's checks for returning units of ``line`` at ``requested_at`` (UTC).

    Checks: the line is goods; the return window (per item rule); final sale / non-returnable;
    condition statements; the reason is configured, with its required comment (hard) and photo (soft:
    review). Without ``request`` only the goods and window checks run (the demo replay).
    """
    result = Eligibility()
    if line.kind != LineKind.GOODS:
        result.fail(f"{line.sku} is a {line.kind} charge, not goods, and cannot be sent back", hard=True)
        return result
    _check_window(policy, order, line, requested_at, result)
    if request is not None:
        _check_item(policy, line, request, result)
        _check_reason(policy, line, request, result)
    return result
