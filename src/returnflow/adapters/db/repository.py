"""Repository: loading and saving orders, RMAs, stock movements and outbox messages.

Locks: state changes read their rows ``FOR UPDATE`` (PostgreSQL; SQLite serialises writers anyway) in a
fixed order, order before RMA, so two requests can never both pass a check and both act.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, cast, func, insert, inspect, literal, Select, select, String, Table, union_all, update
from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL
from sqlalchemy.orm import Session

from returnflow.adapters.db import tables as t
from returnflow.domain.events import ReturnEvent
from returnflow.domain.orders import Order, OrderLine
from returnflow.domain.returns import ReturnAuthorization
from returnflow.domain.statuses import ReturnStatus

#: RMA statuses whose units no longer count as returned (the customer may ask again).
VOID_STATUSES = (ReturnStatus.REJECTED.value, ReturnStatus.CANCELLED.value)


@dataclass(frozen=True)
class RmaFilter:
    """Filters for listing RMAs; every field optional."""

    status: str | None = None
    customer_id: str | None = None
    order_number: str | None = None
    sku: str | None = None
    reason: str | None = None
    return_center_code: str | None = None
    query: str | None = None
    requested_from: datetime | None = None
    requested_to: datetime | None = None


class Repository:
    """Data access for one unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- orders ------------------------------------------------------------------------------
    def _sqlite_row_lock(self, column: Any, value: str) -> None:
        """SQLite has no ``SELECT … FOR UPDATE``: touch the row with a no-op UPDATE first, which takes the
        database's write lock for this transaction, so a concurrent locker waits (busy timeout) and then reads
        what this one committed. PostgreSQL uses real row locks instead."""
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(update(column.table).where(column == value).values({column.key: column}))

    def order_by_number(self, order_number: str, *, for_update: bool = False) -> Order | None:
        stmt = select(Order).where(t.orders.c.order_number == order_number)
        if for_update:
            self._sqlite_row_lock(t.orders.c.order_number, order_number)
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def order_with_customer(self, order_number: str, *, for_update: bool = False
                            ) -> tuple[Order | None, str | None, str | None]:
        """(order with its lines, the customer's stored email, the customer's tier) in one round trip.

        ``for_update`` locks the order row only (``FOR UPDATE OF orders``), as ``order_by_number`` does.
        Email and tier are None when the order is unknown or its customer has no ``customers`` row.
        The order is read with Core (one row per line) and built as detached domain objects: this is the
        return request's hot path, and ORM loading cost several times the CPU. Use it for reading only.
        """
        if for_update:
            self._sqlite_row_lock(t.orders.c.order_number, order_number)
        rows = self.session.connection().execute(_order_with_customer_stmt(for_update),
                                                 {"order_number": order_number}).all()
        if not rows:
            return None, None, None
        first = rows[0]._mapping
        order = _build(Order, first, "orders_")
        order.lines = [_build(OrderLine, row._mapping, "order_lines_") for row in rows
                       if row._mapping["order_lines_id"] is not None]
        order.lines.sort(key=lambda line: line.line_number)
        return order, first["customers_email"], first["customers_tier"]

    def order(self, order_id: int) -> Order | None:
        return self.session.get(Order, order_id)

    def customer_email(self, customer_id: str) -> str | None:
        return self.session.execute(select(t.customers.c.email).where(t.customers.c.id == customer_id)).scalar()

    def returned_quantities(self, order_id: int) -> dict[int, int]:
        """order line id -> units on RMAs of the order that are not rejected or cancelled (see
        :func:`units_taken`: a finished RMA keeps only the units that actually came back)."""
        rows = self.session.execute(
            select(t.return_lines.c.order_line_id, func.sum(units_taken()))
            .join(t.return_authorizations, t.return_authorizations.c.id == t.return_lines.c.rma_id)
            .where(t.return_authorizations.c.order_id == order_id)
            .where(t.return_authorizations.c.status.not_in(VOID_STATUSES))
            .group_by(t.return_lines.c.order_line_id))
        return {int(line_id): int(units) for line_id, units in rows}

    def return_request_counts(self, *, order_id: int, customer_id: str, recent_since: datetime
                              ) -> tuple[dict[int, int], int]:
        """What a new return request counts, in one round trip (``UNION ALL`` of two aggregates):

        - order line id -> units on live RMAs of the order (as :meth:`returned_quantities`);
        - the customer's RMAs requested since ``recent_since``, rejected and cancelled ones excluded
          (as ``MoneyRepository.recent_returns``).
        """
        lines: dict[int, int] = {}
        recent_count = 0
        params = {"order_id": order_id, "customer_id": customer_id, "recent_since": recent_since}
        for kind, key, n in self.session.execute(_return_request_counts_stmt(), params):
            if kind == "line":
                lines[int(key)] = int(n)
            else:
                recent_count = int(n or 0)
        return lines, recent_count

    def rmas_per_center(self, *, since: datetime, until: datetime) -> dict[str | None, int]:
        """Return center code -> RMAs requested in [``since``, ``until``) (routing's use of a day's capacity)."""
        ra = t.return_authorizations.c
        return {code: int(n) for code, n in self.session.execute(
            select(ra.return_center_code, func.count())
            .where(ra.requested_at >= since).where(ra.requested_at < until)
            .group_by(ra.return_center_code))}

    def refunded_units(self, order_id: int) -> dict[int, int]:
        """order line id -> units already settled (accepted units of settled RMAs of the order)."""
        rows = self.session.execute(
            select(t.return_lines.c.order_line_id, func.sum(t.return_lines.c.quantity_received))
            .join(t.return_authorizations, t.return_authorizations.c.id == t.return_lines.c.rma_id)
            .where(t.return_authorizations.c.order_id == order_id)
            .where(t.return_authorizations.c.status.in_([ReturnStatus.SETTLED.value, ReturnStatus.CLOSED.value]))
            .where(t.return_lines.c.acceptance_status == "accepted")
            .group_by(t.return_lines.c.order_line_id))
        return {int(line_id): int(units) for line_id, units in rows}

    # -- RMAs --------------------------------------------------------------------------------
    def next_rma_number(self) -> str:
        """Allocate a unique, human-friendly RMA number (``RMA-000042``) without races.

        An INSERT into an identity table is atomic on every database, unlike random-then-check.
        """
        result = self.session.execute(insert(t.rma_numbers).values(claimed_at=datetime.now(UTC)))
        return f"RMA-{int(result.inserted_primary_key[0]):06d}"

    def insert_new_rma(self, rma: ReturnAuthorization) -> None:
        """Write a new RMA with its lines and events: three Core ``INSERT … RETURNING id`` statements (one per
        table, the lines and events each as one multi-row insert) instead of an ORM flush, which costs several
        times the CPU for the same rows. Sets ``id`` on the RMA, its lines and events. The RMA is not added to
        the session: the use case ends with the commit, and later use cases load it as usual.

        Raises what the database raises (e.g. ``IntegrityError`` for a duplicate number); the caller's unit of
        work then rolls back.
        """
        conn = self.session.connection()
        rma.id = conn.execute(_insert_returning_id(t.return_authorizations), _row_of(rma)).scalar_one()
        for children, table in ((rma.lines, t.return_lines), (rma.events, t.return_events)):
            if not children:
                continue
            rows = [{**_row_of(child), "rma_id": rma.id} for child in children]
            ids = conn.execute(_insert_returning_id(table, many=True), rows).scalars().all()
            for child, new_id in zip(children, ids, strict=True):
                child.id = new_id

    def rma_by_number(self, number: str, *, for_update: bool = False) -> ReturnAuthorization | None:
        stmt = select(ReturnAuthorization).where(t.return_authorizations.c.number == number)
        if for_update:
            self._sqlite_row_lock(t.return_authorizations.c.number, number)
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    @staticmethod
    def filtered(stmt: Select[Any], f: RmaFilter) -> Select[Any]:
        """``stmt`` restricted to the RMAs matching ``f`` (the one place RMA search filters are written).

        ``query`` matches the RMA or order number (substring), the customer id or a SKU (exact, any case).
        """
        c = t.return_authorizations.c
        if f.status:
            stmt = stmt.where(c.status == f.status)
        if f.customer_id:
            stmt = stmt.where(c.customer_id == f.customer_id)
        if f.order_number:
            stmt = stmt.where(c.order_number == f.order_number)
        if f.return_center_code:
            stmt = stmt.where(c.return_center_code == f.return_center_code)
        if f.requested_from:
            stmt = stmt.where(c.requested_at >= f.requested_from)
        if f.requested_to:
            stmt = stmt.where(c.requested_at < f.requested_to)
        if f.sku:
            stmt = stmt.where(c.id.in_(select(t.return_lines.c.rma_id).where(t.return_lines.c.sku == f.sku)))
        if f.reason:
            stmt = stmt.where(c.id.in_(select(t.return_lines.c.rma_id).where(t.return_lines.c.reason == f.reason)))
        if f.query and f.query.strip():
            q = f.query.strip()
            stmt = stmt.where(c.number.ilike(f"%{q}%") | c.order_number.ilike(f"%{q}%")
                              | (c.customer_id == q)
                              | c.id.in_(select(t.return_lines.c.rma_id)
                                         .where(t.return_lines.c.sku.in_({q, q.upper()}))))
        return stmt

    def list_rmas(self, f: RmaFilter, *, offset: int, limit: int) -> tuple[int, Sequence[ReturnAuthorization]]:
        """(total matching, one page newest first)."""
        total = self.session.execute(self.filtered(select(func.count()).select_from(t.return_authorizations), f)
                                     ).scalar_one()
        stmt = self.filtered(select(ReturnAuthorization), f).order_by(
            t.return_authorizations.c.requested_at.desc(), t.return_authorizations.c.id.desc())
        return int(total), self.session.scalars(stmt.offset(offset).limit(limit)).all()

    # -- inventory and outbox ----------------------------------------------------------------
    def add_stock_movement(self, *, sku: str, location_code: str, quantity: int, reason: str,
                           rma_number: str | None, at: datetime) -> None:
        self.session.execute(insert(t.stock_movements).values(
            sku=sku, location_code=location_code, quantity=quantity, reason=reason, rma_number=rma_number,
            occurred_at=at))

    def stock_level(self, sku: str, location_code: str) -> int:
        return int(self.session.execute(select(func.coalesce(func.sum(t.stock_movements.c.quantity), 0))
                                        .where(t.stock_movements.c.sku == sku)
                                        .where(t.stock_movements.c.location_code == location_code)).scalar_one())

    def stock_total(self, sku: str) -> int:
        """Units of ``sku`` in stock over all locations (the stock movement ledger)."""
        return int(self.session.execute(select(func.coalesce(func.sum(t.stock_movements.c.quantity), 0))
                                        .where(t.stock_movements.c.sku == sku)).scalar_one())

    def return_center_exists(self, code: str) -> bool:
        return self.session.execute(select(t.return_centers.c.code).where(t.return_centers.c.code == code)
                                    ).first() is not None

    def add_outbox(self, messages: Iterable[tuple[str, dict[str, Any]]], *, at: datetime) -> None:
        """Write side-effect messages in the same transaction as the change that causes them."""
        rows = [{"topic": topic, "payload": payload, "created_at": at, "status": "pending", "attempts": 0,
                 "next_attempt_at": at} for topic, payload in messages]
        if rows:
            self.session.execute(insert(t.outbox), rows)


@functools.cache
def _insert_returning_id(table: Table, *, many: bool = False) -> Any:
    """``INSERT INTO table … RETURNING id``, built once; ``many``: ids come back in the order of the rows given."""
    return insert(table).returning(table.c.id, sort_by_parameter_order=many)


@functools.cache
def _column_plan(cls: type) -> tuple[tuple[str, str, bool, Any], ...]:
    """Per mapped column attribute of ``cls``: (attribute, column name, is primary key, the column's Python-side
    default or None), read once from the imperative mapping (``adapters.db.mapping``)."""
    plan = []
    for prop in inspect(cls).column_attrs:
        column = prop.columns[0]
        default = column.default
        if default is not None and default.is_callable:
            value: Any = default.arg(None)  # zero-argument callables (dict, list) wrapped by SQLAlchemy
        else:
            value = default.arg if default is not None and default.is_scalar else None
        plan.append((prop.key, column.key, bool(column.primary_key), value))
    return tuple(plan)


@functools.cache
def _order_with_customer_stmt(for_update: bool) -> Any:
    """Order, its lines and its customer's email and tier, one row per line (columns ``<table>_<column>``)."""
    stmt = (select(t.orders, t.order_lines, t.customers.c.email, t.customers.c.tier)
            .outerjoin(t.order_lines, t.order_lines.c.order_id == t.orders.c.id)
            .outerjoin(t.customers, t.customers.c.id == t.orders.c.customer_id)
            .where(t.orders.c.order_number == bindparam("order_number"))
            .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL))
    return stmt.with_for_update(of=t.orders) if for_update else stmt


@functools.cache
def _constructor_plan(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """Per mapped column attribute of ``cls``: (attribute, column name, is a dataclass field of the domain class)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return tuple((attr, column, attr in fields) for attr, column, _, _ in _column_plan(cls))


def _build(cls: type, row: Any, prefix: str) -> Any:
    """A detached domain object of mapped ``cls`` from a Core row whose columns are ``prefix + column``."""
    plan = _constructor_plan(cls)
    obj = cls(**{attr: row[prefix + column] for attr, column, field in plan if field})
    for attr, column, field in plan:
        if not field:
            setattr(obj, attr, row[prefix + column])
    return obj


def _row_of(obj: Any) -> dict[str, Any]:
    """The INSERT parameters of a new mapped domain object: every mapped column, the id left out (the database
    assigns it), a missing value replaced by the column's default as the ORM would."""
    state = obj.__dict__
    row = {}
    for attr, column, primary_key, default in _column_plan(type(obj)):
        value = state.get(attr)
        if primary_key:
            continue
        row[column] = default if value is None and default is not None else value
    return row


@functools.cache
def units_taken() -> Any:
    """SQL: the units of a return line that count against the order line's returnable quantity.

    While the RMA is open, every unit asked for (it may still arrive); once it is settled or closed, only the
    units received (a short shipment or an empty parcel gives the missing units back to the customer).
    """
    ra, rl = t.return_authorizations.c, t.return_lines.c
    return case((ra.status.in_((ReturnStatus.SETTLED.value, ReturnStatus.CLOSED.value)), rl.quantity_received),
                else_=rl.quantity)


@functools.cache
def _return_request_counts_stmt() -> Any:
    """The statement of ``Repository.return_request_counts``, built once (bound parameters)."""
    ra, rl = t.return_authorizations.c, t.return_lines.c
    returned = (select(literal("line").label("kind"), cast(rl.order_line_id, String).label("key"),
                       func.sum(units_taken()).label("n"))
                .join(t.return_authorizations, ra.id == rl.rma_id)
                .where(ra.order_id == bindparam("order_id")).where(ra.status.not_in(VOID_STATUSES))
                .group_by(rl.order_line_id))
    recent = (select(literal("recent"), literal(""), func.count()).select_from(t.return_authorizations)
              .where(ra.customer_id == bindparam("customer_id"))
              .where(ra.requested_at >= bindparam("recent_since", type_=ra.requested_at.type))
              .where(ra.status.not_in(("rejected", "cancelled"))))
    return union_all(returned, recent)


def event_payload(rma: ReturnAuthorization, event: ReturnEvent) -> dict[str, Any]:
    """The JSON body of an RMA event as it leaves through the outbox (webhooks, emails)."""
    return {"type": event.name, "rma_number": rma.number, "order_number": rma.order_number,
            "customer_id": rma.customer_id, "status": event.to_status, "actor": event.actor,
            "occurred_at": event.occurred_at.isoformat(), "data": event.data}
