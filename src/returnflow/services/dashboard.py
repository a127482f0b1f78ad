"""Operations dashboard figures, aggregated in SQL so they stay fast on the 400k-line demo database.

Return rate per month = units asked back on RMAs requested that month / goods units sold that month.
Faulty-product signal: a SKU's return rate (units asked back / units sold) against its category's; the
UCI data has no categories, so the category is the first three characters of the stock code (UCI's
stock codes group product families by prefix). A SKU is flagged when it sold at least
``MIN_UNITS_SOLD`` units and its rate is at least ``FAULTY_RATIO`` times its category's.
Results are cached per process for ``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal_column, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.money import round_money

CACHE_SECONDS = 60.0
MIN_UNITS_SOLD = 50
FAULTY_RATIO = 3.0
REFUND_DAY_BUCKETS = ((0, 7), (7, 14), (14, 21), (21, 30), (30, 60), (60, 10_000))


@dataclass
class Dashboard:
    """Figures for the charts. Months are ``YYYY-MM``; money as Decimal in ``currency``."""

    currency: str = "GBP"
    months: list[str] = field(default_factory=list)
    returns_per_month: list[int] = field(default_factory=list)
    return_rate_per_month: list[float] = field(default_factory=list)
    refund_value_per_month: list[Decimal] = field(default_factory=list)
    reasons: list[tuple[str, int]] = field(default_factory=list)
    top_skus: list[dict[str, Any]] = field(default_factory=list)
    faulty_skus: list[dict[str, Any]] = field(default_factory=list)
    units_by_disposition: list[tuple[str, int]] = field(default_factory=list)
    refund_days: list[tuple[str, int]] = field(default_factory=list)
    refund_days_median: float | None = None
    seconds: float = 0.0


def _month(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), literal_column("'YYYY-MM'"))
    return func.substr(column, 1, 7)


def compute(uow: UnitOfWork, *, currency: str = "GBP") -> Dashboard:
    """All dashboard figures from one unit of work (read only)."""
    started = time.perf_counter()
    s = uow.session
    dialect = s.get_bind().dialect.name
    ra, rl, ol, o = t.return_authorizations, t.return_lines, t.order_lines, t.orders
    out = Dashboard(currency=currency)

    sold_month = _month(o.c.placed_at, dialect)
    sold = dict(s.execute(select(sold_month, func.sum(ol.c.quantity)).join(o, o.c.id == ol.c.order_id)
                          .where(ol.c.kind == "goods").group_by(sold_month)).all())
    req_month = _month(ra.c.requested_at, dialect)
    returned = {m: (int(n), int(u or 0)) for m, n, u in s.execute(
        select(req_month, func.count(func.distinct(ra.c.id)), func.sum(rl.c.quantity))
        .join(rl, rl.c.rma_id == ra.c.id).group_by(req_month))}
    refunds: defaultdict[str, Decimal] = defaultdict(Decimal)
    for month, total in s.execute(select(req_month, ra.c.refund_total)
                                  .where(ra.c.status.in_(("settled", "closed")), ra.c.resolution.is_not(None))):
        refunds[month] += total
    out.months = sorted(set(sold) | set(returned))
    for m in out.months:
        n, units = returned.get(m, (0, 0))
        out.returns_per_month.append(n)
        out.return_rate_per_month.append(units / int(sold[m]) if sold.get(m) else 0.0)
        out.refund_value_per_month.append(round_money(refunds.get(m, Decimal(0)), currency))

    out.reasons = [(r, int(u)) for r, u in s.execute(
        select(rl.c.reason, func.sum(rl.c.quantity)).group_by(rl.c.reason).order_by(func.sum(rl.c.quantity).desc()))]
    out.units_by_disposition = [(d, int(u)) for d, u in s.execute(
        select(rl.c.disposition, func.sum(rl.c.quantity_received)).where(rl.c.disposition.is_not(None))
        .group_by(rl.c.disposition).order_by(func.sum(rl.c.quantity_received).desc()))]

    returned_by_sku = {sku: (int(u), desc) for sku, u, desc in s.execute(
        select(rl.c.sku, func.sum(rl.c.quantity), func.max(rl.c.description)).group_by(rl.c.sku))}
    sold_by_sku = {sku: int(u) for sku, u in s.execute(
        select(ol.c.sku, func.sum(ol.c.quantity)).where(ol.c.kind == "goods").group_by(ol.c.sku))}
    cat_sold: defaultdict[str, int] = defaultdict(int)
    cat_returned: defaultdict[str, int] = defaultdict(int)
    for sku, units in sold_by_sku.items():
        cat_sold[sku[:3]] += units
    for sku, (units, _) in returned_by_sku.items():
        cat_returned[sku[:3]] += units
    rows = []
    for sku, (units, desc) in returned_by_sku.items():
        sold_units = sold_by_sku.get(sku, 0)
        rate = units / sold_units if sold_units else 0.0
        cat = sku[:3]
        cat_rate = cat_returned[cat] / cat_sold[cat] if cat_sold[cat] else 0.0
        rows.append({"sku": sku, "description": desc, "units": units, "sold": sold_units, "rate": rate,
                     "category": cat, "category_rate": cat_rate,
                     "ratio": rate / cat_rate if cat_rate else 0.0})
    out.top_skus = sorted(rows, key=lambda r: (-r["units"], r["sku"]))[:10]
    out.faulty_skus = sorted((r for r in rows if r["sold"] >= MIN_UNITS_SOLD and r["ratio"] >= FAULTY_RATIO),
                             key=lambda r: (-r["ratio"], r["sku"]))[:10]

    refunded_at = select(t.return_events.c.rma_id, func.min(t.return_events.c.occurred_at).label("at")).where(
        t.return_events.c.name.in_(("return.refunded", "return.settled"))).group_by(t.return_events.c.rma_id
                                                                                    ).subquery()
    days = sorted((at - requested).total_seconds() / 86400 for requested, at in s.execute(
        select(ra.c.requested_at, refunded_at.c.at).join(refunded_at, refunded_at.c.rma_id == ra.c.id)))
    for low, high in REFUND_DAY_BUCKETS:
        label = f"{low}-{high} d" if high < 10_000 else f"{low}+ d"
        out.refund_days.append((label, sum(1 for d in days if low <= d < high)))
    if days:
        out.refund_days_median = round(days[len(days) // 2] if len(days) % 2 else
                                       (days[len(days) // 2 - 1] + days[len(days) // 2]) / 2, 1)
    out.seconds = time.perf_counter() - started
    return out


_cache: dict[str, tuple[float, Dashboard]] = {}
_lock = threading.Lock()


def cached(uow_factory: Any, *, key: str, max_age: float = CACHE_SECONDS) -> Dashboard:
    """:func:`compute`, reused for ``max_age`` seconds per ``key`` (the database URL) in this process."""
    with _lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < max_age:
            return hit[1]
    with uow_factory() as uow:
        board = compute(uow)
    with _lock:
        _cache[key] = (time.monotonic(), board)
    return board
