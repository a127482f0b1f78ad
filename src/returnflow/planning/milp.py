"""The facility-location MILP solved with HiGHS (``highspy``); the only module that imports the solver.

Formulation: the strong ("disaggregated") CFLP of Cornuejols, Sridharan & Thizy (1991), "A comparison of
heuristics and relaxations for the capacitated plant location problem", EJOR 50:280-297, with linking rows
x_ij <= u_ij y_i. The plain model uses u_ij = 1. The strengthened model adds
  * u_ij = min(1, s_i / d_j, bound from Lagrangian reduced costs)  (a region cannot send more than fits),
  * the aggregate capacity cover  sum_i s_i y_i >= sum_j d_j          (valid for any feasible plan).
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np

from returnflow.planning.problem import FacilityProblem


@dataclass(frozen=True)
class MilpResult:
    """Raw solver outcome: status "optimal" | "time limit" | "infeasible" | "cutoff"; x is (m, n) fractions."""

    status: str
    objective: float
    bound: float
    open_centers: np.ndarray
    assignment: np.ndarray
    seconds: float


def solve_milp(
    problem: FacilityProblem,
    *,
    time_limit: float = 60.0,
    threads: int = 1,
    strengthen: bool = True,
    open_lower: np.ndarray | None = None,
    open_upper: np.ndarray | None = None,
    link_bounds: np.ndarray | None = None,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    cutoff: float | None = None,
    open_count: tuple[int, int] | None = None,
    verbose: bool = False,
    highs_options: dict[str, object] | None = None,
    link_rows: np.ndarray | None = None,
) -> MilpResult:
    """Solve the (restricted) problem as a MILP with HiGHS.

    Args:
        problem: the instance.
        time_limit: seconds for HiGHS.
        threads: HiGHS threads (1 is fastest on this model on 2 shared cores).
        strengthen: add the aggregate-capacity cover and the tightened linking coefficients.
        open_lower / open_upper: (m,) 0/1 bounds on y (fixings proven elsewhere), on top of must_open/close.
        link_bounds: (m, n) valid upper bounds u_ij on x_ij (x_ij <= u_ij y_i is added).
        start: (y (m,), x (m, n)) a feasible solution handed to HiGHS as its first incumbent.
        cutoff: only solutions with objective <= cutoff are of interest ("cutoff" status if none).
        open_count: (fewest, most) centers open, a range proven by the Lagrangian count bounds.
        highs_options: further HiGHS options by name (e.g. ``{"mip_heuristic_effort": 0.0}``).
        link_rows: (m, n) bool, the pairs that get a linking row x_ij <= u_ij y_i (default: all). A pair
            without one keeps the column bound x_ij <= u_ij; in a capacitated problem the capacity row still
            forces x_ij = 0 when y_i = 0, so the MILP is unchanged and only its LP relaxation is weaker.

    Returns:
        MilpResult with bound = HiGHS' dual bound (the MIP's proven lower bound).
    """
    started = time.perf_counter()
    built = _build(problem, strengthen=strengthen, open_lower=open_lower, open_upper=open_upper,
                   link_bounds=link_bounds, open_count=open_count, link_rows=link_rows)
    m, n = problem.shape
    if built is None:
        return _empty("infeasible", m, n, started)
    lp, centers, regions = built

    highs = new_highs()
    highs.setOptionValue("output_flag", verbose)
    highs.setOptionValue("threads", threads)
    highs.setOptionValue("time_limit", max(0.1, float(time_limit)))
    highs.setOptionValue("mip_rel_gap", 1e-9)
    highs.setOptionValue("mip_abs_gap", 1e-6)
    if cutoff is not None:
        highs.setOptionValue("objective_bound", float(cutoff))
    for name, value in (highs_options or {}).items():
        highs.setOptionValue(name, value)
    highs.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(np.concatenate([start[0], start[1][centers, regions]]))
        highs.setSolution(solution)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    seconds = time.perf_counter() - started
    if status == highspy.HighsModelStatus.kInfeasible:
        return _empty("cutoff" if cutoff is not None else "infeasible", m, n, started)
    if info.primal_solution_status == 0:  # no feasible point found
        return _empty("time limit", m, n, started, bound=info.mip_dual_bound)
    column_values = np.asarray(highs.getSolution().col_value)
    open_centers = np.round(column_values[:m])
    assignment = np.zeros((m, n))
    assignment[centers, regions] = np.clip(column_values[m:], 0.0, 1.0)
    label = "optimal" if status == highspy.HighsModelStatus.kOptimal else "time limit"
    return MilpResult(label, info.objective_function_value, info.mip_dual_bound, open_centers, assignment, seconds)


_banner_lock = threading.Lock()
_banner_printed = False


def new_highs() -> highspy.Highs:
    """A ``highspy.Highs`` whose construction prints nothing on stdout.

    HiGHS writes its banner ("Running HiGHS ...") from C++ on the first construction in a process, before any
    option can be set, which breaks machine-readable output such as ``returnflow plan orlib --json``. The
    first construction therefore runs with file descriptor 1 pointed at /dev/null (C stdio flushed before
    fd 1 is restored); later ones print no banner anyway.
    """
    global _banner_printed
    with _banner_lock:
        if _banner_printed:
            return highspy.Highs()
        _banner_printed = True
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
        try:
            saved = os.dup(1)
        except OSError:  # no file descriptor 1: nothing to protect
            return highspy.Highs()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            highs = highspy.Highs()
            _flush_c_stdio()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        return highs


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library handle (not Linux/macOS)
        pass


def _empty(status: str, m: int, n: int, started: float, *, bound: float = math.nan) -> MilpResult:
    return MilpResult(status, math.nan, bound, np.zeros(m), np.zeros((m, n)), time.perf_counter() - started)


def solve_transportation(problem: FacilityProblem, open_centers: np.ndarray) -> tuple[float, np.ndarray] | None:
    """Best splittable assignment for a fixed set of open centers (an LP); None if it cannot serve all volume.

    Returns (fixed + transport cost, (m, n) fractions). The LP has only the open centers' pairs as columns
    and is handed to HiGHS as an LP (no integer columns, so no MIP machinery): a local search calls it
    hundreds of times.
    """
    m, n = problem.shape
    opened = np.asarray(open_centers) > 0.5
    mask = problem.with_options(single_source=False).allowed_mask & opened[:, None]
    if not mask.any(axis=0).all():
        return None
    centers, regions = np.nonzero(mask)
    pairs = len(centers)
    demands = problem.demands
    capacities = problem.effective_capacities
    finite = np.isfinite(capacities) & opened
    capacity_row = np.full(m, -1)
    capacity_row[finite] = n + np.arange(int(finite.sum()))
    selected = finite[centers]
    all_rows = np.concatenate([regions, capacity_row[centers[selected]]]).astype(np.int32)
    all_cols = np.concatenate([np.arange(pairs), np.flatnonzero(selected)]).astype(np.int64)
    all_values = np.concatenate([np.ones(pairs), demands[regions[selected]]]).astype(float)
    order = np.lexsort((all_rows, all_cols))
    lp = highspy.HighsLp()
    lp.num_col_ = pairs
    lp.num_row_ = n + int(finite.sum())
    lp.col_cost_ = problem.assignment_costs[centers, regions].astype(float)
    lp.col_lower_ = np.zeros(pairs)
    lp.col_upper_ = np.ones(pairs)
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(int(finite.sum()), -math.inf)])
    lp.row_upper_ = np.concatenate([np.ones(n), capacities[finite].astype(float)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(np.bincount(all_cols, minlength=pairs))]).astype(np.int32)
    lp.a_matrix_.index_ = all_rows[order]
    lp.a_matrix_.value_ = all_values[order]
    highs = new_highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    assignment = np.zeros((m, n))
    assignment[centers, regions] = np.clip(np.asarray(highs.getSolution().col_value), 0.0, 1.0)
    transport = float(highs.getInfo().objective_function_value)
    return float(problem.fixed_costs @ opened) + transport, assignment


def _build(
    problem: FacilityProblem,
    *,
    strengthen: bool,
    open_lower: np.ndarray | None,
    open_upper: np.ndarray | None,
    link_bounds: np.ndarray | None,
    open_count: tuple[int, int] | None,
    link_rows: np.ndarray | None,
) -> tuple[highspy.HighsLp, np.ndarray, np.ndarray] | None:
    """The (restricted) MILP as a HighsLp with its (center, region) pair columns; None if no plan fits."""
    m, n = problem.shape
    demands = problem.demands
    capacities = problem.effective_capacities
    y_lower = np.zeros(m)
    y_upper = np.ones(m)
    y_lower[list(problem.must_open)] = 1
    if open_lower is not None:
        y_lower = np.maximum(y_lower, open_lower)
    if open_upper is not None:
        y_upper = np.minimum(y_upper, open_upper)
    mask = problem.allowed_mask & (y_upper[:, None] > 0.5)
    if not mask.any(axis=0).all():
        return None
    centers, regions = np.nonzero(mask)
    pairs = len(centers)
    link = np.ones(pairs)
    if strengthen and problem.capacitated:
        link = np.minimum(link, capacities[centers] / demands[regions])
    if link_bounds is not None:
        link = np.minimum(link, link_bounds[centers, regions])
    x_columns = m + np.arange(pairs)

    rows, cols, values = [], [], []
    row_lower, row_upper = [], []
    # demand rows: sum_i x_ij = 1
    rows.append(regions)
    cols.append(x_columns)
    values.append(np.ones(pairs))
    row_lower += [1.0] * n
    row_upper += [1.0] * n
    next_row = n
    finite = np.isfinite(capacities)
    if problem.capacitated and finite.any():
        capacity_row = np.full(m, -1)
        capacity_row[finite] = next_row + np.arange(finite.sum())
        selected = finite[centers]
        rows.append(capacity_row[centers[selected]])
        cols.append(x_columns[selected])
        values.append(demands[regions[selected]])
        rows.append(capacity_row[finite])
        cols.append(np.flatnonzero(finite))
        values.append(-capacities[finite])
        row_lower += [-math.inf] * int(finite.sum())
        row_upper += [0.0] * int(finite.sum())
        next_row += int(finite.sum())
    # linking rows x_ij - u_ij y_i <= 0, needed unless y_i is fixed open (then x_ij <= u_ij is a bound)
    needs_row = y_lower[centers] < 0.5
    if link_rows is not None and problem.capacitated:
        needs_row &= link_rows[centers, regions] | ~np.isfinite(capacities[centers])
    linked = np.flatnonzero(needs_row)
    link_rows = next_row + np.arange(len(linked))
    rows += [link_rows, link_rows]
    cols += [x_columns[linked], centers[linked]]
    values += [np.ones(len(linked)), -link[linked]]
    row_lower += [-math.inf] * len(linked)
    row_upper += [0.0] * len(linked)
    next_row += len(linked)
    if strengthen and problem.capacitated and finite.all():
        rows.append(np.full(m, next_row))
        cols.append(np.arange(m))
        values.append(capacities.astype(float))
        row_lower.append(float(demands.sum()))
        row_upper.append(math.inf)
        next_row += 1
    if problem.max_open is not None or open_count is not None:
        rows.append(np.full(m, next_row))
        cols.append(np.arange(m))
        values.append(np.ones(m))
        row_lower.append(-math.inf if open_count is None else float(open_count[0]))
        upper_count = problem.max_open if open_count is None else open_count[1]
        if problem.max_open is not None:
            upper_count = min(upper_count, problem.max_open)
        row_upper.append(float(upper_count))
        next_row += 1

    all_rows = np.concatenate(rows).astype(np.int32)
    all_cols = np.concatenate(cols).astype(np.int64)
    all_values = np.concatenate(values).astype(float)
    order = np.lexsort((all_rows, all_cols))
    num_cols = m + pairs
    lp = highspy.HighsLp()
    lp.num_col_ = num_cols
    lp.num_row_ = next_row
    lp.col_cost_ = np.concatenate([problem.fixed_costs, problem.assignment_costs[centers, regions]])
    lp.col_lower_ = np.concatenate([y_lower, np.zeros(pairs)])
    lp.col_upper_ = np.concatenate([y_upper, np.where(needs_row, 1.0, link)])
    lp.row_lower_ = np.asarray(row_lower)
    lp.row_upper_ = np.asarray(row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(np.bincount(all_cols, minlength=num_cols))]).astype(np.int32)
    lp.a_matrix_.index_ = all_rows[order]
    lp.a_matrix_.value_ = all_values[order]
    integer = highspy.HighsVarType.kInteger
    continuous = highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer] * m + [integer if problem.single_source else continuous] * pairs
    return lp, centers, regions


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of :func:`probe_centers`: status "cutoff" (no plan costs less than the limit) or "open";
    the tightened (lower, upper) bounds on y; the LP bound at the end; LP solves done."""

    status: str
    open_lower: np.ndarray
    open_upper: np.ndarray
    bound: float
    probes: int


def probe_centers(
    problem: FacilityProblem,
    limit: float,
    *,
    open_lower: np.ndarray,
    open_upper: np.ndarray,
    link_bounds: np.ndarray | None = None,
    open_count: tuple[int, int] | None = None,
    time_limit: float = 30.0,
    tolerance: float = 1e-9,
) -> ProbeResult:
    """Fix centers by LP probing against ``limit`` (the cost of a plan in hand).

    Solves the LP relaxation of the strengthened (restricted) model once, then for each free center forces it
    to the side it does not take in the LP (open when y_i < 1, closed when y_i > 0) and re-solves warm (dual
    simplex from the last basis). If that LP costs more than limit * (1 - tolerance), no plan cheaper than
    the limit has the center on that side, so it is fixed to the other side. Passes repeat while centers get
    fixed. Status "cutoff" when the LP itself exceeds the limit: then no plan is cheaper than the limit (beyond
    the relative tolerance). The same proof HiGHS gets from strong branching at its root, without its cut
    rounds, and the fixings carry over to the MILP.
    """
    started = time.perf_counter()
    m, _ = problem.shape
    lower = np.asarray(open_lower, float).copy()
    upper = np.asarray(open_upper, float).copy()
    lower[list(problem.must_open)] = 1.0
    threshold = limit - tolerance * max(1.0, abs(limit))
    built = _build(problem, strengthen=True, open_lower=lower, open_upper=upper, link_bounds=link_bounds,
                   open_count=open_count, link_rows=None)
    if built is None:
        return ProbeResult("cutoff", lower, upper, math.inf, 0)
    lp = built[0]
    lp.integrality_ = []
    highs = new_highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("solver", "simplex")
    highs.setOptionValue("simplex_strategy", 1)  # dual: its objective only grows, so it can stop at the limit
    highs.setOptionValue("objective_bound", float(threshold))
    highs.passModel(lp)
    probes = 0

    def solve() -> float:
        nonlocal probes
        probes += 1
        # HiGHS' time limit counts from the object's creation, not from this run
        remaining = time_limit - (time.perf_counter() - started)
        highs.setOptionValue("time_limit", highs.getRunTime() + max(0.1, remaining))
        highs.run()
        status = highs.getModelStatus()
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            return math.inf  # (dual simplex stopped once its dual objective passed the limit)
        if status != highspy.HighsModelStatus.kOptimal:
            return math.nan  # time limit: nothing learnt
        return float(highs.getInfo().objective_function_value)

    def set_bounds(i: int, low: float, high: float) -> None:
        highs.changeColBounds(int(i), float(low), float(high))

    value = solve()
    if value > threshold:
        return ProbeResult("cutoff", lower, upper, value, probes)
    if not math.isfinite(value):
        return ProbeResult("open", lower, upper, -math.inf, probes)
    while time.perf_counter() - started < time_limit:
        solution = highs.getSolution()
        y = np.asarray(solution.col_value)[:m]
        # reduced-cost fixing first (LP duality: forcing y_i to its other bound costs at least |d_i|)
        reduced = np.asarray(solution.col_dual)[:m]
        free = np.flatnonzero((lower < 0.5) & (upper > 0.5))
        closing = free[(y[free] < 1e-9) & (value + reduced[free] > threshold)]
        opening = free[(y[free] > 1 - 1e-9) & (value - reduced[free] > threshold)]
        upper[closing] = 0.0
        lower[opening] = 1.0
        for i in np.concatenate([closing, opening]):
            set_bounds(i, lower[i], upper[i])
        free = np.flatnonzero((lower < 0.5) & (upper > 0.5))
        free = free[np.argsort(-np.minimum(y[free], 1 - y[free]), kind="stable")]  # fractional ones first
        fixed = 0
        for i in free:
            for side in ((1.0, 1.0), (0.0, 0.0)):
                if time.perf_counter() - started >= time_limit:
                    break
                if (side[0] == 1.0 and y[i] > 1 - 1e-6) or (side[0] == 0.0 and y[i] < 1e-6):
                    continue  # the LP already takes this side
                if lower[i] > 0.5 or upper[i] < 0.5:
                    break  # fixed by the other side's probe
                set_bounds(i, *side)
                probe = solve()
                set_bounds(i, lower[i], upper[i])
                if probe > threshold:  # math.inf (infeasible) included; nan compares False
                    if side[0] == 1.0:
                        upper[i] = 0.0
                    else:
                        lower[i] = 1.0
                    set_bounds(i, lower[i], upper[i])
                    fixed += 1
        value = solve()
        if value > threshold:
            return ProbeResult("cutoff", lower, upper, value, probes)
        if not fixed or not math.isfinite(value):
            break
    return ProbeResult("open", lower, upper, value if math.isfinite(value) else -math.inf, probes)
