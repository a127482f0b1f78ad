"""Return use cases: request, authorize, reject, label, scan, receive, inspect, refund, cancel, close.

Each function opens one unit of work, locks what it changes (order before RMA), calls the domain,
writes the new audit events and their outbox messages in the same transaction, and commits. A domain
error propagates before ``commit()``, so a refused request changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.repository import event_payload
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.db.money_repository import MoneyRepository
from returnflow.domain import inspection, policy_terms
from returnflow.domain.errors import IllegalTransition, InvalidInput, NotEligible, NotFound, ProofRejected
from returnflow.domain.money import share_of_units
from returnflow.domain.orders import LineKind, Order, check_returnable
from returnflow.domain.policy import LineRequest, ReturnPolicy, Verdict
from returnflow.domain.policy_terms import CustomerFacts, RequestedUnits
from returnflow.domain.settlement import RefundItem, quote_line_units
from returnflow.domain.returns import ReturnAuthorization, ReturnLine
from returnflow.domain.routing import NoReturnCenterAvailable
from returnflow.domain.statuses import CarrierScan, Disposition, Grade, Resolution, ReturnStatus
from returnflow.services import staff as staff_service
from returnflow.services.routing import note_routed, route_for_customer

UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class RequestedLine:
    """One line of a return request: the order line (by id or SKU), units, reason, optional comment."""

    quantity: int
    reason: str
    order_line_id: int | None = None
    sku: str | None = None
    reason_detail: str = ""
    sub_reason: str = ""
    photos: int = 0
    conditions: tuple[str, ...] = ()


def _now() -> datetime:
    return datetime.now(UTC)


def verify_customer(order: Order, proof: str, repo_email: str | None, *, staff: bool = False) -> None:
    """The proof that the caller may act on ``order``: its email (the order's, or the customer's stored one; any
    case). Staff (an API key) may give the customer id instead; from the public it is no proof, because it is a
    short sequential number, easy to guess.

    Raises:
        NotFound: the proof does not match (the same words as an unknown order).
    """
    proof = (proof or "").strip().lower()
    accepted = {order.customer_email.lower(), (repo_email or "").lower()}
    if staff:
        accepted.add(order.customer_id.lower())
    accepted.discard("")
    if not proof or proof not in accepted:
        # Same words as an unknown order: the answer must not reveal which orders exist.
        raise ProofRejected("no order matches that order number and email")


def _finish(uow: UnitOfWork, rma: ReturnAuthorization, events_before: int) -> ReturnAuthorization:
    new = rma.events[events_before:]
    uow.session.flush()
    uow.repo.add_outbox([("rma.event", event_payload(rma, e)) for e in new], at=new[-1].occurred_at if new else _now())
    uow.commit()
    return rma


def find_order(uow_factory: UowFactory, *, order_number: str, proof: str, staff: bool = False
               ) -> tuple[Order, dict[int, int]]:
    """The order and, per order line id, units already on live returns. ``proof``: the order's email (or, with
    ``staff``, the customer id; see :func:`verify_customer`).

    Raises:
        NotFound: unknown order, or the proof does not match (same message for both).
    """
    with uow_factory() as uow:
        order = uow.repo.order_by_number(order_number.strip())
        if order is None:
            raise ProofRejected("no order matches that order number and email")
        verify_customer(order, proof, uow.repo.customer_email(order.customer_id), staff=staff)
        return order, uow.repo.returned_quantities(order.id or 0)


def request_return(uow_factory: UowFactory, *, order_number: str, proof: str, lines: list[RequestedLine],
                   actor: str | None, policy: ReturnPolicy, at: datetime | None = None, channel: str = "api",
                   auto_decide: bool = True, claim_remedy: str | None = None, staff: bool = False,
                   check_reasons: bool = True, claim_key: str | None = None) -> ReturnAuthorization:
    """Open an RMA for units of one order, then let the policy authorize it or send it to review.

    ``proof``: the order's email; with ``staff`` (an API key) the customer id too (:func:`verify_customer`).
    ``actor``: who asks, for the audit trail; None = the order's customer (``customer:<customer id>``).
    Reasons: a policy with ``[[reasons]]`` accepts only those (its own check); otherwise each line's reason must
    be an active code of the managed list (``services.staff.reason_codes``) unless ``check_reasons`` is off
    (claims, whose kind is the reason). ``claim_key``: a claim's idempotency key, stored unique on the RMA
    (a concurrent second claim with it fails with ``IntegrityError`` and stores nothing).

    Raises:
        NotFound: unknown order or wrong proof.
        InvalidInput / QuantityExceedsReturnable: unknown line, non-goods line, bad quantity.
        NotEligible: a hard policy check failed (reasons listed); nothing is stored.
    """
    at = at or _now()
    with uow_factory() as uow:
        # One round trip: the order (locked), its lines, and the customer's stored email and tier.
        order, customer_email, tier = uow.repo.order_with_customer(order_number.strip(), for_update=True)
        if order is None:
            raise ProofRejected("no order matches that order number and email")
        verify_customer(order, proof, customer_email, staff=staff)
        actor = actor or f"customer:{order.customer_id}"
        # One more round trip counts what the request needs: units already on returns and the customer's
        # recent returns (policy). Today's RMAs per return center come from routing's per-process count.
        returned, recent_returns = uow.repo.return_request_counts(
            order_id=order.id or 0, customer_id=order.customer_id,
            recent_since=at - timedelta(days=policy.review_repeat_days))
        by_id = {line.id: line for line in order.lines}
        rma_lines, asked = [], []
        seen: set[int] = set()
        for requested in lines:
            if requested.quantity is None or requested.quantity < 1:
                raise InvalidInput(f"quantity must be at least 1, got {requested.quantity}")
            if requested.order_line_id is not None:
                line = by_id.get(requested.order_line_id)
                if line is not None and requested.sku and requested.sku != line.sku:
                    raise InvalidInput(f"order line {requested.order_line_id} is {line.sku}, not {requested.sku}")
            else:
                matches = [l for l in order.lines if l.sku == requested.sku and l.kind == LineKind.GOODS]
                line = matches[0] if len(matches) == 1 else None
                if len(matches) > 1:
                    raise InvalidInput(f"SKU {requested.sku} is on several lines; name the order line id")
            if line is None:
                raise InvalidInput(f"order {order.order_number} has no line "
                                   f"{requested.order_line_id if requested.order_line_id is not None else requested.sku}")
            if (line.id or 0) in seen:
                raise InvalidInput(f"order line {line.id} ({line.sku}) is named more than once; "
                                   "give its units on one line")
            seen.add(line.id or 0)
            if not requested.reason or not requested.reason.strip():
                raise InvalidInput(f"a return reason is required for {line.sku}")
            if check_reasons:
                staff_service.check_reason(uow, policy, requested.reason, requested.sub_reason)
            already = returned.get(line.id or 0, 0)
            asked.append(RequestedUnits(line=line, units=requested.quantity, units_before=already, request=LineRequest(
                reason=requested.reason.strip(), sub_reason=requested.sub_reason, comment=requested.reason_detail,
                photos=requested.photos, conditions=tuple(requested.conditions), listed_only=check_reasons)))
            if line.kind == LineKind.GOODS:
                check_returnable(sku=line.sku, bought=line.quantity, already_returned=already,
                                 requested=requested.quantity)
            paid = share_of_units(order.line_paid_total(line), quantity=line.quantity, units_before=already,
                                  units=requested.quantity, currency=order.currency)
            # the sub-reason is kept with the line, in front of the customer's words
            detail = "; ".join(filter(None, [f"sub-reason: {requested.sub_reason.strip()}"
                                             if requested.sub_reason.strip() else "", requested.reason_detail.strip()]))
            rma_lines.append(ReturnLine(order_line_id=line.id or 0, sku=line.sku, description=line.description,
                                        quantity=requested.quantity, reason=requested.reason.strip(),
                                        reason_detail=detail, paid_amount=paid))
        money = MoneyRepository(uow.session)
        decision = policy_terms.decide(policy, order=order, items=asked, at=at, customer=CustomerFacts(
            tier=tier or "standard", recent_returns=recent_returns))
        verdict = decision.eligibility
        if verdict.verdict == Verdict.NOT_ELIGIBLE:  # the refusal names what refuses it, not what needs review
            refusing = verdict.hard_reasons or verdict.reasons
            raise NotEligible("; ".join(refusing), refusing)
        rma = ReturnAuthorization.request(number=uow.repo.next_rma_number(), order_id=order.id or 0,
                                          order_number=order.order_number, customer_id=order.customer_id,
                                          currency=order.currency, lines=rma_lines, actor=actor, at=at,
                                          channel=channel)
        rma.policy_version = policy.version
        rma.claim_remedy = claim_remedy
        rma.claim_key = claim_key  # unique: a second RMA for the same claim key cannot be stored
        money.remember_policy(version=policy.version, source=policy.source, at=at)
        rma.decision = decision.summary()
        try:
            route = route_for_customer(uow, country=order.country, at=at)
            rma.route_to(actor="system:routing", at=at, return_center_code=route.center_code, reason=route.reason)
            note_routed(uow, route.center_code, at)
        except NoReturnCenterAvailable as exc:
            rma.decision += f"; not routed: {exc}"
        if auto_decide:
            if verdict.verdict == Verdict.ELIGIBLE:
                rma.authorize(actor="system:policy", at=at, note="auto-approved by policy")
            else:
                rma.send_to_review(actor="system:policy", at=at, reasons=verdict.reasons)
        uow.repo.insert_new_rma(rma)
        return _finish(uow, rma, 0)


def _lock_order_of(uow: UnitOfWork, number: str) -> None:
    """Lock the order of RMA ``number`` first: the fixed lock order (order, then RMA) of every use case."""
    ra = t.return_authorizations.c
    uow.session.execute(select(t.orders.c.id).where(t.orders.c.id == select(ra.order_id).where(
        ra.number == number).scalar_subquery()).with_for_update())


def _act(uow_factory: UowFactory, number: str, action: Callable[[UnitOfWork, ReturnAuthorization], None],
         *, lock_order: bool = False) -> ReturnAuthorization:
    with uow_factory() as uow:
        if lock_order:
            _lock_order_of(uow, number.strip())
        rma = uow.repo.rma_by_number(number.strip(), for_update=True)
        if rma is None:
            raise NotFound(f"no return authorization {number}")
        before = len(rma.events)
        action(uow, rma)
        return _finish(uow, rma, before)


def get_rma(uow_factory: UowFactory, number: str) -> ReturnAuthorization:
    """The RMA with its lines and events. Raises ``NotFound``."""
    with uow_factory() as uow:
        rma = uow.repo.rma_by_number(number.strip())
        if rma is None:
            raise NotFound(f"no return authorization {number}")
        uow.session.expunge(rma)  # leaving without commit rolls back, which would expire a still-attached RMA
        return rma


def authorize(uow_factory: UowFactory, number: str, *, actor: str, note: str = "") -> ReturnAuthorization:
    return _act(uow_factory, number, lambda uow, rma: rma.authorize(actor=actor, at=_now(), note=note))


def reject(uow_factory: UowFactory, number: str, *, actor: str, reason: str) -> ReturnAuthorization:
    return _act(uow_factory, number, lambda uow, rma: rma.reject(actor=actor, at=_now(), reason=reason))


def cancel(uow_factory: UowFactory, number: str, *, actor: str, reason: str = "") -> ReturnAuthorization:
    return _act(uow_factory, number, lambda uow, rma: rma.cancel(actor=actor, at=_now(), reason=reason))


def close(uow_factory: UowFactory, number: str, *, actor: str) -> ReturnAuthorization:
    return _act(uow_factory, number, lambda uow, rma: rma.close(actor=actor, at=_now()))


def builtin_tracking_code(rma_number: str) -> str:
    """Deterministic tracking code of the built-in carrier: ``RF`` + 12 digits derived from the RMA number."""
    digest = int(hashlib.sha256(rma_number.encode()).hexdigest(), 16) % 10**12
    return f"RF{digest:012d}"


def issue_label(uow_factory: UowFactory, number: str, *, actor: str, return_center_code: str | None = None,
                carrier: str = "returnflow", tracking_code: str | None = None) -> ReturnAuthorization:
    """Record a label for the RMA (the built-in carrier makes its tracking code from the RMA number)."""
    def action(uow: UnitOfWork, rma: ReturnAuthorization) -> None:
        center = return_center_code or rma.return_center_code
        if center and not uow.repo.return_center_exists(center):
            raise InvalidInput(f"unknown return center {center}")
        rma.issue_label(actor=actor, at=_now(), carrier=carrier,
                        tracking_code=tracking_code or builtin_tracking_code(rma.number), return_center_code=center)
    return _act(uow_factory, number, action)


def record_scan(uow_factory: UowFactory, number: str, *, scan: str, actor: str, location: str = "",
                at: datetime | None = None) -> ReturnAuthorization:
    try:
        scan_value = CarrierScan(scan)
    except ValueError:
        raise InvalidInput(f"unknown carrier scan {scan!r}; use one of {[s.value for s in CarrierScan]}") from None
    at = check_scan_time(at)
    return _act(uow_factory, number, lambda uow, rma: rma.record_scan(actor=actor, at=at, scan=scan_value,
                                                                      location=location))


#: A carrier clock may run a little ahead of ours; a scan further in the future is a mistake.
SCAN_CLOCK_SKEW = timedelta(hours=1)


def check_scan_time(at: datetime | None) -> datetime:
    """``at`` (default now, UTC) if it is not in the future. Raises ``InvalidInput`` naming the time."""
    now = _now()
    if at is None:
        return now
    if at > now + SCAN_CLOCK_SKEW:
        raise InvalidInput(f"scan time {at.isoformat()} is in the future")
    return at


def receive_parcel(uow: UnitOfWork, rma: ReturnAuthorization, *, quantities: dict[int, int],
                   return_center_code: str, actor: str, complete: bool = True, at: datetime | None = None) -> None:
    """The body of ``receive`` inside the caller's unit of work (3PL receipts combine it with inspection)."""
    if not uow.repo.return_center_exists(return_center_code):
        raise InvalidInput(f"unknown return center {return_center_code}")
    rma.receive(actor=actor, at=at or _now(), quantities=quantities, return_center_code=return_center_code,
                complete=complete)


def receive(uow_factory: UowFactory, number: str, *, quantities: dict[int, int], return_center_code: str,
            actor: str, complete: bool = True) -> ReturnAuthorization:
    """Count the units of a parcel at ``return_center_code``. Raises ``InvalidInput`` for an unknown center."""
    return _act(uow_factory, number, lambda uow, rma: receive_parcel(
        uow, rma, quantities=quantities, return_center_code=return_center_code, actor=actor, complete=complete))


def choose_disposition(grade: str, disposition: str | None, note: str,
                       rules: tuple[inspection.DispositionRule, ...] = inspection.DEFAULT_DISPOSITION_RULES
                       ) -> tuple[Grade, Disposition]:
    """Validate a grade and the chosen disposition (default: the rule table's proposal).

    Raises:
        InvalidInput: unknown grade or disposition; an override without a note.
    """
    try:
        grade_value = Grade(grade)
    except ValueError:
        raise InvalidInput(f"unknown grade {grade!r}; use one of A, B, C, D") from None
    proposed = inspection.propose_disposition(grade_value, rules=rules)
    try:
        chosen = Disposition(disposition) if disposition else proposed
    except ValueError:
        raise InvalidInput(f"unknown disposition {disposition!r}") from None
    if chosen != proposed and not note.strip():
        raise InvalidInput(f"overriding the proposed disposition '{proposed}' with '{chosen}' needs a reason")
    return grade_value, chosen


def grade_line(uow: UnitOfWork, rma: ReturnAuthorization, *, line_id: int, grade: Grade, disposition: Disposition,
               actor: str, accept: bool = True, note: str = "", at: datetime | None = None) -> None:
    """The body of ``inspect_line`` inside the caller's unit of work: inspect, and post a restock movement."""
    line = rma.line(line_id)
    already = line.inspected
    rma.inspect(actor=actor, at=at or _now(), line_id=line_id, grade=grade, disposition=disposition,
                accept=accept, note=note)
    if line.restock and not already and rma.return_center_code:
        uow.repo.add_stock_movement(sku=line.sku, location_code=rma.return_center_code,
                                    quantity=line.quantity_received, reason="return_restock",
                                    rma_number=rma.number, at=at or _now())


def inspect_line(uow_factory: UowFactory, number: str, *, line_id: int, grade: str, actor: str,
                 disposition: str | None = None, accept: bool = True, note: str = "",
                 rules: tuple[inspection.DispositionRule, ...] = inspection.DEFAULT_DISPOSITION_RULES
                 ) -> ReturnAuthorization:
    """Grade one line; the disposition defaults to the rule table's proposal. A restock posts a stock
    movement of the received units at the return center that received the parcel.

    Raises:
        InvalidInput: unknown grade or disposition; an override without a note.
    """
    grade_value, chosen = choose_disposition(grade, disposition, note, rules)
    return _act(uow_factory, number, lambda uow, rma: grade_line(
        uow, rma, line_id=line_id, grade=grade_value, disposition=chosen, actor=actor, accept=accept, note=note))


def refund(uow_factory: UowFactory, number: str, *, actor: str, resolution: str = "refund",
           reference: str = "", policy: ReturnPolicy | None = None) -> ReturnAuthorization:
    """Settle an inspected RMA: refund (or credit) the received and accepted units, never more than was
    paid for them (cumulative rounding per order line, see ``domain.money.share_of_units``).

    ``refund`` and ``store_credit`` go through ``services.settlement.issue_refund`` (the one calculator,
    payments, store credit ledger; key ``<number>:settle``) with the policy version recorded on the RMA
    (``policy``: the fallback, default no fees). ``exchange`` settles with the amounts only. Units given in
    exchange are worth nothing back; an RMA whose every unit was exchanged is settled as ``exchange``
    with no money, whatever resolution was asked.
    Raises:
        IllegalTransition: not inspected, or already settled (a retry never refunds twice).
    """
    try:
        resolution_value = Resolution(resolution)
    except ValueError:
        raise InvalidInput(f"unknown resolution {resolution!r}") from None
    if resolution_value in (Resolution.REFUND, Resolution.STORE_CREDIT):
        from returnflow.services.settlement import issue_refund

        current = get_rma(uow_factory, number)
        if current.status != ReturnStatus.INSPECTED:
            raise IllegalTransition(status=str(current.status), action="settle", rma_number=current.number)
        with uow_factory() as uow:
            exchanged = MoneyRepository(uow.session).exchanged_units(current.id or 0)
        if all(exchanged.get(l.id or 0, 0) >= l.quantity for l in current.lines):
            # Every unit was given in exchange: nothing is paid back (the exchange records the price
            # difference), the RMA is settled as an exchange.
            return refund(uow_factory, number, actor=actor, resolution=str(Resolution.EXCHANGE),
                          reference=reference or "exchanged", policy=policy)
        result = issue_refund(uow_factory, number, idempotency_key=f"{current.number}:settle", actor=actor,
                              policy=policy or ReturnPolicy(), resolution=str(resolution_value))
        if result.replayed:
            # Another request settled this RMA between our status check and the lock: this one is a
            # second settlement attempt, not a retry of the first (retries replay at the HTTP layer).
            raise IllegalTransition(status=str(ReturnStatus.SETTLED), action="settle", rma_number=current.number)
        return get_rma(uow_factory, number)

    def action(uow: UnitOfWork, rma: ReturnAuthorization) -> None:
        # Refunds pay for inspected units only: from any other status (including 'authorized', where the
        # domain allows a keep-it settlement) a refund is illegal, and checked before the amounts are quoted.
        if rma.status != ReturnStatus.INSPECTED:
            raise IllegalTransition(status=str(rma.status), action="refund", rma_number=rma.number)
        order = uow.repo.order(rma.order_id)
        assert order is not None
        exchanged = MoneyRepository(uow.session).exchanged_units(rma.id or 0)
        amounts = refund_amounts(rma, order, uow.repo.refunded_units(rma.order_id), exchanged)
        rma.settle(actor=actor, at=_now(), resolution=resolution_value, amounts=amounts, reference=reference)
    # Units already refunded on the order's other RMAs feed the rounding: lock the order so two RMAs of one
    # order cannot settle from the same stale count.
    return _act(uow_factory, number, action, lock_order=True)


def refund_amounts(rma: ReturnAuthorization, order: Order, refunded_units: dict[int, int],
                   exchanged: dict[int, int] | None = None) -> dict[int, Decimal]:
    """Return line id -> amount for the received and accepted units of ``rma``, less units given in
    exchange (``exchanged``: return line id -> units; they are worth nothing back).

    ``refunded_units`` (order line id -> units already settled on other RMAs) is updated in place, so a
    caller settling many RMAs of one order in a row can pass the same dict.
    """
    amounts: dict[int, Decimal] = {}
    for line in rma.lines:
        taken = (exchanged or {}).get(line.id or 0, 0)
        units = max(min(line.quantity_accepted - taken, line.quantity - taken), 0)
        before = refunded_units.get(line.order_line_id, 0)
        quote = quote_line_units(order, RefundItem(order_line_id=line.order_line_id, units=units, units_before=before))
        amounts[line.id or 0] = min(quote.amount, line.paid_amount)
        refunded_units[line.order_line_id] = before + units
    return amounts
