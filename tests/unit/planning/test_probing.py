"""LP probing of centers (milp.probe_centers) only removes plans that cost more than the limit."""

from pathlib import Path

import numpy as np

from returnflow.planning import read_orlib
from returnflow.planning.milp import probe_centers, solve_milp

CAP41_OPTIMUM = 1040444.375  # optima.csv


def test_probing_at_the_optimum_proves_it_and_above_it_keeps_the_optimal_plan(orlib_dir: Path) -> None:
    problem = read_orlib(orlib_dir / "instances" / "cap41.txt")
    m, _ = problem.shape
    best = solve_milp(problem)
    assert abs(best.objective - CAP41_OPTIMUM) < 1e-3
    lower, upper = np.zeros(m), np.ones(m)

    at_optimum = probe_centers(problem, CAP41_OPTIMUM, open_lower=lower, open_upper=upper, tolerance=1e-9)
    if at_optimum.status == "open":  # not proven by probing alone: the optimal plan must survive
        assert np.all(best.open_centers >= at_optimum.open_lower) and np.all(best.open_centers <= at_optimum.open_upper)
    above = probe_centers(problem, CAP41_OPTIMUM * 1.001, open_lower=lower, open_upper=upper)
    assert above.status == "open"
    assert np.all(best.open_centers >= above.open_lower) and np.all(best.open_centers <= above.open_upper)
    assert above.bound <= CAP41_OPTIMUM + 1e-6
    below = probe_centers(problem, CAP41_OPTIMUM * 0.999, open_lower=lower, open_upper=upper)
    assert below.status == "cutoff"  # no plan costs less than 0.999 x the optimum
