"""Route a new return to the return center where it costs least (issue 5's routing rule).

Transport cost model (no carrier table covers the UK/EU demo network): ``0.50 + 0.002 x km`` in the
order's currency per parcel, km = great-circle distance (geopy) from the customer (postal code when
known, else the capital of their country) to the center. Handling cost and daily capacity come from the
``return_centers`` table; ``used_today`` counts RMAs routed to the center since midnight UTC. The choice
itself is the pure :func:`returnflow.domain.routing.route_return`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from geopy.distance import great_circle
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.geo import country_coordinates, postal_code_coordinates
from returnflow.domain.routing import ReturnCenter, RoutingDecision, route_return

BASE_COST = Decimal("0.50")
COST_PER_KM = Decimal("0.002")


def transport_cost(distance_km: float) -> Decimal:
    """Per-parcel transport cost for ``distance_km`` (model above), unrounded."""
    return BASE_COST + COST_PER_KM * Decimal(str(round(distance_km, 1)))


def route_for_customer(uow: UnitOfWork, *, country: str, postal_code: str = "", at: datetime | None = None,
                       required_capabilities: frozenset[str] = frozenset()) -> RoutingDecision:
    """The routing decision for a customer in ``country`` (postal code optional).

    Raises:
        returnflow.domain.routing.NoReturnCenterAvailable: no center is capable, reachable and has capacity.
    """
    at = at or datetime.now(UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    used = dict(uow.session.execute(
        select(t.return_authorizations.c.return_center_code, func.count())
        .where(t.return_authorizations.c.requested_at >= midnight)
        .group_by(t.return_authorizations.c.return_center_code)).all())
    origin = (postal_code_coordinates(postal_code, country) if postal_code else None) or country_coordinates(country)
    centers, costs = [], {}
    for row in uow.session.execute(select(t.return_centers)).mappings():
        centers.append(ReturnCenter(code=row["code"], name=row["name"], address=row["address"],
                                    capabilities=frozenset(row["capabilities"] or ()),
                                    daily_capacity=row["daily_capacity"], used_today=int(used.get(row["code"], 0)),
                                    handling_cost=row["handling_cost"]))
        if origin is not None and row["latitude"] is not None:
            km = great_circle(origin, (float(row["latitude"]), float(row["longitude"]))).km
            costs[row["code"]] = transport_cost(km)
    if origin is None:  # unknown location: every center equally far; handling cost decides
        costs = {c.code: BASE_COST for c in centers}
    return route_return(centers, costs, required_capabilities=required_capabilities)
