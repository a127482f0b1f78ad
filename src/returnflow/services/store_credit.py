"""Store credit use cases: balance, ledger, issue (goodwill, with an idempotency key), spend, expire.

The ledger rules (FIFO by expiry, expiry entries) are in ``domain/store_credit.py``. Spending locks the
customer's row so two spends cannot both pass the balance check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.money_repository import MoneyRepository
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain import store_credit as ledger
from returnflow.domain.errors import Conflict, InvalidInput, NotFound
from returnflow.domain.money import round_money
from returnflow.domain.store_credit import CreditEntry, CreditKind

UowFactory = Callable[[], UnitOfWork]


def credit_balance(uow_factory: UowFactory, *, customer_id: str, currency: str) -> Decimal:
    """The customer's store credit in ``currency`` (issued - spent - expired)."""
    with uow_factory() as uow:
        return ledger.balance(MoneyRepository(uow.session).credit_entries(customer_id, currency.upper()))


def credit_ledger(uow_factory: UowFactory, *, customer_id: str, currency: str) -> list[CreditEntry]:
    """Every ledger entry of the customer in ``currency``, oldest first."""
    with uow_factory() as uow:
        return MoneyRepository(uow.session).credit_entries(customer_id, currency.upper())


@dataclass(frozen=True)
class CreditResult:
    """A ledger change: the entry id, its amount and the balance after it."""

    entry_id: int
    amount: Decimal
    balance: Decimal
    replayed: bool = False


def _lock_customer(uow: UnitOfWork, customer_id: str) -> None:
    row = uow.session.execute(select(t.customers.c.id).where(t.customers.c.id == customer_id).with_for_update()
                              ).first()
    if row is None:
        raise NotFound(f"no customer {customer_id}")


def _positive(amount: Decimal, currency: str) -> Decimal:
    value = round_money(Decimal(amount), currency)
    if value <= 0 or value != Decimal(amount):
        raise InvalidInput(f"the amount must be positive and in whole minor units of {currency}")
    return value


def issue_credit(uow_factory: UowFactory, *, customer_id: str, currency: str, amount: Decimal, idempotency_key: str,
                 expires_in_days: int | None = None, at: datetime | None = None) -> CreditResult:
    """Issue goodwill credit. A repeated ``idempotency_key`` (kept as the entry's reference) returns the
    first entry. Raises ``InvalidInput`` (amount), ``NotFound`` (customer), ``Conflict`` (key reused
    with another amount)."""
    currency = currency.upper()
    value = _positive(amount, currency)
    at = at or datetime.now(UTC)
    tag = f"key:{idempotency_key}"
    with uow_factory() as uow:
        _lock_customer(uow, customer_id)
        c = t.store_credit_entries.c
        money = MoneyRepository(uow.session)
        prior = uow.session.execute(select(c.id, c.amount, c.customer_id).where(c.reference == tag)).first()
        if prior is not None:
            if Decimal(prior.amount) != value or prior.customer_id != customer_id:
                raise Conflict(f"idempotency key {idempotency_key!r} was used for a different credit")
            return CreditResult(prior.id, value, ledger.balance(money.credit_entries(customer_id, currency)), True)
        expires = at + timedelta(days=expires_in_days) if expires_in_days else None
        entry = money.add_credit_entry(customer_id=customer_id, currency=currency, kind=CreditKind.ISSUED,
                                       amount=value, at=at, expires_at=expires, reference=tag)
        uow.commit()
        return CreditResult(entry, value, ledger.balance(money.credit_entries(customer_id, currency)))


def spend_credit(uow_factory: UowFactory, *, customer_id: str, currency: str, amount: Decimal, reference: str,
                 at: datetime | None = None) -> CreditResult:
    """Spend credit (an order paid with it). Raises ``InvalidInput`` when the balance is too small;
    nothing changes then."""
    currency = currency.upper()
    value = _positive(amount, currency)
    with uow_factory() as uow:
        _lock_customer(uow, customer_id)
        money = MoneyRepository(uow.session)
        available = ledger.balance(money.credit_entries(customer_id, currency))
        if value > available:
            raise InvalidInput(f"store credit balance is {round_money(available, currency)} {currency}; "
                               f"cannot spend {value}")
        entry = money.add_credit_entry(customer_id=customer_id, currency=currency, kind=CreditKind.SPENT,
                                       amount=value, at=at or datetime.now(UTC), reference=reference)
        uow.commit()
        return CreditResult(entry, value, available - value)


def expire_credit(uow_factory: UowFactory, *, at: datetime | None = None) -> int:
    """Write ``expired`` entries for unspent credit past its expiry date; returns how many (a second
    run at the same time writes none). Meant for a daily worker job."""
    at = at or datetime.now(UTC)
    written = 0
    with uow_factory() as uow:
        money = MoneyRepository(uow.session)
        for customer_id, currency in money.customers_with_expiring_credit(at):
            _lock_customer(uow, customer_id)
            for issue_id, amount in ledger.due_to_expire(money.credit_entries(customer_id, currency), at=at):
                money.add_credit_entry(customer_id=customer_id, currency=currency, kind=CreditKind.EXPIRED,
                                       amount=amount, at=at, source_entry_id=issue_id, reference="expired")
                written += 1
        uow.commit()
    return written
