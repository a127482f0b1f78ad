"""JSON API for returns: customers create and read their own; staff act on them with scoped API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime

from returnflow.adapters.db.repository import RmaFilter
from returnflow.domain.errors import InvalidInput, NotFound, ProofRejected
from returnflow.domain.statuses import ReturnStatus
from returnflow.adapters.carriers.base import CarrierUnavailable
from returnflow.services import logistics, returns as svc, staff
from returnflow.services.access import ApiPrincipal
from returnflow.web import schemas as s
from returnflow.web.deps import ContainerDep, OptionalPrincipal, require, optional_principal

# Every API request that carries a staff key has it checked (401 when unknown), whatever the endpoint: the
# proof-guessing limit exempts only requests with a staff credential (web.middleware.ProofFailureRateLimit).
router = APIRouter(prefix="/api/v1", tags=["returns"], dependencies=[Depends(optional_principal)])
Writer = Annotated[ApiPrincipal, require("returns:write")]
Refunder = Annotated[ApiPrincipal, require("refunds:write")]
Reader = Annotated[ApiPrincipal, require("read")]


@router.get("/orders/{order_number}")
def get_order(order_number: str, container: ContainerDep, email: Annotated[str, Query(max_length=254)]
              ) -> dict[str, Any]:
    """An order with, per goods line, the units that can still be returned (customer proof: email)."""
    order, returned = svc.find_order(container.uow, order_number=order_number, proof=email)
    return {"order_number": order.order_number, "placed_at": order.placed_at.isoformat(), "currency": order.currency,
            "country": order.country,
            "lines": [{"id": l.id, "sku": l.sku, "description": l.description, "quantity": l.quantity,
                       "unit_price": str(l.unit_price), "kind": str(l.kind),
                       "returnable_quantity": max(l.quantity - returned.get(l.id or 0, 0), 0)
                       if str(l.kind) == "goods" else 0} for l in order.lines]}


@router.get("/reasons")
def list_return_reasons(container: ContainerDep) -> dict[str, Any]:
    """The return reasons a request may give now: the active policy's ``[[reasons]]`` when it has any, else the
    managed list (``/ops/admin``). Sub-reasons carry their ``parent_code``; either code is accepted."""
    policy = container.active_policy()
    with container.uow() as uow:
        reasons = staff.offered_reasons(uow, policy)
    return {"source": "policy" if policy.reasons else "managed list", "policy_version": policy.version,
            "reasons": [{"code": r.code, "label": r.label, "parent_code": r.parent_code} for r in reasons]}


@router.post("/returns", status_code=201)
def create_return(body: s.ReturnRequestIn, container: ContainerDep, principal: OptionalPrincipal) -> dict[str, Any]:
    """Request a return: the policy authorizes it, sends it to review, or refuses it (422 with reasons).

    A customer proves the order with its email; the customer id is accepted as proof only from staff (it is a
    short sequential number, easy to guess).
    """
    if principal is not None and not principal.allows("returns:write"):
        raise HTTPException(403, "the API key lacks the 'returns:write' scope")
    if principal is None and body.customer_id:
        raise InvalidInput("customer_id is accepted from staff (an API key) only; give the order's email")
    if not (body.email or body.customer_id):
        raise InvalidInput("give the order's email to prove it is your order")
    # a customer is recorded as the order's customer (what the proof established), never as a claimed field
    actor = f"staff:{principal.name}" if principal else None
    rma = svc.request_return(
        container.uow, order_number=body.order_number, proof=body.email or body.customer_id or "",
        lines=[svc.RequestedLine(order_line_id=l.order_line_id, sku=l.sku, quantity=l.quantity, reason=l.reason,
                                 reason_detail=l.comment, sub_reason=l.sub_reason, conditions=tuple(l.conditions),
                                 photos=l.photos if principal is not None else 0) for l in body.lines],
        actor=actor, policy=container.active_policy(), channel="api", staff=principal is not None)
    return s.rma_out(rma)


@router.get("/returns")
def list_returns(container: ContainerDep, _: Reader, status: str | None = None, customer_id: str | None = None,
                 order_number: str | None = None, sku: str | None = None, return_center: str | None = None,
                 q: Annotated[str | None, Query(max_length=64)] = None,
                 requested_from: AwareDatetime | None = None, requested_to: AwareDatetime | None = None,
                 page: Annotated[int, Query(ge=1, le=100000)] = 1,
                 page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Staff: RMAs newest first, filtered, paginated. An unknown status is refused (422)."""
    if status is not None and status not in {str(v) for v in ReturnStatus}:
        raise InvalidInput(f"unknown status {status!r}; use one of {', '.join(str(v) for v in ReturnStatus)}")
    f = RmaFilter(status=status, customer_id=customer_id, order_number=order_number, sku=sku,
                  return_center_code=return_center, query=q, requested_from=requested_from,
                  requested_to=requested_to)
    with container.uow() as uow:
        total, items = uow.repo.list_rmas(f, offset=(page - 1) * page_size, limit=page_size)
        return {"total": total, "page": page, "page_size": page_size,
                "items": [s.rma_out(r, with_events=False) for r in items]}


@router.get("/returns/{number}")
def get_return(number: str, container: ContainerDep, principal: OptionalPrincipal,
               email: Annotated[str | None, Query(max_length=254)] = None) -> dict[str, Any]:
    """An RMA with lines and audit trail: staff with the read scope, or its customer (email)."""
    if principal is None:
        return s.rma_out(customer_rma(container, number, email))
    if not principal.allows("read"):
        raise HTTPException(403, "the API key lacks the 'read' scope")
    return s.rma_out(svc.get_rma(container.uow, number))


def customer_rma(container: Any, number: str, email: str | None) -> Any:
    """The RMA ``number`` for a customer who proves it with the order's email. An unknown number and a wrong
    email get the same 404 (``ProofRejected``: RMA numbers cannot be probed, and guesses are counted)."""
    try:
        rma = svc.get_rma(container.uow, number)
    except NotFound:
        raise ProofRejected(f"no return authorization {number}") from None
    with container.uow() as uow:
        order = uow.repo.order(rma.order_id)
    if not email or order is None or email.strip().lower() != order.customer_email.lower():
        raise ProofRejected(f"no return authorization {number}")
    return rma


@router.post("/returns/{number}/authorize")
def authorize(number: str, body: s.NoteIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    return s.rma_out(svc.authorize(container.uow, number, actor=f"staff:{p.name}", note=body.note))


@router.post("/returns/{number}/reject")
def reject(number: str, body: s.ReasonIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    return s.rma_out(svc.reject(container.uow, number, actor=f"staff:{p.name}", reason=body.reason))


@router.post("/returns/{number}/cancel")
def cancel(number: str, body: s.NoteIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    return s.rma_out(svc.cancel(container.uow, number, actor=f"staff:{p.name}", reason=body.note))


@router.post("/returns/{number}/close")
def close(number: str, container: ContainerDep, p: Writer) -> dict[str, Any]:
    return s.rma_out(svc.close(container.uow, number, actor=f"staff:{p.name}"))


@router.post("/returns/{number}/label")
def issue_label(number: str, body: s.LabelIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    """Buy the return label with the configured carrier and store it (again: the same label)."""
    try:
        logistics.issue_label(container.uow, number, carrier=container.carrier, actor=f"staff:{p.name}",
                              return_center_code=body.return_center_code)
    except CarrierUnavailable as error:
        raise HTTPException(503, f"the carrier is unavailable, try again later: {error.message}") from error
    return s.rma_out(svc.get_rma(container.uow, number))


@router.post("/returns/{number}/scans")
def record_scan(number: str, body: s.ScanIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    return s.rma_out(svc.record_scan(container.uow, number, scan=body.scan, actor=f"staff:{p.name}",
                                     location=body.location, at=body.occurred_at))


@router.post("/returns/{number}/receive")
def receive(number: str, body: s.ReceiveIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    return s.rma_out(svc.receive(container.uow, number, quantities=body.quantities,
                                 return_center_code=body.return_center_code, actor=f"staff:{p.name}",
                                 complete=body.complete))


@router.post("/returns/{number}/inspect")
def inspect(number: str, body: s.InspectIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    return s.rma_out(svc.inspect_line(container.uow, number, line_id=body.line_id, grade=body.grade,
                                      disposition=body.disposition, accept=body.accept, note=body.note,
                                      actor=f"staff:{p.name}"))


@router.post("/returns/{number}/refund")
def refund(number: str, body: s.RefundIn, container: ContainerDep, p: Refunder) -> dict[str, Any]:
    return s.rma_out(svc.refund(container.uow, number, actor=f"staff:{p.name}", resolution=body.resolution,
                                reference=body.reference, policy=container.active_policy()))
