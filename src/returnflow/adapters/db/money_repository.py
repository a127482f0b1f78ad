"""Data access for money: payments, refunds (by idempotency key), store credit, policies, products.

Works on the unit of work's session (``MoneyRepository(uow.session)``); it never commits. Callers lock
the order first (``Repository.order_by_number(..., for_update=True)``), so two refunds of one order
are serialised and the second sees the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from returnflow.adapters.db import tables as t
from returnflow.domain.settlement import PaymentSource
from returnflow.domain.store_credit import CreditEntry, CreditKind


@dataclass(frozen=True)
class StoredRefund:
    """A refunds row: ``amount`` given back (bonus excluded), ``bonus``, ``breakdown`` (JSON)."""

    id: int
    order_id: int
    rma_id: int | None
    idempotency_key: str
    request_hash: str
    kind: str
    currency: str
    amount: Decimal
    bonus: Decimal
    breakdown: dict[str, Any]
    policy_version: str | None
    created_at: datetime


#: Per engine: policy versions known to be stored (see ``MoneyRepository.remember_policy``).
_STORED_POLICY_VERSIONS: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()


class MoneyRepository:
    """Queries and inserts for the money tables of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- payments ----------------------------------------------------------------------------
    def add_payment(self, *, order_id: int, method: str, amount: Decimal, reference: str = "") -> int:
        result = self.session.execute(insert(t.payments).values(order_id=order_id, method=method, amount=amount,
                                                                refunded=Decimal(0), reference=reference))
        return int(result.inserted_primary_key[0])

    def payments(self, order_id: int, *, for_update: bool = False) -> list[tuple[int, str, Decimal, Decimal]]:
        """(id, method, captured amount, refunded) of the order's payments, by id."""
        stmt = select(t.payments.c.id, t.payments.c.method, t.payments.c.amount, t.payments.c.refunded) \
            .where(t.payments.c.order_id == order_id).order_by(t.payments.c.id)
        if for_update:
            stmt = stmt.with_for_update()
        return [(int(i), m, Decimal(a), Decimal(r)) for i, m, a, r in self.session.execute(stmt)]

    def payment_sources(self, order_id: int) -> list[PaymentSource]:
        return [PaymentSource(payment_id=i, method=m, refundable=a - r) for i, m, a, r in self.payments(order_id)]

    def add_to_payment_refunded(self, payment_id: int, amount: Decimal) -> None:
        self.session.execute(update(t.payments).where(t.payments.c.id == payment_id)
                             .values(refunded=t.payments.c.refunded + amount))

    # -- refunds -----------------------------------------------------------------------------
    def _refund(self, row: Any) -> StoredRefund:
        return StoredRefund(id=row.id, order_id=row.order_id, rma_id=row.rma_id, idempotency_key=row.idempotency_key,
                            request_hash=row.request_hash, kind=row.kind, currency=row.currency,
                            amount=Decimal(row.amount), bonus=Decimal(row.bonus), breakdown=row.breakdown,
                            policy_version=row.policy_version, created_at=row.created_at)

    def refund_by_key(self, key: str) -> StoredRefund | None:
        row = self.session.execute(select(t.refunds).where(t.refunds.c.idempotency_key == key)).first()
        return self._refund(row) if row else None

    def refunds_of_order(self, order_id: int) -> list[StoredRefund]:
        rows = self.session.execute(select(t.refunds).where(t.refunds.c.order_id == order_id).order_by(t.refunds.c.id))
        return [self._refund(row) for row in rows]

    def settled_without_refund_record(self, order_id: int) -> tuple[dict[int, int], Decimal]:
        """Settled RMAs of the order that have no refunds row (settled by ``services.returns.refund`` or
        the demo replay): (order line id -> accepted units, money settled)."""
        ra, rl = t.return_authorizations.c, t.return_lines.c
        legacy = (select(ra.id).where(ra.order_id == order_id).where(ra.status.in_(("settled", "closed")))
                  .where(ra.id.not_in(select(t.refunds.c.rma_id).where(t.refunds.c.rma_id.is_not(None)))))
        units = {int(k): int(v) for k, v in self.session.execute(
            select(rl.order_line_id, func.sum(rl.quantity_received)).where(rl.rma_id.in_(legacy))
            .where(rl.acceptance_status == "accepted").group_by(rl.order_line_id))}
        money = sum((Decimal(v) for v in self.session.execute(select(ra.refund_total).where(ra.id.in_(legacy)))
                     .scalars()), Decimal(0))
        return units, money

    def exchanged_units(self, rma_id: int) -> dict[int, int]:
        """Return line id -> units of the RMA given in exchange (every exchange but a cancelled one)."""
        x = t.exchanges.c
        rows = self.session.execute(select(x.return_line_id, func.sum(x.quantity)).where(x.rma_id == rma_id)
                                    .where(x.status != "cancelled").group_by(x.return_line_id))
        return {int(k): int(v) for k, v in rows}

    def add_refund(self, **values: Any) -> int:
        return int(self.session.execute(insert(t.refunds).values(**values)).inserted_primary_key[0])

    # -- store credit ------------------------------------------------------------------------
    def credit_entries(self, customer_id: str, currency: str) -> list[CreditEntry]:
        c = t.store_credit_entries.c
        rows = self.session.execute(select(t.store_credit_entries).where(c.customer_id == customer_id)
                                    .where(c.currency == currency).order_by(c.id))
        return [CreditEntry(id=r.id, kind=CreditKind(r.kind), amount=Decimal(r.amount), currency=r.currency,
                            created_at=r.created_at, expires_at=r.expires_at, source_entry_id=r.source_entry_id)
                for r in rows]

    def add_credit_entry(self, *, customer_id: str, currency: str, kind: CreditKind, amount: Decimal, at: datetime,
                         expires_at: datetime | None = None, source_entry_id: int | None = None,
                         refund_id: int | None = None, reference: str = "") -> int:
        result = self.session.execute(insert(t.store_credit_entries).values(
            customer_id=customer_id, currency=currency, kind=str(kind), amount=amount, expires_at=expires_at,
            source_entry_id=source_entry_id, refund_id=refund_id, reference=reference, created_at=at))
        return int(result.inserted_primary_key[0])

    def customers_with_expiring_credit(self, at: datetime) -> list[tuple[str, str]]:
        c = t.store_credit_entries.c
        rows = self.session.execute(select(c.customer_id, c.currency).where(c.kind == "issued")
                                    .where(c.expires_at <= at).distinct().order_by(c.customer_id, c.currency))
        return [(a, b) for a, b in rows]

    # -- policies ----------------------------------------------------------------------------
    def latest_policy(self) -> tuple[str, str] | None:
        """(version, source) of the active policy (the latest activation), or None when none was activated
        (versions stored only because they decided an RMA are not active)."""
        a, c = t.policy_activations.c, t.policy_versions.c
        row = self.session.execute(select(c.version, c.source).join(t.policy_activations, a.version == c.version)
                                   .order_by(a.id.desc()).limit(1)).first()
        return (row[0], row[1]) if row else None

    def activate_policy(self, *, version: str, at: datetime, actor: str) -> None:
        self.session.execute(insert(t.policy_activations).values(version=version, activated_at=at,
                                                                 activated_by=actor))

    def policy_source(self, version: str) -> str | None:
        c = t.policy_versions.c
        return self.session.execute(select(c.source).where(c.version == version)).scalar()

    def add_policy(self, *, version: str, source: str, at: datetime, actor: str) -> None:
        self.session.execute(insert(t.policy_versions).values(version=version, source=source, created_at=at,
                                                              created_by=actor))

    def remember_policy(self, *, version: str, source: str, at: datetime, actor: str = "system") -> None:
        """Store a policy version that decides RMAs (e.g. the file loaded at start) unless it is stored;
        a concurrent insert of the same version is harmless (savepoint).

        Versions are never deleted or changed once stored, so a version seen stored (or committed by this
        process) is remembered per database engine and not looked up again: no query on the hot path.
        """
        if not source:
            return
        bind = self.session.get_bind()
        known = _STORED_POLICY_VERSIONS.setdefault(bind, set())
        if version in known:
            return
        if self.policy_source(version) is not None:
            known.add(version)
            return
        try:
            with self.session.begin_nested():
                self.add_policy(version=version, source=source, at=at, actor=actor)
        except IntegrityError:
            pass
        # Not remembered yet: this transaction may still roll back; the next call finds the row stored.

    def policy_versions(self) -> list[tuple[str, datetime, str]]:
        c = t.policy_versions.c
        return [(v, at, by) for v, at, by in self.session.execute(
            select(c.version, c.created_at, c.created_by).order_by(c.id))]

    # -- customers and products --------------------------------------------------------------
    def customer_tier(self, customer_id: str) -> str:
        tier = self.session.execute(select(t.customers.c.tier).where(t.customers.c.id == customer_id)).scalar()
        return tier or "standard"

    def recent_returns(self, customer_id: str, since: datetime) -> int:
        c = t.return_authorizations.c
        return int(self.session.execute(select(func.count()).where(c.customer_id == customer_id)
                                        .where(c.requested_at >= since)
                                        .where(c.status.not_in(("rejected", "cancelled")))).scalar_one())

    def product(self, sku: str) -> Any:
        return self.session.execute(select(t.products).where(t.products.c.sku == sku)).first()
