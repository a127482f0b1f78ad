"""Facility-location problem and plan dataclasses (the planner's input and output).

The model is the capacitated facility location problem (CFLP) as in Beasley (1988), "An algorithm for
solving large capacitated warehouse location problems", EJOR 33:314-325:

    minimise   sum_i f_i y_i + sum_ij c_ij x_ij
    subject to sum_i x_ij = 1                  for every region j        (all volume is served)
               sum_j d_j x_ij <= s_i y_i       for every center i        (capacity)
               x_ij <= y_i                     for every pair            (strong linking)
               y_i in {0, 1},  0 <= x_ij <= 1  (x_ij in {0, 1} in the single-source form)

x_ij is the *fraction* of region j's volume sent to center i and c_ij the cost of sending *all* of it,
the OR-Library convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


class PlanningError(ValueError):
    """The problem is malformed (shapes, negative values, contradictory side constraints)."""


@dataclass(frozen=True)
class FacilityProblem:
    """A facility-location instance with m candidate centers and n customer regions.

    Attributes (arrays are float64 numpy arrays; money in one currency, volume in units per period):
        fixed_costs: shape (m,), cost of opening each center.
        capacities: shape (m,), volume each center can process; ``math.inf`` for no limit.
        demands: shape (n,), volume of each region (> 0).
        assignment_costs: shape (m, n), cost of serving ALL of region j's volume from center i.
        single_source: each region is served by exactly one center (x binary).
        capacitated: when False, capacities are ignored (uncapacitated facility location).
        must_open / must_close: center indices forced open / closed.
        max_open: at most this many centers open (None: no limit).
        allowed: shape (m, n) bool, False where region j may not use center i (service radius).
        center_names / region_names: labels for reports (default "0", "1", ...).

    Raises:
        PlanningError: on inconsistent shapes, negative or non-finite costs, or contradictory sets.
    """

    fixed_costs: np.ndarray
    capacities: np.ndarray
    demands: np.ndarray
    assignment_costs: np.ndarray
    single_source: bool = False
    capacitated: bool = True
    must_open: frozenset[int] = frozenset()
    must_close: frozenset[int] = frozenset()
    max_open: int | None = None
    allowed: np.ndarray | None = None
    center_names: tuple[str, ...] = field(default=())
    region_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        m, n = self.assignment_costs.shape if self.assignment_costs.ndim == 2 else (-1, -1)
        if m < 1 or n < 1:
            raise PlanningError("assignment_costs must be a non-empty (centers x regions) matrix")
        if self.fixed_costs.shape != (m,) or self.capacities.shape != (m,) or self.demands.shape != (n,):
            raise PlanningError(f"shapes disagree: expected fixed_costs/capacities ({m},), demands ({n},)")
        if self.allowed is not None and self.allowed.shape != (m, n):
            raise PlanningError(f"allowed must have shape ({m}, {n})")
        if not np.all(np.isfinite(self.assignment_costs)) or not np.all(np.isfinite(self.fixed_costs)):
            raise PlanningError("costs must be finite")
        if np.any(self.demands <= 0) or np.any(self.capacities < 0) or np.any(self.fixed_costs < 0):
            raise PlanningError("demands must be positive, capacities and fixed costs non-negative")
        if self.must_open & self.must_close:
            raise PlanningError(f"centers both forced open and closed: {sorted(self.must_open & self.must_close)}")
        if any(not 0 <= i < m for i in self.must_open | self.must_close):
            raise PlanningError("must_open / must_close index out of range")
        if self.max_open is not None and self.max_open < len(self.must_open):
            raise PlanningError("max_open is smaller than the number of centers forced open")
        if not self.center_names:
            object.__setattr__(self, "center_names", tuple(str(i) for i in range(m)))
        if not self.region_names:
            object.__setattr__(self, "region_names", tuple(str(j) for j in range(n)))

    @property
    def shape(self) -> tuple[int, int]:
        """(number of candidate centers m, number of regions n)."""
        return self.assignment_costs.shape  # type: ignore[return-value]

    @property
    def effective_capacities(self) -> np.ndarray:
        """Capacities, or +inf everywhere for the uncapacitated form."""
        return self.capacities if self.capacitated else np.full(self.shape[0], math.inf)

    @property
    def allowed_mask(self) -> np.ndarray:
        """(m, n) bool: pairs that may carry volume (service radius and, single-source, capacity)."""
        mask = np.ones(self.shape, bool) if self.allowed is None else self.allowed.copy()
        mask[list(self.must_close), :] = False
        if self.single_source and self.capacitated:
            mask &= self.demands[None, :] <= self.capacities[:, None]
        return mask

    def with_options(self, **changes: object) -> FacilityProblem:
        """A copy with some fields replaced (e.g. ``single_source=True``)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return FacilityProblem(**values)  # type: ignore[arg-type]

    def cost_of(self, open_centers: np.ndarray, assignment: np.ndarray) -> tuple[float, float]:
        """(fixed cost, transport cost) of a solution: open_centers (m,) 0/1, assignment (m, n) fractions."""
        return float(self.fixed_costs @ open_centers), float(np.sum(self.assignment_costs * assignment))


@dataclass(frozen=True)
class NetworkPlan:
    """A solved plan.

    Attributes:
        status: "optimal" (proven within the gap tolerance), "time limit", "infeasible".
        objective: fixed + transport cost of the best solution found (nan if none).
        bound: proven lower bound on the optimum.
        gap: (objective - bound) / max(1, |objective|); 0 when proven optimal.
        seconds: wall-clock solve time.
        open_centers: indices of the centers opened.
        assignment: (m, n) fractions of each region's volume sent to each center.
        fixed_cost / transport_cost: the two parts of the objective.
        method: "plain" (textbook MILP) or "lagrangian+milp".
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    open_centers: tuple[int, ...]
    assignment: np.ndarray
    fixed_cost: float
    transport_cost: float
    method: str
    notes: tuple[str, ...] = ()

    def region_assignments(self) -> list[list[tuple[int, float]]]:
        """For each region j, the list of (center index, fraction) with a positive fraction."""
        result = []
        for j in range(self.assignment.shape[1]):
            column = self.assignment[:, j]
            result.append([(int(i), float(column[i])) for i in np.flatnonzero(column > 1e-9)])
        return result
