"""``returnflow plan``: solve OR-Library benchmark instances and plan a real return-center network."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from returnflow.planning.orlib import read_orlib
from returnflow.planning.problem import NetworkPlan, PlanningError
from returnflow.planning.solve import plan_network

plan_app = typer.Typer(help="Plan the return-center network (capacitated facility location, HiGHS).", no_args_is_help=True)


def _plan_summary(plan: NetworkPlan) -> dict[str, object]:
    def number(value: float) -> float | None:
        return value if math.isfinite(value) else None

    return {
        "objective": number(plan.objective),
        "status": plan.status,
        "bound": number(plan.bound),
        "gap": number(plan.gap),
        "seconds": round(plan.seconds, 3),
        "open_centers": list(plan.open_centers),
        "fixed_cost": number(plan.fixed_cost),
        "transport_cost": number(plan.transport_cost),
        "method": plan.method,
    }


@plan_app.command("orlib")
def orlib(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="OR-Library cap*.txt instance")],
    capacity: Annotated[float | None, typer.Option(help="capacity of every center (required for capa/b/c)")] = None,
    single_source: Annotated[bool, typer.Option("--single-source", help="each region to exactly one center")] = False,
    uncapacitated: Annotated[bool, typer.Option("--uncapacitated", help="ignore capacities")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    time_limit: Annotated[float, typer.Option(help="seconds")] = 60.0,
    method: Annotated[str, typer.Option(help="lagrangian (default) or plain (textbook MILP)")] = "lagrangian",
) -> None:
    """Solve one OR-Library instance and print its objective (splittable CFLP unless told otherwise)."""
    try:
        problem = read_orlib(file, capacity=capacity)
    except PlanningError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    problem = problem.with_options(single_source=single_source, capacitated=not uncapacitated)
    plan = plan_network(problem, method=method, time_limit=time_limit)
    summary = {"instance": file.name, "capacity": capacity, **_plan_summary(plan)}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"{file.name}: {plan.status}, objective {plan.objective:.4f}, bound {plan.bound:.4f}, "
               f"gap {plan.gap:.2e}, {plan.seconds:.2f} s, {len(plan.open_centers)} centers open")
