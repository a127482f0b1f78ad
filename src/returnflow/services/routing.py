"""Route a new return to the return center where it costs least (issue 5's routing rule).

Transport cost model (no carrier table covers the UK/EU demo network): ``0.50 + 0.002 x km`` in the
order's currency per parcel, km = great-circle distance (geopy) from the customer (postal code when
known, else their country's most populous city) to the center. Handling cost and daily capacity come from the
``return_centers`` table; ``used_today`` is the RMAs requested that UTC day per center (:func:`routed_today`).
The choice itself is the pure :func:`returnflow.domain.routing.route_return`.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from weakref import WeakKeyDictionary

from geopy.distance import great_circle
from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.geo import approximate_coordinates
from returnflow.domain.routing import ReturnCenter, RoutingDecision, route_return

BASE_COST = Decimal("0.50")
COST_PER_KM = Decimal("0.002")


def transport_cost(distance_km: float) -> Decimal:
    """Per-parcel transport cost for ``distance_km`` (model above), unrounded."""
    return BASE_COST + COST_PER_KM * Decimal(str(round(distance_km, 1)))


#: Seconds a process keeps the return centers table (and the distances from each origin) in memory.
#: Centers change only through ``services.centers`` (which clears the cache of this process) or by hand.
CENTERS_TTL_SECONDS = 60.0


@dataclass
class _CenterCache:
    expires: float
    rows: list[dict[str, Any]]
    costs: dict[tuple[float, float] | None, dict[str, Decimal]] = field(default_factory=dict)


_centers: WeakKeyDictionary[Any, _CenterCache] = WeakKeyDictionary()


def forget_centers() -> None:
    """Drop this process's cached return centers (after a change to the ``return_centers`` table)."""
    _centers.clear()


def _center_cache(uow: UnitOfWork) -> _CenterCache:
    """The return centers of the unit of work's database, read at most every ``CENTERS_TTL_SECONDS``."""
    bind = uow.session.get_bind()
    now = time.monotonic()
    cached = _centers.get(bind)
    if cached is None or cached.expires <= now:
        rows = [dict(row) for row in uow.session.execute(select(t.return_centers)).mappings()]
        cached = _CenterCache(expires=now + CENTERS_TTL_SECONDS if rows else now, rows=rows)
        _centers[bind] = cached
    return cached


def day_start(at: datetime) -> datetime:
    """Midnight (UTC) of ``at``'s day: RMAs requested since then use a center's capacity of the day."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


#: Seconds a process trusts its count of a day's RMAs per center before counting again in the database.
USED_TODAY_TTL_SECONDS = 5.0


@dataclass
class _DayCount:
    day: datetime
    expires: float
    counts: dict[str | None, int]


_day_counts: WeakKeyDictionary[Any, _DayCount] = WeakKeyDictionary()
_day_counts_lock = threading.Lock()


def routed_today(uow: UnitOfWork, at: datetime) -> dict[str | None, int]:
    """Return center code -> RMAs requested on ``at``'s UTC day.

    Counting a day's RMAs costs the database time in proportion to the day's volume, so a process counts at
    most every ``USED_TODAY_TTL_SECONDS`` (or when the day changes) and adds the RMAs it routes itself in
    between (:func:`note_routed`). Another process's RMAs appear at the next count: a center can take what
    the other processes route within that window beyond its daily capacity, which is a planning figure, not
    a hard limit.
    """
    bind = uow.session.get_bind()
    day, now = day_start(at), time.monotonic()
    with _day_counts_lock:
        cached = _day_counts.get(bind)
        if cached is not None and cached.day == day and cached.expires > now:
            return dict(cached.counts)
    counts = uow.repo.rmas_per_center(since=day, until=day + timedelta(days=1))
    with _day_counts_lock:
        _day_counts[bind] = _DayCount(day=day, expires=now + USED_TODAY_TTL_SECONDS, counts=counts)
    return dict(counts)


def note_routed(uow: UnitOfWork, center_code: str, at: datetime) -> None:
    """Count an RMA this process just routed to ``center_code`` on ``at``'s day (see :func:`routed_today`). A
    request that then fails to commit is over-counted until the next count, at most the TTL."""
    with _day_counts_lock:
        cached = _day_counts.get(uow.session.get_bind())
        if cached is not None and cached.day == day_start(at):
            cached.counts[center_code] = cached.counts.get(center_code, 0) + 1


def forget_day_counts() -> None:
    """Drop this process's counts of the day's RMAs per center (tests; after changing RMAs by hand)."""
    with _day_counts_lock:
        _day_counts.clear()


def route_for_customer(uow: UnitOfWork, *, country: str, postal_code: str = "", at: datetime | None = None,
                       required_capabilities: frozenset[str] = frozenset(),
                       used_today: dict[str | None, int] | None = None) -> RoutingDecision:
    """The routing decision for a customer in ``country`` (postal code optional).

    The centers and their transport costs from an origin are cached per process
    (``CENTERS_TTL_SECONDS``); ``used_today`` (per center code, on ``at``'s day) defaults to
    :func:`routed_today`; the caller that acts on the decision reports it with :func:`note_routed`.
    Raises:
        returnflow.domain.routing.NoReturnCenterAvailable: no center is capable, reachable and has capacity.
    """
    at = at or datetime.now(UTC)
    used = used_today if used_today is not None else routed_today(uow, at)
    origin = _origin(postal_code, country)
    cache = _center_cache(uow)
    centers = [ReturnCenter(code=row["code"], name=row["name"], address=row["address"],
                            capabilities=frozenset(row["capabilities"] or ()),
                            daily_capacity=row["daily_capacity"], used_today=int(used.get(row["code"], 0)),
                            handling_cost=row["handling_cost"]) for row in cache.rows]
    costs = cache.costs.get(origin)
    if costs is None:
        if origin is None:  # unknown location: every center equally far; handling cost decides
            costs = {c.code: BASE_COST for c in centers}
        else:
            costs = {row["code"]: transport_cost(great_circle(origin, (float(row["latitude"]),
                                                                       float(row["longitude"]))).km)
                     for row in cache.rows if row["latitude"] is not None}
        if len(cache.costs) < 10_000:
            cache.costs[origin] = costs
    return route_return(centers, dict(costs), required_capabilities=required_capabilities)


@functools.lru_cache(maxsize=4096)
def _origin(postal_code: str, country: str) -> tuple[float, float] | None:
    """``approximate_coordinates``, remembered (pure function of its arguments)."""
    return approximate_coordinates(postal_code, country)
