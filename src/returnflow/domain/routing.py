"""Routing one return (RMA) to a return center: pure scoring, standard library only.

Rule (issue 5): among the centers that can process every item of the return and still have capacity today,
choose the one with the least expected cost = transport from the customer + handling at the center. When a
network plan is active and names a center for the customer's region, that center is chosen as long as it is
capable and has capacity; otherwise the rule above applies and the reason says why the plan was not followed.
Ties are broken by center code so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal


class NoReturnCenterAvailable(Exception):
    """No center can take the return; ``reasons`` maps each center code to why it was excluded."""

    def __init__(self, reasons: Mapping[str, str]) -> None:
        self.reasons = dict(reasons)
        detail = "; ".join(f"{code}: {why}" for code, why in sorted(self.reasons.items())) or "no centers"
        super().__init__(f"no return center can take this return ({detail})")


@dataclass(frozen=True)
class ReturnCenter:
    """A return center.

    code: short unique code; capabilities: e.g. {"electronics_refurbishment", "apparel_refolding"};
    daily_capacity / used_today: returns per day and returns already routed today;
    handling_cost: expected cost of processing one return there (Decimal, currency of the transport costs).
    """

    code: str
    name: str
    address: str
    capabilities: frozenset[str]
    daily_capacity: int
    used_today: int
    handling_cost: Decimal

    @property
    def capacity_left(self) -> int:
        """Returns the center can still accept today (never negative)."""
        return max(0, self.daily_capacity - self.used_today)


@dataclass(frozen=True)
class CenterOption:
    """One center as considered: its costs if eligible, else why it was excluded."""

    code: str
    transport_cost: Decimal | None
    handling_cost: Decimal
    expected_cost: Decimal | None
    excluded_because: str | None


@dataclass(frozen=True)
class RoutingDecision:
    """The chosen center, its expected cost (transport + handling), whether the plan was followed, and why.

    ``reason`` is a sentence for staff; ``options`` lists every center considered, cheapest first.
    """

    center_code: str
    expected_cost: Decimal
    transport_cost: Decimal
    handling_cost: Decimal
    followed_plan: bool
    reason: str
    options: tuple[CenterOption, ...]


def route_return(
    centers: Sequence[ReturnCenter],
    transport_costs: Mapping[str, Decimal],
    *,
    required_capabilities: frozenset[str] = frozenset(),
    units: int = 1,
    planned_center: str | None = None,
) -> RoutingDecision:
    """Choose the return center for one return.

    Args:
        centers: candidate centers.
        transport_costs: center code -> cost of bringing this return from the customer to that center
            (centers missing here are unreachable).
        required_capabilities: what the return's items need (union over its lines).
        units: capacity the return uses (returns, normally 1).
        planned_center: the center the active network plan assigns to the customer's region, if any.

    Raises:
        NoReturnCenterAvailable: when no center is capable, reachable and has capacity left.
    """
    options = [_option(center, transport_costs, required_capabilities, units) for center in centers]
    eligible = sorted(
        (option for option in options if option.excluded_because is None),
        key=lambda option: (option.expected_cost, option.code),
    )
    ordered = tuple(eligible) + tuple(option for option in options if option.excluded_because is not None)
    if not eligible:
        raise NoReturnCenterAvailable({option.code: option.excluded_because or "" for option in options})
    cheapest = eligible[0]
    if planned_center is not None:
        planned = next((option for option in options if option.code == planned_center), None)
        if planned is not None and planned.excluded_because is None:
            reason = f"Network plan assigns this region to {planned.code} ({_costs(planned)})"
            if planned.code != cheapest.code:
                reason += f"; cheapest for this return alone would be {cheapest.code} ({_costs(cheapest)})"
            return _decision(planned, True, reason + ".", ordered)
        why = "is not a known center" if planned is None else planned.excluded_because
        reason = f"Plan center {planned_center} {why}; routed to the cheapest capable center with capacity"
    else:
        reason = "No active plan for this region; routed to the cheapest capable center with capacity"
    reason += f": {cheapest.code} ({_costs(cheapest)})"
    if len(eligible) > 1:
        runner_up = eligible[1]
        reason += f"; next {runner_up.code} at {runner_up.expected_cost}"
    return _decision(cheapest, False, reason + ".", ordered)


def _option(center: ReturnCenter, transport_costs: Mapping[str, Decimal], required: frozenset[str], units: int) -> CenterOption:
    transport = transport_costs.get(center.code)
    missing = sorted(required - center.capabilities)
    excluded = None
    if missing:
        excluded = "cannot process " + ", ".join(missing)
    elif center.capacity_left < units:
        excluded = f"has no capacity left today ({center.used_today}/{center.daily_capacity} used)"
    elif transport is None:
        excluded = "has no transport cost from this customer"
    expected = None if transport is None else transport + center.handling_cost
    return CenterOption(center.code, transport, center.handling_cost, expected, excluded)


def _costs(option: CenterOption) -> str:
    return f"transport {option.transport_cost} + handling {option.handling_cost} = {option.expected_cost}"


def _decision(option: CenterOption, followed: bool, reason: str, options: tuple[CenterOption, ...]) -> RoutingDecision:
    assert option.expected_cost is not None and option.transport_cost is not None
    return RoutingDecision(option.code, option.expected_cost, option.transport_cost, option.handling_cost, followed, reason, options)
