"""The swap/drop/add local search of the Lagrangian method only ever returns cheaper, feasible plans."""

from pathlib import Path

import numpy as np
import pytest

from returnflow.planning import lagrangian, read_orlib
from returnflow.planning.solve import local_search, primal_plan


def test_local_search_from_all_centers_open_reaches_a_cheaper_feasible_plan(orlib_dir: Path) -> None:
    problem = read_orlib(orlib_dir / "instances" / "cap41.txt")
    m, _ = problem.shape
    lower, upper = np.zeros(m), np.ones(m)
    state = lagrangian.evaluate(problem, problem.assignment_costs.min(axis=0), lower=lower, upper=upper)
    start = primal_plan(problem, np.ones(m))
    assert start is not None
    cost, open_centers, assignment = local_search(problem, state, start, lower=lower, upper=upper, time_budget=20)
    assert cost < start[0]
    assert cost >= 1040444.375 - 1e-3  # never below the proven optimum (optima.csv, cap41)
    assert assignment.sum(axis=0) == pytest.approx(np.ones(problem.shape[1]))  # every region fully served
    load = assignment @ problem.demands
    assert np.all(load <= problem.capacities * open_centers + 1e-6)
    assert cost == pytest.approx(sum(problem.cost_of(open_centers, assignment)))
