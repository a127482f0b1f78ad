"""Claims: a damaged or missing item is settled with a refund, store credit or a replacement, without
the goods coming back; a parcel that still turns up later is received and restocked, with no refund.

A claim is an RMA (channel ``claim``, reason ``damaged`` or ``missing``) that goes through the same
policy (a damage claim without a photo goes to review) and the same refund calculator (``returnless``:
the units asked for are refunded, no return shipping fee). A replacement reserves the same SKU like an
exchange and settles the RMA with resolution ``exchange`` and no money.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.money_repository import MoneyRepository
from returnflow.adapters.db.repository import event_payload
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import DomainError, IllegalTransition, InvalidInput, ProofRejected
from returnflow.domain.policy import ReturnPolicy
from returnflow.domain.returns import ReturnAuthorization
from returnflow.domain.statuses import Resolution, ReturnStatus
from returnflow.services import returns
from returnflow.services.exchanges import ExchangeResult, request_exchange
from returnflow.services.settlement import RefundResult, accept_claim_lines, issue_refund, load_rma_and_order

UowFactory = Callable[[], UnitOfWork]
CLAIM_KINDS = ("damaged", "missing")
REMEDIES = ("refund", "store_credit", "replacement")


@dataclass(frozen=True)
class ClaimResult:
    """The claim's RMA and, once approved, its ``refund`` or ``replacement``; ``replayed`` for a retry."""

    rma: ReturnAuthorization
    refund: RefundResult | None = None
    replacement: ExchangeResult | None = None
    replayed: bool = False


def file_claim(uow_factory: UowFactory, *, order_number: str, proof: str, lines: dict[int, int], kind: str,
               remedy: str, idempotency_key: str, actor: str | None, policy: ReturnPolicy, photos: int = 0,
               comment: str = "", at: datetime | None = None, staff: bool = False) -> ClaimResult:
    """File a claim for ``lines`` (order line id -> units) and settle it at once if the policy approves.

    The chosen ``remedy`` is stored on the RMA (``claim_remedy``). A claim sent to review (e.g. no photo of
    the damage) returns with the RMA ``in_review``; an agent authorizes it and settles it with that remedy
    (:func:`settle_reviewed_claim`, ``POST /api/v1/claims/{number}/settle``). Retrying with the same
    ``idempotency_key`` returns the first claim's settlement, to a caller who proves the same order again
    (a key used for anything else, or for another order, is refused: a key never reveals another's RMA).

    ``photos`` is what the caller says was attached; there is no photo upload for claims, so the API
    counts it only from staff callers (a public caller's count is taken as 0: a claim needing a photo
    goes to review).
    Raises:
        InvalidInput: unknown kind or remedy; NotEligible / QuantityExceedsReturnable as for a return.
        OutOfStock: a replacement with no stock (the claim RMA is then left authorized, unsettled).
    """
    if kind not in CLAIM_KINDS or remedy not in REMEDIES:
        raise InvalidInput(f"a claim is {' or '.join(CLAIM_KINDS)}, settled by {', '.join(REMEDIES)}")
    same = {"lines": lines, "kind": kind, "remedy": remedy}
    replay = _replay(uow_factory, idempotency_key, order_number=order_number, proof=proof, staff=staff, same=same)
    if replay is not None:
        return replay
    if remedy == "replacement":
        _check_replacements(uow_factory, order_number=order_number, proof=proof, staff=staff, lines=lines)
    try:
        rma = returns.request_return(
            uow_factory, order_number=order_number, proof=proof, actor=actor, policy=policy,
            check_reasons=False, staff=staff,  # the claim's kind (damaged, missing) is its reason
            at=at, channel="claim", claim_remedy=remedy, claim_key=idempotency_key,
            lines=[returns.RequestedLine(quantity=q, reason=kind, order_line_id=i, reason_detail=comment,
                                         photos=photos) for i, q in lines.items()])
    except (IntegrityError, DomainError):
        # The same key filed concurrently: the other request's RMA holds the key (unique), or took the units
        # first (this one then finds nothing left to claim); answer with the first claim. Otherwise re-raise.
        replay = _replay(uow_factory, idempotency_key, order_number=order_number, proof=proof, staff=staff,
                         same=same)
        if replay is None:
            raise
        return replay
    if rma.status != ReturnStatus.AUTHORIZED:
        return ClaimResult(rma=rma)
    return settle_claim(uow_factory, rma.number, remedy=remedy, idempotency_key=idempotency_key,
                        actor=actor or f"customer:{rma.customer_id}", policy=policy)


def _replay(uow_factory: UowFactory, key: str, *, order_number: str, proof: str, staff: bool,
            same: dict[str, Any]) -> ClaimResult | None:
    """The claim first filed with ``key`` (its RMA, or a refund or exchange settled under the key), answered
    again to a caller who proves the same order and asks the same (``same``: lines, kind, remedy); None when
    the key is new.

    Raises:
        ProofRejected: unknown order or wrong proof (checked first: a key tells nothing to a stranger).
        InvalidInput: the key was used for another order, for something that is not a claim, or for a claim
        of other lines, kind or remedy.
    """
    ra = t.return_authorizations.c
    with uow_factory() as uow:
        rma_id = uow.session.execute(select(ra.id).where(ra.claim_key == key)).scalar()
        if rma_id is None:
            stored = MoneyRepository(uow.session).refund_by_key(key)
            rma_id = stored.rma_id if stored else uow.session.execute(
                select(t.exchanges.c.rma_id).where(t.exchanges.c.idempotency_key == key)).scalar()
        if rma_id is None:
            return None
        order = uow.repo.order_by_number(order_number.strip())
        if order is None:
            raise ProofRejected("no order matches that order number and email")
        returns.verify_customer(order, proof, uow.repo.customer_email(order.customer_id), staff=staff)
        prior = uow.session.execute(select(ra.number, ra.channel, ra.order_id).where(ra.id == rma_id)).one()
        if prior.order_id != order.id or prior.channel != "claim":
            raise InvalidInput("this Idempotency-Key was already used for another request; use a new key")
    rma = returns.get_rma(uow_factory, prior.number)
    asked = ({int(k): int(v) for k, v in same["lines"].items()}, same["kind"], same["remedy"])
    first = ({l.order_line_id: l.quantity for l in rma.lines}, rma.lines[0].reason if rma.lines else "",
             rma.claim_remedy)
    if asked != first:
        raise InvalidInput("this Idempotency-Key was already used for a different claim; use a new key")
    return ClaimResult(rma=rma, replayed=True)


def _check_replacements(uow_factory: UowFactory, *, order_number: str, proof: str, staff: bool,
                        lines: dict[int, int]) -> None:
    """Before a replacement claim opens an RMA: each claimed item is in the catalogue with enough stock
    (``services.exchanges`` reserves it at settlement; stock taken in between still leaves the claim
    authorized, unsettled).

    Raises:
        ProofRejected: unknown order or wrong proof. InvalidInput: an item not in the catalogue, or a line that
        is not on the order. OutOfStock: not enough units in stock.
    """
    from returnflow.services.exchanges import OutOfStock

    with uow_factory() as uow:
        order = uow.repo.order_by_number(order_number.strip())
        if order is None:
            raise ProofRejected("no order matches that order number and email")
        returns.verify_customer(order, proof, uow.repo.customer_email(order.customer_id), staff=staff)
        by_id = {line.id: line for line in order.lines}
        for line_id, units in lines.items():
            line = by_id.get(line_id)
            if line is None:
                raise InvalidInput(f"order {order.order_number} has no line {line_id}")
            if uow.session.execute(select(t.products.c.sku).where(t.products.c.sku == line.sku)).first() is None:
                raise InvalidInput(f"{line.sku} is not in the product catalogue, so it cannot be replaced; "
                                   "choose a refund or store credit")
            in_stock = uow.repo.stock_total(line.sku)
            if in_stock < units:
                raise OutOfStock(f"{line.sku} is out of stock ({units} unit(s) needed, {in_stock} in stock); "
                                 "choose a refund or store credit")


def settle_reviewed_claim(uow_factory: UowFactory, number: str, *, idempotency_key: str, actor: str,
                          policy: ReturnPolicy) -> ClaimResult:
    """Settle a claim an agent authorized after review, with the remedy the customer chose when filing it.

    A retry with the same key returns the first settlement.
    Raises:
        NotFound: unknown RMA. InvalidInput: the RMA is not a claim, or has no stored remedy (filed
        before remedies were stored: settle it with :func:`settle_claim`). IllegalTransition: not
        authorized (still in review, rejected) or already settled by another request. OutOfStock:
        a replacement without stock (nothing changes; the claim stays authorized).
    """
    rma = returns.get_rma(uow_factory, number)
    if rma.channel != "claim":
        raise InvalidInput(f"{rma.number} is a return, not a claim; settle it as a return")
    if rma.claim_remedy not in REMEDIES:
        raise InvalidInput(f"claim {rma.number} has no stored remedy; settle it naming the remedy")
    result = settle_claim(uow_factory, rma.number, remedy=rma.claim_remedy, idempotency_key=idempotency_key,
                          actor=actor, policy=policy, require_authorized=True)
    return result


def settle_claim(uow_factory: UowFactory, number: str, *, remedy: str, idempotency_key: str, actor: str,
                 policy: ReturnPolicy, require_authorized: bool = False) -> ClaimResult:
    """Settle an authorized claim RMA with ``remedy`` (refund, store_credit, replacement); its lines are
    accepted (the goods are not coming back)."""
    if remedy in ("refund", "store_credit"):
        refund = issue_refund(uow_factory, number, idempotency_key=idempotency_key, actor=actor, policy=policy,
                              resolution=remedy, returnless=True)
        return ClaimResult(rma=returns.get_rma(uow_factory, number), refund=refund, replayed=refund.replayed)
    if remedy != "replacement":
        raise InvalidInput(f"unknown remedy {remedy!r}")
    rma = returns.get_rma(uow_factory, number)
    if require_authorized and rma.status != ReturnStatus.AUTHORIZED:
        with uow_factory() as uow:  # a retry of a settled replacement: its exchange rows carry the key
            done = uow.session.execute(select(t.exchanges.c.id).where(t.exchanges.c.rma_id == rma.id).where(
                t.exchanges.c.idempotency_key.in_([idempotency_key] + [f"{idempotency_key}:{l.id}"
                                                                       for l in rma.lines]))).first()
        if done is None:
            raise IllegalTransition(status=str(rma.status), action="settle", rma_number=rma.number)
    replacement = None
    for line in rma.lines:  # one line per claim in practice; a key per line keeps retries idempotent
        key = idempotency_key if len(rma.lines) == 1 else f"{idempotency_key}:{line.id}"
        replacement = request_exchange(uow_factory, number, return_line_id=line.id or 0, new_sku=line.sku,
                                       idempotency_key=key, actor=actor, policy=policy)
    with uow_factory() as uow:
        rma, _ = load_rma_and_order(uow, number, lock=True)
        if rma.status == ReturnStatus.AUTHORIZED:
            before = len(rma.events)
            accept_claim_lines(rma)
            rma.settle(actor=actor, at=datetime.now(UTC), resolution=Resolution.EXCHANGE,
                       amounts={l.id or 0: Decimal(0) for l in rma.lines}, reference=f"replacement:{idempotency_key}")
            uow.session.flush()
            uow.repo.add_outbox([("rma.event", event_payload(rma, e)) for e in rma.events[before:]],
                                at=rma.events[-1].occurred_at)
            uow.commit()
    return ClaimResult(rma=returns.get_rma(uow_factory, number), replacement=replacement)


def receive_late_parcel(uow_factory: UowFactory, number: str, *, quantities: dict[int, int],
                        return_center_code: str, actor: str, restock: bool = True) -> ReturnAuthorization:
    """Receive a parcel for an RMA already settled without it; restock the units, refund nothing.

    Raises: NotFound (RMA), InvalidInput (center, counts), IllegalTransition (RMA not settled).
    """
    at = datetime.now(UTC)
    with uow_factory() as uow:
        rma, _ = load_rma_and_order(uow, number, lock=True)
        if not uow.repo.return_center_exists(return_center_code):
            raise InvalidInput(f"unknown return center {return_center_code}")
        before = len(rma.events)
        rma.receive_late(actor=actor, at=at, quantities=quantities, return_center_code=return_center_code)
        if restock:
            uow.session.execute(insert(t.stock_movements), [
                {"sku": rma.line(line_id).sku, "location_code": return_center_code, "quantity": units,
                 "reason": "late_parcel_restock", "rma_number": rma.number, "occurred_at": at}
                for line_id, units in quantities.items()])
        uow.session.flush()
        uow.repo.add_outbox([("rma.event", event_payload(rma, e)) for e in rma.events[before:]], at=at)
        uow.commit()
        return rma
