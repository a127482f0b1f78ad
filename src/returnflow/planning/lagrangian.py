"""Lagrangian relaxation of the splittable CFLP: lower bound, multipliers and reduced costs.

Relaxing the demand rows sum_i x_ij = 1 with multipliers lambda_j gives (Cornuejols, Sridharan & Thizy 1991;
Beasley 1988)

    L(lambda) = sum_j lambda_j + min { sum_i v_i y_i : sum_i s_i y_i >= D, side constraints on y }
    v_i       = f_i + min { sum_j (c_ij - lambda_j) x_ij : sum_j d_j x_ij <= s_i, 0 <= x_ij <= 1 }

The inner problem is a continuous knapsack per center (solved by sorting), the outer one a covering knapsack
over y (exact by sorting when all capacities are equal, else its LP relaxation, still a valid bound).
L(lambda) <= optimum for every lambda; it is maximised by subgradient optimisation (Held, Wolfe & Crowder
1974) with Polyak steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from returnflow.planning.problem import FacilityProblem


@dataclass(frozen=True)
class LagrangianState:
    """Evaluation of L at one lambda.

    bound: L(lambda); center_values: v (m,); open_centers: y of the outer problem (m,), maybe fractional;
    assignment: the knapsack solutions x (m, n); reduced_costs: r (m, n) >= 0 where a positive amount of
    x_ij raises L by at least r_ij x_ij (LP duality of the knapsack); subgradient: 1 - sum_i y_i x_ij (n,).
    """

    multipliers: np.ndarray
    bound: float
    center_values: np.ndarray
    open_centers: np.ndarray
    assignment: np.ndarray
    reduced_costs: np.ndarray
    subgradient: np.ndarray


def knapsacks(problem: FacilityProblem, multipliers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-center continuous knapsacks at lambda: (values v (m,), x (m, n), reduced costs r (m, n)).

    Only pairs with c_ij - lambda_j < 0 can enter a knapsack (typically a tenth of them), so the greedy
    (best ratio first) runs on those entries alone: one sort by (center, ratio) instead of m row sorts.
    """
    m, n = problem.shape
    costs = problem.assignment_costs - multipliers[None, :]
    masked = problem.allowed is not None or bool(problem.must_close) or problem.single_source
    if masked:
        costs = np.where(problem.allowed_mask, costs, math.inf)
    demands = problem.demands
    capacities = problem.effective_capacities
    flat = np.flatnonzero(costs < 0)
    rows = flat // n
    item_costs = costs.ravel()[flat]
    item_demands = demands[flat % n]
    ratio = item_costs / item_demands
    order = np.lexsort((ratio, rows))
    flat, rows, item_costs, item_demands, ratio = flat[order], rows[order], item_costs[order], item_demands[order], ratio[order]
    counts = np.bincount(rows, minlength=m)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cumulative = np.cumsum(item_demands)
    offset = np.concatenate([[0.0], cumulative])[starts]
    before = cumulative - item_demands - offset[rows]
    fraction = np.clip((capacities[rows] - before) / item_demands, 0.0, 1.0)
    assignment = np.zeros((m, n))
    assignment.ravel()[flat] = fraction
    values = problem.fixed_costs + np.bincount(rows, weights=item_costs * fraction, minlength=m)
    # knapsack dual price: minus the ratio of the first negative item not taken in full
    partial = np.flatnonzero(fraction < 1.0)
    price = np.zeros(m)
    if len(partial):
        centers, first = np.unique(rows[partial], return_index=True)
        price[centers] = -ratio[partial[first]]
    reduced = np.maximum(costs + price[:, None] * demands[None, :], 0.0)  # inf stays inf (pairs not allowed)
    reduced[assignment > 0] = 0.0
    return values, assignment, reduced


def cover_subproblem(
    problem: FacilityProblem,
    values: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    counts: tuple[int, int] | None = None,
) -> tuple[float, np.ndarray]:
    """min sum v_i y_i s.t. sum s_i y_i >= D, lower <= y <= upper, |y| <= max_open: (value, y (m,)).

    Exact when the problem is uncapacitated or all capacities are equal; otherwise the LP relaxation of the
    covering knapsack (max_open and counts ignored), a lower bound. Returns (inf, y) when no y is feasible.
    counts: (fewest, most) open centers, applied in the exact case only.
    """
    m = len(values)
    y = lower.astype(float).copy()
    free = np.flatnonzero((upper > 0.5) & (lower < 0.5))
    free = free[np.argsort(values[free], kind="stable")]
    capacities = problem.effective_capacities
    need = float(problem.demands.sum()) if problem.capacitated else 0.0
    limit = problem.max_open if problem.max_open is not None else m
    equal = problem.capacitated and np.all(capacities == capacities[0])
    if not problem.capacitated or equal:
        required = 0 if not problem.capacitated else max(0, math.ceil(need / capacities[0] - 1e-9))
        if counts is not None:
            required, limit = max(required, counts[0]), min(limit, counts[1])
        count = int(y.sum())
        for i in free:
            if count < required or (values[i] < 0 and count < limit):
                y[i] = 1.0
                count += 1
        if count < required or count > limit:
            return math.inf, y
        return float(values @ y), y
    y[free[values[free] < 0]] = 1.0
    remaining = need - float(capacities @ y)
    rest = free[values[free] >= 0]
    rest = rest[np.argsort(values[rest] / np.maximum(capacities[rest], 1e-12), kind="stable")]
    for i in rest:
        if remaining <= 0:
            break
        take = min(1.0, remaining / capacities[i])
        y[i] = take
        remaining -= take * capacities[i]
    if remaining > 1e-9:
        return math.inf, y
    return float(values @ y), y


def evaluate(
    problem: FacilityProblem,
    multipliers: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    counts: tuple[int, int] | None = None,
) -> LagrangianState:
    """L(lambda) with its minimisers, reduced costs and subgradient."""
    values, assignment, reduced = knapsacks(problem, multipliers)
    outer, y = cover_subproblem(problem, values, lower=lower, upper=upper, counts=counts)
    bound = float(multipliers.sum()) + outer
    subgradient = 1.0 - y @ assignment
    return LagrangianState(multipliers, bound, values, y, assignment, reduced, subgradient)


def fix_centers(
    problem: FacilityProblem,
    state: LagrangianState,
    incumbent: float,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    counts: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Centers whose opposite state provably costs more than the incumbent: new (lower, upper) y bounds.

    For each free center i, L is recomputed with y_i forced to the value it does not take in the Lagrangian
    solution; if that bound exceeds the incumbent, no plan cheaper than the incumbent has y_i flipped.
    """
    lower, upper = lower.copy(), upper.copy()
    base = float(state.multipliers.sum())
    for i in np.flatnonzero((upper > 0.5) & (lower < 0.5)):
        trial_lower, trial_upper = lower.copy(), upper.copy()
        opened = state.open_centers[i] > 0.5
        if opened:
            trial_upper[i] = 0.0
        else:
            trial_lower[i] = 1.0
        outer, _ = cover_subproblem(problem, state.center_values, lower=trial_lower, upper=trial_upper, counts=counts)
        if base + outer > incumbent + 1e-7 * max(1.0, abs(incumbent)):
            if opened:
                lower[i] = 1.0
            else:
                upper[i] = 0.0
    return lower, upper


def count_range(
    problem: FacilityProblem, state: LagrangianState, incumbent: float, *, lower: np.ndarray, upper: np.ndarray
) -> tuple[int, int] | None:
    """Numbers k of open centers for which L restricted to |y| = k does not exceed the incumbent.

    Only when all capacities are equal (the cover is then a count and the restricted bound exact); a plan
    costing <= incumbent opens between the returned (fewest, most) centers; (1, 0) when none can;
    None when not applicable.
    """
    capacities = problem.effective_capacities
    if not problem.capacitated or not np.all(capacities == capacities[0]):
        return None
    base = float(state.multipliers.sum())
    feasible = [
        k
        for k in range(problem.shape[0] + 1)
        if base + cover_subproblem(problem, state.center_values, lower=lower, upper=upper, counts=(k, k))[0]
        <= incumbent + 1e-7 * max(1.0, abs(incumbent))
    ]
    return (min(feasible), max(feasible)) if feasible else (1, 0)


def link_bounds(state: LagrangianState, incumbent: float) -> np.ndarray:
    """Valid upper bounds on x_ij in any plan cheaper than the incumbent: min(1, (UB - L) / r_ij)."""
    gap = max(0.0, incumbent - state.bound) + 1e-7 * max(1.0, abs(incumbent))
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.where(state.reduced_costs > 0, gap / state.reduced_costs, 1.0)
    return np.minimum(bounds, 1.0)
