"""Return centers: the default network used by the demo and a fresh install."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.services.routing import forget_centers


@dataclass(frozen=True)
class ReturnCenter:
    """A return center: where parcels are received, inspected and restocked."""

    code: str
    name: str
    address: str
    postal_code: str
    country: str
    latitude: Decimal
    longitude: Decimal
    capabilities: tuple[str, ...]
    daily_capacity: int
    handling_cost: Decimal


DEFAULT_CENTERS = (
    ReturnCenter("RC-UK-01", "Returnflow Returns Centre Daventry", "Royal Oak Way South, Daventry", "NN11 8PQ",
                 "United Kingdom", Decimal("52.2565"), Decimal("-1.1627"), ("general", "homeware", "refurbishment"),
                 2000, Decimal("1.20")),
    ReturnCenter("RC-EU-01", "Returnflow Returns Centre Venlo", "Columbusweg 1, Venlo", "5928 LA", "Netherlands",
                 Decimal("51.3943"), Decimal("6.1553"), ("general", "homeware"), 800, Decimal("1.50")),
    # US returns (logistics, issue 7): address "street, city, state" so labels get the state.
    ReturnCenter("RC-US-01", "Returnflow Return Center Omaha", "1200 Harney St, Omaha, NE", "68102",
                 "United States", Decimal("41.2565"), Decimal("-95.9345"), ("general", "homeware"), 1500,
                 Decimal("1.40")),
)


def ensure_default_centers(uow: UnitOfWork) -> None:
    """Insert the default centers that are missing (idempotent; caller commits)."""
    have = set(uow.session.execute(select(t.return_centers.c.code)).scalars())
    rows = [{"code": c.code, "name": c.name, "address": c.address, "postal_code": c.postal_code,
             "country": c.country, "latitude": c.latitude, "longitude": c.longitude,
             "capabilities": list(c.capabilities), "daily_capacity": c.daily_capacity,
             "handling_cost": c.handling_cost} for c in DEFAULT_CENTERS if c.code not in have]
    if rows:
        uow.session.execute(insert(t.return_centers), rows)
        forget_centers()


def list_centers(uow: UnitOfWork) -> list[dict[str, object]]:
    return [dict(r._mapping) for r in uow.session.execute(select(t.return_centers).order_by(t.return_centers.c.code))]


def center_for_country(country: str) -> str:
    """The demo's routing before a network plan exists: UK returns to Daventry, US to Omaha, the rest to Venlo."""
    if country in ("United Kingdom", "Channel Islands", "EIRE"):
        return "RC-UK-01"
    return "RC-US-01" if country in ("United States", "USA", "US") else "RC-EU-01"
