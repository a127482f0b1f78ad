"""Return shipping cost model from published US carrier tables, plus a per-km model elsewhere.

Sources (see `shared/data/carrier_rates/PROVENANCE.md`; old but genuine tables, so prices are scaled):
- UPS Ground **Residential** daily rates effective 2005-01-03, `ups_daily_rates_2005/gndres.csv`: price by
  weight (whole pounds 1..150) x UPS Ground zone (2..8, 44, 45, 46). ISO-8859-1, CRLF, title lines, `$5.12 `.
- UPS zone charts 2005, `ups_daily_rates_2005/zone_charts/NNN.csv`: one file per origin ZIP3 range
  ("For shipments originating in ZIP Codes 100-01 to 104-99"), rows `dest ZIP3 range, Ground zone, ...`.
  Leading zeros of single prefixes were lost in the spreadsheet export ("8" is 008). Ground zone "-" means
  no service; "[1]" refers to the worldwide guide (territories: unsupported here); "[2]" (Hawaii) and "[3]"
  (Alaska) refer to footnotes listing 5-digit ZIPs in zone 44 or 46.
- USPS domestic zone chart 2018, `usps_zone_chart_2018/zips_zones.csv` (origin ZIP3, dest ZIP3 range,
  zone 1..9): exposed as `usps_zone` for USPS-based services; not used in the UPS price.

Billing rule: the weight is converted from kg to lb (1 lb = 0.45359237 kg exactly, by the international
yard and pound agreement of 1959) and rounded UP to the next whole pound, as UPS bills (any fraction of a
pound counts as a full pound), with a 1 lb minimum.

Outside the US (or across its border) there is no table here: `DistanceRateModel` prices
base + per_km x great-circle km + per_kg x kg. Its default numbers are illustrative placeholders, not
any carrier's tariff; configure them per deployment.

Data folder: `RETURNFLOW_SHARED_DATA` if set, otherwise the first `shared/data` folder found beside the
repository root or one of its ancestors (`<repo>/../shared/data` for a normal checkout). Tables are read
lazily on first use and cached for the process.
"""

from __future__ import annotations

import csv
import functools
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from geopy.distance import great_circle

from returnflow.adapters.shared_data import shared_data_dir
from returnflow.domain.money import round_money

KG_PER_POUND = Decimal("0.45359237")
UPS_MAX_POUNDS = 150


class RateNotAvailable(LookupError):
    """No price can be given: a ZIP outside the charts, a zone with no service, or a weight over 150 lb."""


@dataclass(frozen=True)
class ShippingCostEstimate:
    """An estimated return shipping cost.

    `amount` is rounded to cents (half up) after scaling; `method` is "ups_ground_residential_2005" or
    "distance"; `zone` the UPS Ground zone (None for the distance model); `billable_pounds` the whole
    pounds billed (None for the distance model); `distance_km` the great-circle distance if computed.
    """

    amount: Decimal
    currency: str
    method: str
    zone: int | None = None
    billable_pounds: int | None = None
    distance_km: Decimal | None = None


@dataclass(frozen=True)
class DistanceRateModel:
    """price = base + per_km * km + per_kg * kg, in `currency`. Defaults are placeholders, not a tariff."""

    base: Decimal = Decimal("6.00")
    per_km: Decimal = Decimal("0.004")
    per_kg: Decimal = Decimal("1.10")
    currency: str = "EUR"

    def price(self, *, distance_km: Decimal, weight_kg: Decimal) -> Decimal:
        """Unrounded price for a distance in km and a weight in kg."""
        return self.base + self.per_km * distance_km + self.per_kg * weight_kg


def _rates_dir() -> Path:
    return shared_data_dir() / "carrier_rates"


def zip3(postal_code: str) -> str:
    """The 3-digit prefix of a US ZIP ("10001", "10001-1234" -> "100"). Raises RateNotAvailable if malformed."""
    digits = postal_code.strip()[:5]
    if len(digits) != 5 or not digits.isdigit():
        raise RateNotAvailable(f"not a US ZIP code: {postal_code!r}")
    return digits[:3]


def billable_pounds(weight_kg: Decimal) -> int:
    """Whole pounds billed for `weight_kg`: kg / 0.45359237, rounded up, at least 1."""
    if weight_kg <= 0:
        raise ValueError("weight must be positive")
    return max(1, math.ceil(Decimal(weight_kg) / KG_PER_POUND))


# --- USPS zone chart ------------------------------------------------------------------------------------


@functools.cache
def _usps_chart() -> dict[str, list[tuple[str, str, int]]]:
    chart: dict[str, list[tuple[str, str, int]]] = {}
    path = _rates_dir() / "usps_zone_chart_2018" / "zips_zones.csv"
    with path.open(newline="", encoding="ascii") as handle:
        for row in csv.DictReader(handle):
            entry = (row["dest_zip_start"], row["dest_zip_end"], int(row["zone"]))
            chart.setdefault(row["origin_zip"], []).append(entry)
    return chart


def usps_zone(origin_postal_code: str, dest_postal_code: str) -> int:
    """USPS zone (1..9) from the 2018 USPS domestic zone chart, by origin and destination ZIP3.

    Raises RateNotAvailable when the origin or destination prefix is not in the chart.
    """
    origin, dest = zip3(origin_postal_code), zip3(dest_postal_code)
    for start, end, zone in _usps_chart().get(origin, []):
        if start <= dest <= end:
            return zone
    raise RateNotAvailable(f"no USPS zone from {origin} to {dest}")


# --- UPS zone charts and ground residential prices ------------------------------------------------------

_ORIGIN_PATTERN = re.compile(r"ZIP Codes (\d{3})-\d{2} to (\d{3})-\d{2}")
_DEST_PATTERN = re.compile(r"^(\d{1,3})(?:-(\d{1,3}))?$")
_FOOTNOTE_ZONE_PATTERN = re.compile(r"Zone (\d+) for Ground")


@dataclass(frozen=True)
class _UpsZoneChart:
    ranges: tuple[tuple[str, str, str], ...]  # (dest start ZIP3, dest end ZIP3, ground zone cell)
    five_digit_zones: dict[str, int]  # Hawaii / Alaska footnotes: ZIP5 -> ground zone


def _read_latin1_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="iso-8859-1") as handle:
        return [[cell.strip() for cell in row] for row in csv.reader(handle)]


@functools.cache
def _ups_origin_index() -> tuple[tuple[str, str, Path], ...]:
    index = []
    for path in sorted((_rates_dir() / "ups_daily_rates_2005" / "zone_charts").glob("*.csv")):
        with path.open(encoding="iso-8859-1") as handle:
            for line in handle:
                match = _ORIGIN_PATTERN.search(line)
                if match:
                    index.append((match.group(1), match.group(2), path))
                    break
    return tuple(index)


@functools.cache
def _ups_zone_chart(path: Path) -> _UpsZoneChart:
    ranges: list[tuple[str, str, str]] = []
    five_digit_zones: dict[str, int] = {}
    footnote_zone: int | None = None
    for row in _read_latin1_rows(path):
        cells = [cell for cell in row if cell]
        if not cells:
            continue
        footnote = _FOOTNOTE_ZONE_PATTERN.search(cells[0])
        if footnote:
            footnote_zone = int(footnote.group(1))
        elif footnote_zone is not None and all(c.isdigit() and len(c) == 5 for c in cells):
            five_digit_zones.update(dict.fromkeys(cells, footnote_zone))
        elif footnote_zone is None and len(row) > 1 and _DEST_PATTERN.match(row[0]):
            match = _DEST_PATTERN.match(row[0])
            assert match is not None
            start = match.group(1).zfill(3)
            end = (match.group(2) or match.group(1)).zfill(3)
            ranges.append((start, end, row[1]))
    return _UpsZoneChart(tuple(ranges), five_digit_zones)


def ups_ground_zone(origin_postal_code: str, dest_postal_code: str) -> int:
    """UPS Ground zone (2..8, or 44/45/46 for Alaska, Puerto Rico, Hawaii) from the 2005 UPS zone charts.

    Hawaii and Alaska destinations are looked up by 5-digit ZIP in the chart's footnotes. Raises
    RateNotAvailable for an origin outside the charts, a destination with no ground service ("-"),
    a territory footnote ("[1]"), or a Hawaii/Alaska ZIP in neither footnote list.
    """
    origin, dest = zip3(origin_postal_code), zip3(dest_postal_code)
    chart_path = next((p for start, end, p in _ups_origin_index() if start <= origin <= end), None)
    if chart_path is None:
        raise RateNotAvailable(f"no UPS zone chart for origin ZIP3 {origin}")
    chart = _ups_zone_chart(chart_path)
    cell = next((c for start, end, c in chart.ranges if start <= dest <= end), None)
    if cell is None or cell == "-" or cell == "[1]":
        raise RateNotAvailable(f"no UPS Ground service from {origin} to {dest}")
    if cell.startswith("["):
        zone = chart.five_digit_zones.get(dest_postal_code.strip()[:5])
        if zone is None:
            raise RateNotAvailable(f"no UPS Ground zone for ZIP {dest_postal_code}")
        return zone
    return int(cell)


@functools.cache
def _ups_ground_residential() -> dict[int, dict[int, Decimal]]:
    rows = _read_latin1_rows(_rates_dir() / "ups_daily_rates_2005" / "gndres.csv")
    header_at = next(i for i, row in enumerate(rows) if row and row[0].startswith("Weight Not To Exceed"))
    zones = [int(cell.removeprefix("Zone").strip()) for cell in rows[header_at][1:] if cell]
    table: dict[int, dict[int, Decimal]] = {}
    for row in rows[header_at + 1 :]:
        if not row or not row[0].isdigit():
            continue
        prices = [Decimal(cell.replace("$", "").replace(",", "")) for cell in row[1 : len(zones) + 1]]
        table[int(row[0])] = dict(zip(zones, prices, strict=True))
    return table


def ups_ground_residential_price(*, zone: int, pounds: int) -> Decimal:
    """The 2005 UPS Ground Residential price in USD for `pounds` (1..150, whole) to `zone`, unscaled.

    Raises RateNotAvailable for a weight over 150 lb or a zone not in the table.
    """
    table = _ups_ground_residential()
    if pounds not in table:
        raise RateNotAvailable(f"UPS Ground prices cover 1..{UPS_MAX_POUNDS} lb, not {pounds}")
    if zone not in table[pounds]:
        raise RateNotAvailable(f"no UPS Ground Residential price for zone {zone}")
    return table[pounds][zone]


# --- the estimate ---------------------------------------------------------------------------------------


def estimate_return_shipping_cost(
    origin_postal_code: str,
    origin_country: str,
    dest_postal_code: str,
    dest_country: str,
    weight_kg: Decimal,
    *,
    scale: Decimal = Decimal(1),
    origin_coordinates: tuple[float, float] | None = None,
    dest_coordinates: tuple[float, float] | None = None,
    distance_model: DistanceRateModel | None = None,
) -> ShippingCostEstimate:
    """Estimated cost of returning a parcel of `weight_kg` kg from origin (customer) to dest (return center).

    US -> US: UPS Ground Residential 2005 price for the UPS zone and billable whole pounds, times `scale`
    (the prices are from 2005; pass e.g. Decimal("1.9") to bring them near today's), in USD.
    Otherwise: `distance_model` (default `DistanceRateModel()`) over the great-circle distance between
    `origin_coordinates` and `dest_coordinates` ((latitude, longitude) in degrees), times `scale`.
    The amount is rounded to cents, half up.

    Raises RateNotAvailable (no zone, no service, over 150 lb, or coordinates missing outside the US) and
    ValueError for a non-positive weight or scale.
    """
    weight = Decimal(weight_kg)
    if weight <= 0 or scale <= 0:
        raise ValueError("weight and scale must be positive")
    if origin_country.upper() == "US" and dest_country.upper() == "US":
        zone = ups_ground_zone(origin_postal_code, dest_postal_code)
        pounds = billable_pounds(weight)
        price = ups_ground_residential_price(zone=zone, pounds=pounds)
        return ShippingCostEstimate(
            amount=round_money(price * scale, "USD"),
            currency="USD",
            method="ups_ground_residential_2005",
            zone=zone,
            billable_pounds=pounds,
        )
    if origin_coordinates is None or dest_coordinates is None:
        raise RateNotAvailable("outside the US the distance model needs origin and destination coordinates")
    model = distance_model or DistanceRateModel()
    km = Decimal(str(great_circle(origin_coordinates, dest_coordinates).km)).quantize(Decimal("0.001"))
    return ShippingCostEstimate(
        amount=round_money(model.price(distance_km=km, weight_kg=weight) * scale, model.currency),
        currency=model.currency,
        method="distance",
        distance_km=km,
    )
