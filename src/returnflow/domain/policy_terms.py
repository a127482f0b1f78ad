"""The policy's decision on a whole return: eligibility, review, fees, free return, keep-it; explained.

:func:`decide` runs the per-line checks of ``policy.check_line`` and then the order-level ones:

* review (soft) when the value asked back exceeds ``review_value_over``, when the customer already
  made ``review_repeat_returns`` returns in ``review_repeat_days``;
* return shipping is free when a line's reason is a ``free_return`` reason, when the order's goods are
  worth at least ``free_return_order_value``, or when the customer's tier is in ``free_return_tiers``;
  otherwise ``return_shipping_fee`` is deducted (once per return);
* keep-it (returnless refund) when enabled and every unit asked back is worth no more than the cost of
  bringing it back (``return_shipping_cost``, the carrier estimate): shipping it would cost more
  than it is worth (Loop "Keep Item", AfterShip "green return").

Every decision adds a sentence to ``explanations``; the service stores them on the RMA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from returnflow.domain.money import round_money, share_of_units
from returnflow.domain.orders import LineKind, Order, OrderLine
from returnflow.domain.policy import Eligibility, LineRequest, ReturnPolicy, Verdict, check_line
from returnflow.domain.settlement import Fee

ZERO = Decimal(0)


@dataclass(frozen=True)
class RequestedUnits:
    """``units`` of ``line`` asked back after ``units_before`` already returned, with the request."""

    line: OrderLine
    units: int
    request: LineRequest
    units_before: int = 0


@dataclass
class Decision:
    """The policy's decision: ``eligibility`` (verdict + failed checks), ``return_shipping_fee`` to
    deduct, ``keep_items`` (refund without the goods coming back), ``restocking_fees`` per order line
    id, and ``explanations`` (every decision, in customer words)."""

    eligibility: Eligibility
    policy_version: str
    return_shipping_fee: Decimal = ZERO
    free_return: bool = False
    keep_items: bool = False
    restocking_fees: dict[int, Fee] = field(default_factory=dict)
    explanations: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return self.eligibility.verdict

    def summary(self) -> str:
        """One text for ``ReturnAuthorization.decision``: failed checks first, then the explanations."""
        return "; ".join([*self.eligibility.reasons, *self.explanations]) or "eligible under the return policy"


@dataclass(frozen=True)
class CustomerFacts:
    """What the policy may know of the customer: ``tier`` and how many returns they made recently."""

    tier: str = "standard"
    recent_returns: int = 0


def decide(policy: ReturnPolicy, *, order: Order, items: Sequence[RequestedUnits], at: datetime,
           customer: CustomerFacts | None = None) -> Decision:
    """Apply ``policy`` to a draft return of ``items`` of ``order`` at ``at`` (UTC). Pure; never raises
    for a policy failure (the verdict says it)."""
    customer = customer or CustomerFacts()
    cur = order.currency
    eligibility = Eligibility()
    for item in items:
        eligibility = eligibility.merge(check_line(policy, order=order, line=item.line, requested_at=at,
                                                   request=item.request))
    decision = Decision(eligibility=eligibility, policy_version=policy.version)
    value = ZERO
    unit_values: list[Decimal] = []
    for item in items:
        if item.line.kind != LineKind.GOODS or item.units < 1:
            continue
        paid = order.line_paid_total(item.line)
        value += share_of_units(paid, quantity=item.line.quantity, units_before=item.units_before,
                                units=min(item.units, item.line.quantity - item.units_before), currency=cur)
        unit_values.append(paid / item.line.quantity)
        reason = policy.reason(item.request.reason)
        fee = Fee() if reason is not None and reason.free_return else policy.fee_for(item.line)
        decision.restocking_fees[item.line.id or 0] = fee
        if fee.percent or fee.flat:
            decision.explanations.append(f"restocking fee on {item.line.sku}: "
                                         f"{_fee_text(fee, cur)} of its value without tax")
    if policy.review_value_over is not None and value > policy.review_value_over:
        eligibility.fail(f"returns worth more than {policy.review_value_over} {cur} are checked by an agent",
                         hard=False)
    if policy.review_repeat_returns is not None and customer.recent_returns >= policy.review_repeat_returns:
        eligibility.fail(f"{customer.recent_returns} returns in the last {policy.review_repeat_days} days: "
                         "an agent will review this one", hard=False)
    _decide_free_return(policy, order, items, customer, decision)
    if (policy.keep_it and unit_values and policy.return_shipping_cost > 0
            and all(v <= policy.return_shipping_cost for v in unit_values)):
        decision.keep_items = True
        decision.return_shipping_fee = ZERO
        decision.explanations.append("keep the item: sending it back would cost more than it is worth; "
                                     "you are refunded without returning it")
    return decision


def _goods_value(order: Order) -> Decimal:
    return sum((order.line_paid_total(l) for l in order.lines if l.kind == LineKind.GOODS), ZERO)


def _decide_free_return(policy: ReturnPolicy, order: Order, items: Sequence[RequestedUnits],
                        customer: CustomerFacts, decision: Decision) -> None:
    cur = order.currency
    because = None
    for item in items:
        reason = policy.reason(item.request.reason)
        if reason is not None and reason.free_return:
            because = f"return shipping is free: the reason is '{reason.label}'"
            break
    if because is None and policy.free_return_order_value is not None \
            and _goods_value(order) >= policy.free_return_order_value:
        because = f"return shipping is free on orders of {policy.free_return_order_value} {cur} or more"
    if because is None and customer.tier in policy.free_return_tiers:
        because = f"return shipping is free for {customer.tier} customers"
    if because is not None or policy.return_shipping_fee == 0:
        decision.free_return = True
        if because:
            decision.explanations.append(because)
        return
    decision.return_shipping_fee = round_money(policy.return_shipping_fee, cur)
    decision.explanations.append(f"a return shipping fee of {decision.return_shipping_fee} {cur} is deducted "
                                 "from the refund")


def _fee_text(fee: Fee, currency: str) -> str:
    parts = []
    if fee.percent:
        parts.append(f"{fee.percent.normalize():f} %")
    if fee.flat:
        parts.append(f"{round_money(fee.flat, currency)} {currency} a unit")
    return " + ".join(parts)


def shipping_lines_to_refund(policy: ReturnPolicy, *, order: Order, fully_returned_after: bool,
                             free_return: bool, already_refunded_line_ids: set[int]) -> list[int]:
    """Shipping lines refunded with this refund, each at most once: with ``refund_shipping`` =
    "full_return" when this refund brings every goods unit back; "free_return" also when the return
    is free because of the merchant's fault; "never" never."""
    mode = policy.refund_shipping
    if mode == "never" or not (fully_returned_after or (mode == "free_return" and free_return)):
        return []
    return [l.id or 0 for l in order.lines
            if l.kind == LineKind.SHIPPING and (l.id or 0) not in already_refunded_line_ids]
