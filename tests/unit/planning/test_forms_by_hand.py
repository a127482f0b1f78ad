"""A 2-center, 3-region instance small enough to solve by hand, in every supported form.

Centers A (fixed 10, capacity 10) and B (fixed 12, capacity 10). Regions r1, r2, r3 with volumes 6, 6, 4.
Cost of serving ALL of a region (per unit in brackets):
    A: r1 6 (1), r2 6 (1), r3 8 (2)
    B: r1 18 (3), r2 18 (3), r3 4 (1)
Total volume 16 > 10, so both centers must open whenever capacities count.
"""

import numpy as np
import pytest

from returnflow.planning import FacilityProblem, PlanningError, plan_network


def problem(**options: object) -> FacilityProblem:
    return FacilityProblem(
        fixed_costs=np.array([10.0, 12.0]),
        capacities=np.array([10.0, 10.0]),
        demands=np.array([6.0, 6.0, 4.0]),
        assignment_costs=np.array([[6.0, 6.0, 8.0], [18.0, 18.0, 4.0]]),
        center_names=("A", "B"),
        **options,  # type: ignore[arg-type]
    )


def test_splittable_form_splits_the_overflow_at_the_cheapest_margin() -> None:
    # both open (22). r3 -> B (4 units x 1 = 4). r1 + r2 need 12 units, A holds 10 at 1/unit = 10,
    # 2 units overflow to B at 3/unit = 6. Total 22 + 10 + 6 + 4 = 42.
    plan = plan_network(problem())
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(42.0)
    assert plan.open_centers == (0, 1)
    assert plan.assignment[:, 2] == pytest.approx([0.0, 1.0])
    assert plan.assignment[0, :2].sum() == pytest.approx(10 / 6)  # A carries 10 of the 12 units of r1 + r2


def test_single_source_form_keeps_each_region_whole() -> None:
    # A cannot take r1 and r2 (12 > 10). Best whole assignments: A {r1}, B {r2, r3}: 6 + 18 + 4 = 28, or the
    # mirror A {r2}, B {r1, r3}; A {r1, r3}, B {r2}: 14 + 18 = 32. Total 22 + 28 = 50.
    plan = plan_network(problem(single_source=True))
    assert plan.objective == pytest.approx(50.0)
    assert set(np.unique(plan.assignment.round(9))) <= {0.0, 1.0}


def test_uncapacitated_form_opens_only_the_cheap_center() -> None:
    # A alone: 10 + 6 + 6 + 8 = 30; B alone: 12 + 40 = 52; both: 22 + 6 + 6 + 4 = 38. -> 30
    plan = plan_network(problem(capacitated=False))
    assert plan.objective == pytest.approx(30.0)
    assert plan.open_centers == (0,)


def test_a_center_forced_open_is_opened_and_used() -> None:
    # uncapacitated with B forced open: both open, 22 + 6 + 6 + 4 = 38 (B alone would be 52)
    plan = plan_network(problem(capacitated=False, must_open=frozenset({1})))
    assert plan.objective == pytest.approx(38.0)
    assert plan.open_centers == (0, 1)


def test_service_radius_and_center_limit_together_leave_only_b() -> None:
    # r3 may not use A (too far) and at most one center: only B alone serves everything: 52
    allowed = np.array([[True, True, False], [True, True, True]])
    plan = plan_network(problem(capacitated=False, allowed=allowed, max_open=1))
    assert plan.objective == pytest.approx(52.0)
    assert plan.open_centers == (1,)


def test_closing_a_center_the_volume_needs_is_infeasible() -> None:
    # A closed: B alone holds 10 < 16
    assert plan_network(problem(must_close=frozenset({0}))).status == "infeasible"
    assert plan_network(problem(max_open=1)).status == "infeasible"


def test_contradictory_side_constraints_are_rejected() -> None:
    with pytest.raises(PlanningError):
        problem(must_open=frozenset({0}), must_close=frozenset({0}))
