"""Operations list: RMAs searched and filtered (RMA number, order, customer, SKU; status, reason, dates,
return center) as light rows for the list page and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.repository import Repository, RmaFilter
from returnflow.services.returns import UowFactory


@dataclass(frozen=True)
class RmaSearch:
    """Every field optional; ``query`` matches RMA number or order (substring), customer id or SKU (exact)."""

    query: str = ""
    status: str = ""
    reason: str = ""
    return_center_code: str = ""
    requested_from: datetime | None = None
    requested_to: datetime | None = None


@dataclass(frozen=True)
class RmaRow:
    number: str
    order_number: str
    customer_id: str
    status: str
    requested_at: datetime
    return_center_code: str | None
    units: int
    refund_total: Decimal
    currency: str


def _where(stmt, f: RmaSearch):  # type: ignore[no-untyped-def]
    return Repository.filtered(stmt, RmaFilter(
        query=f.query or None, status=f.status or None, reason=f.reason or None,
        return_center_code=f.return_center_code or None, requested_from=f.requested_from,
        requested_to=f.requested_to))


def search(uow_factory: UowFactory, f: RmaSearch, *, offset: int = 0, limit: int | None = 50) -> tuple[int, list[RmaRow]]:
    """(total matching, rows newest first). ``limit`` None: every row (CSV export)."""
    c = t.return_authorizations.c
    units = select(func.coalesce(func.sum(t.return_lines.c.quantity), 0)).where(
        t.return_lines.c.rma_id == c.id).scalar_subquery()
    with uow_factory() as uow:
        total = uow.session.execute(_where(select(func.count()).select_from(t.return_authorizations), f)).scalar_one()
        stmt = _where(select(c.number, c.order_number, c.customer_id, c.status, c.requested_at, c.return_center_code,
                             units, c.refund_total, c.currency), f).order_by(c.requested_at.desc(), c.id.desc())
        stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = [RmaRow(*r) for r in uow.session.execute(stmt)]
    return int(total), rows


def reasons_in_use(uow_factory: UowFactory) -> list[str]:
    """Distinct reasons on return lines (for the filter)."""
    with uow_factory() as uow:
        return list(uow.session.execute(select(t.return_lines.c.reason).distinct().order_by(t.return_lines.c.reason))
                    .scalars())
