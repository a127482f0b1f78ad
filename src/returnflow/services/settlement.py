"""Refund use cases: preview and issue the refund (or store credit) of an RMA, idempotently.

Preview and issue call the same function (:func:`_quote`), so the customer sees the refund they get.
``issue_refund`` locks the order row first, looks the idempotency key up, and only then computes and
writes; a retried or double-submitted request returns the first refund (``replayed=True``), and the
same key with a different request is a 409. On SQLite, whose writers race at commit, a lost race is
retried and then finds the winner's refund by its key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.money_repository import MoneyRepository, StoredRefund
from returnflow.adapters.db.repository import event_payload
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from returnflow.domain.orders import LineKind, Order
from returnflow.domain.policy import LineRequest, ReturnPolicy
from returnflow.domain.policy_terms import Decision, RequestedUnits, decide, shipping_lines_to_refund
from returnflow.domain.returns import ReturnAuthorization
from returnflow.domain.settlement import (
    PaymentRefund, RefundItem, RefundQuote, quote_refund, route_to_payments, store_credit_bonus,
)
from returnflow.domain.statuses import AcceptanceStatus, Resolution, ReturnStatus
from returnflow.domain.store_credit import CreditKind
from returnflow.services.policies import customer_facts, policy_for_version

UowFactory = Callable[[], UnitOfWork]
ZERO = Decimal(0)


@dataclass
class MoneyState:
    """What has happened to an order's money: ``captured`` (None: no payment records), ``refunded``
    (money given back so far, bonuses excluded), ``refunded_units`` per order line id, shipping lines
    already refunded."""

    order: Order
    captured: Decimal | None
    refunded: Decimal
    refunded_units: dict[int, int]
    shipping_refunded: set[int] = field(default_factory=set)

    def fully_returned_after(self, units: dict[int, int]) -> bool:
        """True when, with ``units`` more refunded, every goods unit of the order has been refunded."""
        return all(self.refunded_units.get(l.id or 0, 0) + units.get(l.id or 0, 0) >= l.quantity
                   for l in self.order.lines if l.kind == LineKind.GOODS)


def money_state(uow: UnitOfWork, order: Order) -> MoneyState:
    """Read the order's payments and refunds (refunds rows plus RMAs settled without one)."""
    repo = MoneyRepository(uow.session)
    payments = repo.payments(order.id or 0)
    units, refunded = repo.settled_without_refund_record(order.id or 0)
    shipping: set[int] = set()
    for stored in repo.refunds_of_order(order.id or 0):
        refunded += stored.amount
        for line_id, count in stored.breakdown.get("units", {}).items():
            units[int(line_id)] = units.get(int(line_id), 0) + int(count)
        shipping.update(int(i) for i in stored.breakdown.get("shipping_line_ids", []))
    captured = sum((amount for _, _, amount, _ in payments), ZERO) if payments else None
    return MoneyState(order=order, captured=captured, refunded=refunded, refunded_units=units,
                      shipping_refunded=shipping)


@dataclass(frozen=True)
class RefundResult:
    """An issued (or previewed) refund: ``total`` given back, ``payments`` parts, ``store_credit``
    issued (bonus included), ``bonus``; ``quote`` (None when replayed from storage); ``replayed``: an
    earlier request with the same idempotency key."""

    rma_number: str
    currency: str
    total: Decimal
    bonus: Decimal
    store_credit: Decimal
    payments: list[PaymentRefund]
    resolution: str
    refund_id: int | None = None
    idempotency_key: str | None = None
    quote: RefundQuote | None = None
    replayed: bool = False
    breakdown: dict[str, Any] = field(default_factory=dict)


def refundable_units(rma: ReturnAuthorization, exchanged: dict[int, int], *, returnless: bool) -> dict[int, int]:
    """Return line id -> units a refund may pay for: the units asked for (``returnless``) or received and
    accepted, less the units given in exchange (``exchanged``: return line id -> units). Units that come
    back are counted against the exchange first: the exchange needs them."""
    out = {}
    for line in rma.lines:
        taken = exchanged.get(line.id or 0, 0)
        base = line.quantity if returnless else line.quantity_accepted
        out[line.id or 0] = max(min(base - taken, line.quantity - taken), 0)
    return out


def _check_returnless(rma: ReturnAuthorization, decision: Decision) -> None:
    """A refund without the goods coming back: only for a claim, or when the policy's keep-it applies."""
    if rma.channel == "claim" or decision.keep_items:
        return
    raise Conflict(f"{rma.number}: a returnless refund is only for claims or when the return policy lets the "
                   f"customer keep the items (keep-it), and it does not for this return "
                   f"(policy {decision.policy_version}); receive and inspect the goods, then refund")


def _quote(uow: UnitOfWork, rma: ReturnAuthorization, order: Order, policy: ReturnPolicy, *, returnless: bool
           ) -> tuple[RefundQuote, MoneyState, list[int]]:
    state = money_state(uow, order)
    money = MoneyRepository(uow.session)
    by_id = {l.id: l for l in order.lines}
    requested = [RequestedUnits(line=by_id[l.order_line_id], units=l.quantity, request=LineRequest(reason=l.reason))
                 for l in rma.lines]
    decision = decide(policy, order=order, items=requested, at=rma.requested_at,
                      customer=customer_facts(money, policy, order.customer_id, rma.requested_at))
    if returnless:
        _check_returnless(rma, decision)
    exchanged = money.exchanged_units(rma.id or 0)
    units = refundable_units(rma, exchanged, returnless=returnless)
    if exchanged and not any(units.values()):
        raise Conflict(f"{rma.number}: every unit to refund was given in exchange; nothing is left to refund "
                       "(settle the return as an exchange)")
    items = [RefundItem(order_line_id=l.order_line_id, units=units[l.id or 0],
                        units_before=state.refunded_units.get(l.order_line_id, 0),
                        restocking_fee=decision.restocking_fees.get(l.order_line_id, policy.restocking_fee))
             for l in rma.lines]
    fee = ZERO if returnless else decision.return_shipping_fee
    shipping = shipping_lines_to_refund(policy, order=order, free_return=decision.free_return,
                                        fully_returned_after=state.fully_returned_after(
                                            {i.order_line_id: i.units for i in items}),
                                        already_refunded_line_ids=state.shipping_refunded)
    quote = quote_refund(order, items, return_shipping_fee=fee, refund_shipping_line_ids=shipping,
                         already_refunded=state.refunded, captured=state.captured)
    return quote, state, shipping


def load_rma_and_order(uow: UnitOfWork, number: str, *, lock: bool) -> tuple[ReturnAuthorization, Order]:
    """The RMA and its order, both locked when ``lock`` (order first). Raises ``NotFound``."""
    ra = t.return_authorizations.c
    order_number = uow.session.execute(select(ra.order_number).where(ra.number == number.strip())).scalar()
    if order_number is None:
        raise NotFound(f"no return authorization {number}")
    order = uow.repo.order_by_number(order_number, for_update=lock)  # order before RMA, always
    rma = uow.repo.rma_by_number(number.strip(), for_update=lock)
    assert order is not None and rma is not None
    return rma, order


def preview_refund(uow_factory: UowFactory, number: str, *, policy: ReturnPolicy, resolution: str = "refund",
                   returnless: bool = False) -> RefundResult:
    """What :func:`issue_refund` would give now for the RMA (nothing stored). ``policy``: the default;
    the version recorded on the RMA is used when stored. Raises ``NotFound``."""
    with uow_factory() as uow:
        rma, order = load_rma_and_order(uow, number, lock=False)
        policy = _policy_of(uow_factory, rma, policy)
        quote, _, _ = _quote(uow, rma, order, policy, returnless=returnless)
        return _route(uow, order, quote, policy, resolution=_resolution(resolution), rma_number=rma.number)


def _policy_of(uow_factory: UowFactory, rma: ReturnAuthorization, default: ReturnPolicy) -> ReturnPolicy:
    return policy_for_version(uow_factory, rma.policy_version, default=default)


def _resolution(value: str) -> Resolution:
    if value not in (Resolution.REFUND, Resolution.STORE_CREDIT):
        raise InvalidInput(f"resolution must be 'refund' or 'store_credit', not {value!r}")
    return Resolution(value)


def _route(uow: UnitOfWork, order: Order, quote: RefundQuote, policy: ReturnPolicy, *, resolution: Resolution,
           rma_number: str) -> RefundResult:
    cur = order.currency
    if resolution == Resolution.STORE_CREDIT:
        bonus = store_credit_bonus(quote.total, percent=policy.store_credit_bonus_percent,
                                   flat=policy.store_credit_bonus_flat, currency=cur)
        return RefundResult(rma_number=rma_number, currency=cur, total=quote.total, bonus=bonus,
                            store_credit=quote.total + bonus, payments=[], resolution=str(resolution), quote=quote)
    parts, rest = route_to_payments(quote.total, MoneyRepository(uow.session).payment_sources(order.id or 0),
                                    method_order=policy.payment_order,
                                    non_refundable_methods=policy.non_refundable_methods, currency=cur)
    back_to_credit = sum((p.amount for p in parts if p.method == "store_credit"), ZERO)
    return RefundResult(rma_number=rma_number, currency=cur, total=quote.total, bonus=ZERO,
                        store_credit=rest + back_to_credit, payments=parts, resolution=str(resolution), quote=quote)


def request_hash(**request: Any) -> str:
    """SHA-256 of the request's canonical JSON: the same key with another request is a conflict."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _replay(stored: StoredRefund, digest: str, rma_number: str) -> RefundResult:
    if stored.request_hash != digest:
        raise Conflict(f"idempotency key {stored.idempotency_key!r} was used for a different request")
    b = stored.breakdown
    return RefundResult(rma_number=rma_number, currency=stored.currency, total=stored.amount, bonus=stored.bonus,
                        store_credit=Decimal(b.get("store_credit", "0")),
                        payments=[PaymentRefund(p["payment_id"], p["method"], Decimal(p["amount"]))
                                  for p in b.get("payments", [])],
                        resolution=b.get("resolution", stored.kind), refund_id=stored.id,
                        idempotency_key=stored.idempotency_key, replayed=True, breakdown=b)


def with_retries(action: Callable[[], RefundResult], *, attempts: int = 5) -> RefundResult:
    """Run ``action``; on a lost race (unique key taken, SQLite busy snapshot) run it again, when the
    first step finds the winner's record by its idempotency key."""
    for attempt in range(attempts):
        try:
            return action()
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def issue_refund(uow_factory: UowFactory, number: str, *, idempotency_key: str, actor: str, policy: ReturnPolicy,
                 resolution: str = "refund", returnless: bool = False, at: datetime | None = None) -> RefundResult:
    """Settle an RMA with a refund to the order's payments (in the policy's payment order, the rest to
    store credit) or with store credit (plus the policy's bonus).

    ``returnless``: refund an authorized RMA whose goods are not coming back: a claim, or a return the
    policy's keep-it decision covers; otherwise the RMA must be inspected and only received and accepted
    units are refunded. Units given in exchange (``services.exchanges``) are never refunded.
    Raises:
        InvalidInput: empty key, unknown resolution. NotFound: unknown RMA.
        Conflict: the key was used for a different request; returnless without claim or keep-it; every
            unit was exchanged (nothing left to refund). Nothing changes.
        IllegalTransition: the RMA is not ready to settle (nothing changes).
    """
    if not idempotency_key or len(idempotency_key) > 128:
        raise InvalidInput("an idempotency key (1-128 characters) is required")
    res = _resolution(resolution)
    digest = request_hash(op="rma_refund", rma=number.strip(), resolution=str(res), returnless=returnless)

    def attempt() -> RefundResult:
        with uow_factory() as uow:
            money = MoneyRepository(uow.session)
            stored = money.refund_by_key(idempotency_key)
            if stored is not None:
                return _replay(stored, digest, number.strip())
            rma, order = load_rma_and_order(uow, number, lock=True)
            stored = money.refund_by_key(idempotency_key)  # re-read under the order lock
            if stored is not None:
                return _replay(stored, digest, rma.number)
            expected = ReturnStatus.AUTHORIZED if returnless else ReturnStatus.INSPECTED
            if rma.status != expected:
                raise IllegalTransition(status=str(rma.status), action="refund", rma_number=rma.number)
            rule = _policy_of(uow_factory, rma, policy)
            quote, _, shipping = _quote(uow, rma, order, rule, returnless=returnless)
            result = _route(uow, order, quote, rule, resolution=res, rma_number=rma.number)
            return _write(uow, rma, order, result, quote, shipping, rule, key=idempotency_key, digest=digest,
                          actor=actor, at=at or datetime.now(UTC), returnless=returnless)
    return with_retries(attempt)


def accept_claim_lines(rma: ReturnAuthorization) -> None:
    """A claim settles without the goods: its pending lines are accepted as claimed (nothing received)."""
    if rma.channel != "claim":
        return
    for line in rma.lines:
        if line.acceptance_status == AcceptanceStatus.PENDING:
            line.acceptance_status = AcceptanceStatus.ACCEPTED


def _write(uow: UnitOfWork, rma: ReturnAuthorization, order: Order, result: RefundResult, quote: RefundQuote,
           shipping: list[int], policy: ReturnPolicy, *, key: str, digest: str, actor: str, at: datetime,
           returnless: bool) -> RefundResult:
    money = MoneyRepository(uow.session)
    before = len(rma.events)
    amounts = {l.id or 0: quote.allocations.get(l.order_line_id, ZERO) for l in rma.lines}
    if returnless:
        accept_claim_lines(rma)
    rma.settle(actor=actor, at=at, resolution=Resolution(result.resolution), amounts=amounts,
               reference=f"refund:{key}", refund_total=quote.total)
    breakdown = {
        "resolution": result.resolution, "returnless": returnless, "store_credit": str(result.store_credit),
        "units": {str(i.order_line_id): i.units for i in quote.lines if i.units},
        "allocations": {str(k): str(v) for k, v in quote.allocations.items()},
        "shipping_line_ids": shipping, "shipping": str(quote.shipping),
        "return_shipping_fee": str(quote.return_shipping_fee), "restocking_fees": str(quote.restocking_fees),
        "tax_refunded": str(quote.tax_refunded), "capped_by": str(quote.capped_by),
        "payments": [{"payment_id": p.payment_id, "method": p.method, "amount": str(p.amount)}
                     for p in result.payments]}
    refund_id = money.add_refund(order_id=order.id, rma_id=rma.id, idempotency_key=key, request_hash=digest,
                                 kind=result.resolution, currency=order.currency, amount=result.total,
                                 bonus=result.bonus, breakdown=breakdown, policy_version=policy.version,
                                 actor=actor, created_at=at)
    for part in result.payments:
        money.add_to_payment_refunded(part.payment_id, part.amount)
    if result.store_credit > 0:
        expires = at + timedelta(days=policy.store_credit_expiry_days) if policy.store_credit_expiry_days else None
        money.add_credit_entry(customer_id=order.customer_id, currency=order.currency, kind=CreditKind.ISSUED,
                               amount=result.store_credit, at=at, expires_at=expires, refund_id=refund_id,
                               reference=f"RMA {rma.number}")
    uow.session.flush()
    messages = [("rma.event", event_payload(rma, e)) for e in rma.events[before:]]
    messages.append(("refund.issued", {"type": "refund.issued", "occurred_at": at.isoformat(), "rma_number": rma.number,
                                       "order_number": order.order_number, "amount": str(result.total),
                                       "currency": order.currency, "idempotency_key": key, **breakdown}))
    uow.repo.add_outbox(messages, at=at)
    uow.commit()
    return RefundResult(**{**result.__dict__, "refund_id": refund_id, "idempotency_key": key,
                           "breakdown": breakdown})
