import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from returnflow.planning.cli import plan_app
from returnflow.planning.geography import Place, build_problem, distance_matrix


def test_great_circle_distance_new_york_to_los_angeles_is_about_3940_km() -> None:
    # haversine by hand with R = 6371 km: 40.7128N 74.0060W to 34.0522N 118.2437W -> 3,936 km
    ny, la = Place("NY", 40.7128, -74.0060), Place("LA", 34.0522, -118.2437)
    assert distance_matrix([ny], [la])[0, 0] == pytest.approx(3936, abs=5)


def test_per_km_cost_is_base_plus_rate_times_km_times_volume_and_radius_masks_far_pairs() -> None:
    center = Place("C", 0.0, 0.0, capacity=100, fixed_cost=10)
    near, far = Place("near", 0.0, 1.0, volume=2), Place("far", 0.0, 10.0, volume=3)
    problem, distances = build_problem([center], [near, far], base_cost=1.0, cost_per_km=0.01, max_km=500)
    # 1 degree of longitude on the equator = 111.2 km: (1 + 1.112) x 2 = 4.224
    assert problem.assignment_costs[0, 0] == pytest.approx((1 + 0.01 * distances[0, 0]) * 2)
    assert distances[0, 0] == pytest.approx(111.2, abs=0.1)
    assert problem.allowed is not None and problem.allowed.tolist() == [[True, False]]


def test_network_command_beats_the_single_warehouse_on_a_small_example(tmp_path: Path) -> None:
    regions = tmp_path / "regions.csv"
    regions.write_text("city,state,volume\nSeattle,WA,1000\nMiami,FL,1000\nColumbus,OH,1000\n")
    result = CliRunner().invoke(plan_app, ["network", "--regions", str(regions), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["status"] == "optimal"
    assert summary["objective"] <= summary["baseline_cost"]
    assert np.isfinite(summary["average_km"])


def test_zone_model_gives_a_region_without_zip3_the_nearest_zip_by_coordinates() -> None:
    # A place with no ZIP3 at Manhattan's coordinates (40.7128N 74.0060W) gets ZIP3 100 (New York, NY);
    # a pair the zone callable cannot price (LookupError) is not allowed.
    seen: list[tuple[str, str]] = []

    def zone_cost(origin: str, dest: str, weight_kg: float) -> float:
        seen.append((origin, dest))
        if dest == "981":
            raise LookupError("no zone")
        return 10.0

    columbus = Place("Columbus", 39.9612, -82.9988, zip3="432", capacity=100, fixed_cost=1)
    seattle = Place("Seattle", 47.6062, -122.3321, zip3="981", capacity=100, fixed_cost=1)
    region = Place("somewhere in Manhattan", 40.7128, -74.0060, volume=2)
    problem, _ = build_problem([columbus, seattle], [region], cost_model="zone", zone_cost=zone_cost)
    assert ("100", "432") in seen
    assert problem.assignment_costs[0, 0] == pytest.approx(20.0)  # 10 USD per parcel x 2 parcels
    assert problem.allowed is not None and problem.allowed.tolist() == [[True], [False]]


def test_priceable_regions_leaves_out_a_region_no_center_can_price() -> None:
    def zone_cost(origin: str, dest: str, weight_kg: float) -> float:
        if origin == "968":  # Honolulu: no chart here
            raise LookupError("no zone")
        return 10.0

    from returnflow.planning.geography import priceable_regions

    center = Place("Columbus", 39.9612, -82.9988, zip3="432", capacity=100, fixed_cost=1)
    honolulu = Place("Honolulu", 21.3069, -157.8583, zip3="968", volume=1)
    seattle = Place("Seattle", 47.6062, -122.3321, volume=1)  # no ZIP3: nearest ZIP by coordinates
    kept, dropped = priceable_regions([center], [honolulu, seattle], zone_cost)
    assert [place.name for place in kept] == ["Seattle"]
    assert dropped == ["Honolulu"]
