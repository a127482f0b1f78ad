"""Return analytics: counts, rates, top SKUs, countries, dispositions and time to refund.

Rates: *by units* = units asked back on returns / goods units sold; *by value* = what was paid for the
units asked back / goods sales value (quantity x unit price of goods lines). Money sums are exact
(Decimal, summed in Python: SQLite has no exact decimal type).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.money import round_money

REFUNDED = ("settled", "closed")


@dataclass
class ReturnsSummary:
    """The figures the demo prints (and ``--json`` emits). Money as strings in ``currency``."""

    orders: int = 0
    order_lines: int = 0
    goods_units_sold: int = 0
    goods_sales_value: str = "0"
    returns_requested: int = 0
    returns_authorized: int = 0
    returns_in_review: int = 0
    returns_rejected: int = 0
    returns_refunded: int = 0
    returns_by_status: dict[str, int] = field(default_factory=dict)
    refund_total: str = "0"
    currency: str = "GBP"
    units_returned: int = 0
    value_returned: str = "0"
    return_rate_by_units: float = 0.0
    return_rate_by_value: float = 0.0
    top_skus_by_units: list[dict[str, Any]] = field(default_factory=list)
    top_skus_by_value: list[dict[str, Any]] = field(default_factory=list)
    returns_by_country: dict[str, int] = field(default_factory=dict)
    units_by_disposition: dict[str, int] = field(default_factory=dict)
    days_request_to_refund: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(uow: UnitOfWork, *, currency: str = "GBP") -> ReturnsSummary:
    """Compute the summary over the whole database (single currency: the demo's GBP)."""
    s = uow.session
    out = ReturnsSummary(currency=currency)
    out.orders = s.execute(select(func.count()).select_from(t.orders)).scalar_one()
    out.order_lines = s.execute(select(func.count()).select_from(t.order_lines)).scalar_one()
    units, value = 0, Decimal(0)
    for qty, price in s.execute(select(t.order_lines.c.quantity, t.order_lines.c.unit_price)
                                .where(t.order_lines.c.kind == "goods")):
        units += qty
        value += qty * price
    out.goods_units_sold, out.goods_sales_value = units, str(round_money(value, currency))
    status_counts = dict(s.execute(select(t.return_authorizations.c.status, func.count())
                                   .group_by(t.return_authorizations.c.status)).all())
    out.returns_by_status = {k: int(v) for k, v in sorted(status_counts.items())}
    out.returns_requested = sum(out.returns_by_status.values())
    out.returns_in_review = out.returns_by_status.get("in_review", 0)
    out.returns_rejected = out.returns_by_status.get("rejected", 0)
    out.returns_authorized = s.execute(select(func.count(func.distinct(t.return_events.c.rma_id)))
                                       .where(t.return_events.c.name == "return.authorized")).scalar_one()
    rmas = s.execute(select(t.return_authorizations.c.id, t.return_authorizations.c.status,
                            t.return_authorizations.c.refund_total, t.return_authorizations.c.requested_at,
                            t.return_authorizations.c.resolution, t.orders.c.country)
                     .join(t.orders, t.orders.c.id == t.return_authorizations.c.order_id)).all()
    refund_total = Decimal(0)
    countries: Counter[str] = Counter()
    requested_at = {}
    for rid, status, total, at, resolution, country in rmas:
        countries[country] += 1
        if status in REFUNDED and resolution:
            out.returns_refunded += 1
            refund_total += total
            requested_at[rid] = at
    out.refund_total = str(round_money(refund_total, currency))
    out.returns_by_country = dict(countries.most_common())
    sku_units: Counter[str] = Counter()
    sku_value: defaultdict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    dispositions: Counter[str] = Counter()
    for sku, desc, qty, paid, received, disposition in s.execute(
            select(t.return_lines.c.sku, t.return_lines.c.description, t.return_lines.c.quantity,
                   t.return_lines.c.paid_amount, t.return_lines.c.quantity_received, t.return_lines.c.disposition)):
        sku_units[sku] += qty
        sku_value[sku] += paid
        names[sku] = desc
        if disposition:
            dispositions[disposition] += received
    out.units_returned = sum(sku_units.values())
    value_returned = sum(sku_value.values(), Decimal(0))
    out.value_returned = str(round_money(value_returned, currency))
    out.return_rate_by_units = round(out.units_returned / units, 6) if units else 0.0
    out.return_rate_by_value = round(float(value_returned / value), 6) if value else 0.0
    out.top_skus_by_units = [{"sku": k, "description": names[k], "units": v} for k, v in sku_units.most_common(10)]
    out.top_skus_by_value = [{"sku": k, "description": names[k], "value": str(round_money(v, currency))}
                             for k, v in sorted(sku_value.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]
    out.units_by_disposition = dict(dispositions.most_common())
    refunded_at = dict(s.execute(select(t.return_events.c.rma_id, func.min(t.return_events.c.occurred_at))
                                 .where(t.return_events.c.name.in_(["return.refunded", "return.settled"]))
                                 .group_by(t.return_events.c.rma_id)).all())
    days = sorted((refunded_at[r] - requested_at[r]).total_seconds() / 86400 for r in requested_at if r in refunded_at)
    if days:
        out.days_request_to_refund = {"median": round(statistics.median(days), 2),
                                      "mean": round(statistics.fmean(days), 2),
                                      "p90": round(days[int(0.9 * (len(days) - 1))], 2)}
    return out
