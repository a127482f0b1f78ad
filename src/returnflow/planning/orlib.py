"""Reader for Beasley's OR-Library capacitated warehouse location files (``capinfo`` format).

Format: ``m n``; m lines ``capacity fixed_cost``; then for each customer j its demand followed by m numbers,
the cost of allocating ALL of customer j's demand to facility i. In capa/capb/capc the capacity is the
literal word ``capacity``; the caller supplies the value (Beasley 1988, Table 1: capa 8000-14000,
capb 5000-8000, capc 5000-7250).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from returnflow.planning.problem import FacilityProblem, PlanningError


def read_orlib(path: str | Path, *, capacity: float | None = None) -> FacilityProblem:
    """Parse an OR-Library CFLP file into a splittable, capacitated :class:`FacilityProblem`.

    Args:
        path: the instance file.
        capacity: value for every facility's capacity; required when the file says ``capacity``,
            and when given it overrides the numbers in the file.

    Raises:
        PlanningError: truncated file, or symbolic capacity with no ``capacity`` argument.
    """
    tokens = Path(path).read_text().split()
    try:
        m, n = int(tokens[0]), int(tokens[1])
        position = 2
        capacities = np.empty(m)
        fixed_costs = np.empty(m)
        for i in range(m):
            word = tokens[position]
            if word.lower() == "capacity":
                if capacity is None:
                    raise PlanningError(f"{path} has symbolic capacities: pass capacity=...")
                capacities[i] = capacity
            else:
                capacities[i] = float(word) if capacity is None else capacity
            fixed_costs[i] = float(tokens[position + 1])
            position += 2
        demands = np.empty(n)
        costs = np.empty((m, n))
        for j in range(n):
            demands[j] = float(tokens[position])
            costs[:, j] = np.asarray(tokens[position + 1 : position + 1 + m], dtype=float)
            if len(tokens[position + 1 : position + 1 + m]) != m:
                raise PlanningError(f"{path}: truncated at customer {j}")
            position += 1 + m
    except (IndexError, ValueError) as error:
        raise PlanningError(f"{path}: not an OR-Library capacitated location file ({error})") from error
    return FacilityProblem(fixed_costs=fixed_costs, capacities=capacities, demands=demands, assignment_costs=costs)
