"""``returnflow plan``: solve OR-Library benchmark instances and plan a real return-center network."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import numpy as np
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


_zone_cost_model = None


def register_zone_cost_model(cost) -> None:  # type: ignore[no-untyped-def]
    """Inject the carrier zone-rate model: cost(origin_zip3, dest_zip3, weight_kg) -> USD per parcel."""
    global _zone_cost_model
    _zone_cost_model = cost


@plan_app.command("network")
def network(
    centers: Annotated[Path | None, typer.Option(help="candidate centers CSV (default: 20 US sites)")] = None,
    regions: Annotated[Path | None, typer.Option(help="regions CSV: postal_code,volume or city,state,volume")] = None,
    cities: Annotated[int, typer.Option(help="without --regions: the N largest US cities, population-weighted")] = 3000,
    total_volume: Annotated[float, typer.Option(help="returns per year spread over the cities")] = 600_000.0,
    cost_model: Annotated[str, typer.Option(help="per-km or zone (carrier zone chart, injected)")] = "per-km",
    base_cost: Annotated[float, typer.Option(help="per-km model: USD per return")] = 5.0,
    cost_per_km: Annotated[float, typer.Option(help="per-km model: USD per return per km")] = 0.004,
    max_km: Annotated[float | None, typer.Option(help="service rule: regions use centers within this distance")] = None,
    max_centers: Annotated[int | None, typer.Option(help="open at most this many centers")] = None,
    single_source: Annotated[bool, typer.Option("--single-source")] = False,
    main_warehouse: Annotated[str, typer.Option(help="baseline: everything to this one center")] = "Columbus, OH",
    map_file: Annotated[Path | None, typer.Option("--map", help="write a PNG map of the plan")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    time_limit: Annotated[float, typer.Option(help="seconds")] = 60.0,
) -> None:
    """Plan return centers for real places and compare with one center at the main warehouse."""
    from returnflow.planning import geography

    try:
        sites = geography.read_centers(centers or geography.CANDIDATE_CENTERS_CSV)
        places = geography.read_regions(regions) if regions else geography.us_city_regions(cities=cities, total_volume=total_volume)
        dropped: list[str] = []
        if cost_model == "zone" and _zone_cost_model is not None and not regions:
            # the built-in city list includes places the carrier charts do not cover (Hawaii, Alaska)
            places, dropped = geography.priceable_regions(sites, places, _zone_cost_model)
            if dropped:
                typer.echo(f"note: no zone price for {len(dropped)} cities, left out: {', '.join(dropped[:10])}", err=True)
        problem, distances = geography.build_problem(
            sites, places, cost_model=cost_model, base_cost=base_cost, cost_per_km=cost_per_km,
            zone_cost=_zone_cost_model, max_km=max_km, max_open=max_centers, single_source=single_source,
        )
    except PlanningError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    plan = plan_network(problem, time_limit=time_limit)
    names = [site.name for site in sites]
    if main_warehouse not in names:
        typer.echo(f"error: main warehouse {main_warehouse!r} is not a candidate center", err=True)
        raise typer.Exit(2)
    warehouse = names.index(main_warehouse)
    baseline = float(problem.fixed_costs[warehouse] + problem.assignment_costs[warehouse].sum())
    volumes = problem.demands
    average_km = float(np.sum(plan.assignment * distances * volumes[None, :]) / volumes.sum())
    summary = {
        **_plan_summary(plan),
        "open_center_names": [names[i] for i in plan.open_centers],
        "baseline_single_center": main_warehouse,
        "baseline_cost": baseline,
        "saving": baseline - plan.objective if math.isfinite(plan.objective) else None,
        "average_km": average_km,
        "baseline_average_km": float(distances[warehouse] @ volumes / volumes.sum()),
        "regions": len(places),
        "regions_left_out": dropped,
    }
    if map_file is not None and plan.open_centers:
        from returnflow.planning.plotting import draw_plan

        draw_plan(sites, places, plan, map_file, title=f"{len(plan.open_centers)} return centers for {len(places)} US cities")
        summary["map"] = str(map_file)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"{plan.status}: open {', '.join(summary['open_center_names'])}")
    typer.echo(f"  plan cost      {plan.objective:>14,.0f} /yr (fixed {plan.fixed_cost:,.0f} + transport {plan.transport_cost:,.0f}); "
               f"average {average_km:,.0f} km")
    typer.echo(f"  one center at {main_warehouse}: {baseline:>14,.0f} /yr; average {summary['baseline_average_km']:,.0f} km")
    typer.echo(f"  saving         {baseline - plan.objective:>14,.0f} /yr; solved in {plan.seconds:.1f} s")
