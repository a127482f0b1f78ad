"""The 37 small OR-Library CFLP instances reach the published optimum (optima.csv, Beasley's capopt)."""

import csv
from pathlib import Path

import pytest

from returnflow.planning import plan_network, read_orlib


def small_capacitated_optima(orlib_dir: Path) -> list[tuple[str, float]]:
    with (orlib_dir / "optima.csv").open() as handle:
        return [
            (row["file"], float(row["optimum"]))
            for row in csv.DictReader(handle)
            if row["problem"] == "CFLP" and row["capacity"] == "(in file)"
        ]


def test_all_37_small_instances_are_proven_optimal_at_the_published_value(orlib_dir: Path) -> None:
    optima = small_capacitated_optima(orlib_dir)
    assert len(optima) == 37
    for file, optimum in optima:
        plan = plan_network(read_orlib(orlib_dir / file), time_limit=30)
        assert plan.status == "optimal", file
        assert plan.objective == pytest.approx(optimum, abs=1e-3), file
        assert plan.bound == pytest.approx(optimum, abs=1e-3), file


def test_uncapacitated_cap71_matches_the_ufllib_optimum(orlib_dir: Path) -> None:
    # optima.csv UFLP row for cap71: 932615.75 (UflLib .opt and KanekiYokan agree)
    problem = read_orlib(orlib_dir / "instances" / "cap71.txt").with_options(capacitated=False)
    plan = plan_network(problem)
    assert plan.objective == pytest.approx(932615.75, abs=1e-3)


def test_the_plain_model_reaches_the_same_optimum(orlib_dir: Path) -> None:
    plan = plan_network(read_orlib(orlib_dir / "instances" / "cap41.txt"), method="plain")
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(1040444.375, abs=1e-3)


@pytest.mark.slow
def test_large_capb_5000_is_proven_optimal(orlib_dir: Path) -> None:
    # optima.csv: capb at capacity 5000 -> 13656379.578 (capopt and FacilityLocationProblems.jl agree)
    plan = plan_network(read_orlib(orlib_dir / "instances" / "capb.txt", capacity=5000), time_limit=60)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(13656379.578, abs=1e-3)
