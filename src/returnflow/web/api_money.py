"""JSON API for money: policy, eligibility + refund preview of a draft return, refunds, store credit,
exchanges and claims. Handlers validate, call one service, and shape the answer; amounts are strings.

Every request that moves money needs an ``Idempotency-Key`` header: a retried or double-submitted
request gets the first answer again (header ``Idempotent-Replayed: true``); the same key with another body is
a 422 (``web/middleware.py``, docs/policy.md).
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Header, Query
from pydantic import ConfigDict, Field, StrictInt

from returnflow.bootstrap import Container
from returnflow.domain.policy import ReturnPolicy
from returnflow.services import claims, exchanges, policies, settlement, store_credit
from returnflow.services.access import ApiPrincipal
from returnflow.web.schemas import ApiIn
from returnflow.web.deps import ContainerDep, OptionalPrincipal, require, optional_principal

# Every API request that carries a staff key has it checked (401 when unknown), whatever the endpoint: the
# proof-guessing limit exempts only requests with a staff credential (web.middleware.ProofFailureRateLimit).
router = APIRouter(prefix="/api/v1", tags=["money"], dependencies=[Depends(optional_principal)])
Reader = Annotated[ApiPrincipal, require("read")]
Writer = Annotated[ApiPrincipal, require("returns:write")]
Refunder = Annotated[ApiPrincipal, require("refunds:write")]
Admin = Annotated[ApiPrincipal, require("admin")]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


def _policy(container: Container) -> ReturnPolicy:
    return container.active_policy()


def _money(value: Any) -> Any:
    """Decimals as strings, recursively (JSON has no exact decimal type)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _money(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_money(v) for v in value]
    return value


# -- policy ---------------------------------------------------------------------------------------
@router.get("/policy")
def get_policy(container: ContainerDep) -> dict[str, Any]:
    """The active return policy: version, TOML source, and the reasons a customer can choose."""
    policy = _policy(container)
    return {"version": policy.version, "source": policy.source, "window_days": policy.window_days,
            "window_counted_from": str(policy.window_starts),
            "reasons": [asdict(r) for r in policy.reasons]}


@router.get("/policy/versions")
def list_policy_versions(container: ContainerDep, _: Reader) -> list[dict[str, Any]]:
    """Staff: every stored policy version, oldest first; ``active`` marks the one new returns use (none: the
    policy file loaded at start)."""
    active = policies.active_version(container.uow)
    return [{"version": v.version, "created_at": v.created_at.isoformat() if v.created_at else None,
             "created_by": v.created_by, "active": v.version == active}
            for v in policies.list_policy_versions(container.uow)]


@router.put("/policy")
def put_policy(container: ContainerDep, principal: Admin,
               source: Annotated[str, Body(media_type="text/plain", max_length=200_000)]) -> dict[str, Any]:
    """Admin: store a new policy version and make it active (TOML body, format in docs/policy.md); 422 names a
    bad key, 409 a stored label with other rules. The text of a stored version makes it active again (rollback)."""
    stored = policies.put_policy(container.uow, source=source, actor=f"staff:{principal.name}")
    container.forget_active_policy()
    return {"version": stored.version, "active": True}


# -- draft return: eligibility and refund preview ------------------------------------------------
class DraftLineIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    order_line_id: int
    quantity: StrictInt = Field(..., ge=1, le=1_000_000)
    reason: str = Field(..., min_length=1, max_length=64)
    sub_reason: str = Field("", max_length=64)
    comment: str = Field("", max_length=2000)
    photos: int = Field(0, ge=0, le=50)
    conditions: list[str] = Field(default_factory=list, max_length=20)


class DraftReturnIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    order_number: str = Field(..., min_length=1, max_length=64)
    email: str = Field(..., min_length=1, max_length=254)
    lines: list[DraftLineIn] = Field(..., min_length=1, max_length=200)


@router.post("/returns/preview")
def preview_return(body: DraftReturnIn, container: ContainerDep, principal: OptionalPrincipal) -> dict[str, Any]:
    """Eligibility (eligible / needs_review / not_eligible, a reason per failed check, explanations) and
    the refund the customer would get if every unit comes back accepted. Stores nothing. As for a request,
    ``photos`` counts from staff keys only."""
    preview = policies.preview_draft_return(
        container.uow, order_number=body.order_number, proof=body.email, policy=_policy(container),
        staff=principal is not None,
        lines=[policies.DraftLine(order_line_id=l.order_line_id, quantity=l.quantity, reason=l.reason,
                                  sub_reason=l.sub_reason, comment=l.comment,
                                  photos=l.photos if principal is not None else 0,
                                  conditions=tuple(l.conditions)) for l in body.lines])
    d, q = preview.decision, preview.quote
    return _money({"eligibility": {"verdict": str(d.verdict), "reasons": d.eligibility.reasons},
                   "policy_version": d.policy_version, "explanations": d.explanations, "keep_items": d.keep_items,
                   "refund": _quote(q), "store_credit_alternative": q.total + preview.store_credit_bonus,
                   "store_credit_bonus": preview.store_credit_bonus})


def _quote(q: settlement.RefundQuote) -> dict[str, Any]:
    return {"currency": q.currency, "total": q.total, "shipping_refunded": q.shipping,
            "return_shipping_fee": q.return_shipping_fee, "restocking_fees": q.restocking_fees,
            "tax_refunded": q.tax_refunded, "capped_by": q.capped_by,
            "lines": [asdict(line) for line in q.lines]}


def _refund(r: settlement.RefundResult) -> dict[str, Any]:
    return _money({"rma_number": r.rma_number, "currency": r.currency, "total": r.total, "bonus": r.bonus,
                   "store_credit": r.store_credit, "resolution": r.resolution, "refund_id": r.refund_id,
                   "replayed": r.replayed, "payments": [asdict(p) for p in r.payments],
                   **({"quote": _quote(r.quote)} if r.quote else {})})


# -- refunds -------------------------------------------------------------------------------------
class RefundIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field("refund", pattern="^(refund|store_credit)$")
    returnless: bool = False


@router.get("/returns/{number}/refund-preview")
def refund_preview(number: str, container: ContainerDep, _: Reader,
                   resolution: Annotated[str, Query(pattern="^(refund|store_credit)$")] = "refund",
                   returnless: bool = False) -> dict[str, Any]:
    """Staff: the refund :func:`issue_refund` would give now (same calculation)."""
    return _refund(settlement.preview_refund(container.uow, number, policy=_policy(container),
                                             resolution=resolution, returnless=returnless))


@router.post("/returns/{number}/refunds", status_code=201)
def issue_refund(number: str, body: RefundIn, key: IdempotencyKey, container: ContainerDep,
                 principal: Refunder) -> dict[str, Any]:
    """Staff: refund (or credit) an inspected RMA, or an authorized one with ``returnless``."""
    return _refund(settlement.issue_refund(container.uow, number, idempotency_key=key,
                                           actor=f"staff:{principal.name}", policy=_policy(container),
                                           resolution=body.resolution, returnless=body.returnless))


# -- exchanges and claims ------------------------------------------------------------------------
class ExchangeIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    return_line_id: int
    new_sku: str = Field(..., min_length=1, max_length=64)
    quantity: StrictInt | None = Field(None, ge=1, le=1_000_000)
    instant: bool = False


@router.post("/returns/{number}/exchanges", status_code=201)
def request_exchange(number: str, body: ExchangeIn, key: IdempotencyKey, container: ContainerDep,
                     principal: Writer) -> dict[str, Any]:
    """Staff: exchange returned units for another variant or product; 409 when out of stock."""
    result = exchanges.request_exchange(container.uow, number, return_line_id=body.return_line_id,
                                        new_sku=body.new_sku, quantity=body.quantity, instant=body.instant,
                                        idempotency_key=key, actor=f"staff:{principal.name}",
                                        policy=_policy(container))
    out = asdict(result)
    out["hold_due_at"] = result.hold_due_at.isoformat() if result.hold_due_at else None
    return _money(out)


class ClaimIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    order_number: str = Field(..., min_length=1, max_length=64)
    email: str = Field(..., min_length=1, max_length=254)
    lines: dict[int, StrictInt] = Field(..., min_length=1, description="order line id -> units (JSON integers)")
    kind: str = Field(..., pattern="^(damaged|missing)$")
    remedy: str = Field(..., pattern="^(refund|store_credit|replacement)$")
    photos: int = Field(0, ge=0, le=50)
    comment: str = Field("", max_length=2000)


@router.post("/claims", status_code=201)
def file_claim(body: ClaimIn, key: IdempotencyKey, container: ContainerDep,
               principal: OptionalPrincipal) -> dict[str, Any]:
    """Customer or staff: a damaged or missing item, settled without a return when the policy approves.

    There is no photo upload for claims: ``photos`` counts only from staff (who saw them, e.g. in an email).
    From a customer it is taken as 0, so a reason that needs a photo sends the claim to review; the agent
    then authorizes it and settles it with the stored remedy (``POST /claims/{number}/settle``). A staff key
    needs the ``returns:write`` scope (403 otherwise)."""
    if principal is not None and not principal.allows("returns:write"):
        raise HTTPException(403, "the API key lacks the 'returns:write' scope")
    actor = f"staff:{principal.name}" if principal else None
    result = claims.file_claim(container.uow, order_number=body.order_number, proof=body.email, lines=body.lines,
                               kind=body.kind, remedy=body.remedy, idempotency_key=key, actor=actor,
                               policy=_policy(container), photos=body.photos if principal else 0,
                               comment=body.comment, staff=principal is not None)
    return _claim(result)


def _claim(result: claims.ClaimResult) -> dict[str, Any]:
    return _money({"rma_number": result.rma.number, "status": str(result.rma.status),
                   "remedy": result.rma.claim_remedy, "decision": result.rma.decision, "replayed": result.replayed,
                   "refund": _refund(result.refund) if result.refund else None,
                   "replacement_sku": result.replacement.new_sku if result.replacement else None})


@router.post("/claims/{number}/settle")
def settle_claim(number: str, key: IdempotencyKey, container: ContainerDep, principal: Refunder
                 ) -> dict[str, Any]:
    """Staff: settle a claim authorized after review with the remedy chosen when it was filed (409 while it
    is still in review or once settled)."""
    return _claim(claims.settle_reviewed_claim(container.uow, number, idempotency_key=key,
                                               actor=f"staff:{principal.name}", policy=_policy(container)))


class LateParcelIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    quantities: dict[int, int] = Field(..., min_length=1)
    return_center_code: str = Field(..., min_length=1, max_length=32)


@router.post("/returns/{number}/late-parcel")
def receive_late_parcel(number: str, body: LateParcelIn, container: ContainerDep, principal: Writer
                        ) -> dict[str, Any]:
    """Staff: receive and restock a parcel of an RMA settled without it (no refund)."""
    rma = claims.receive_late_parcel(container.uow, number, quantities=body.quantities,
                                     return_center_code=body.return_center_code, actor=f"staff:{principal.name}")
    return _money({"rma_number": rma.number, "status": str(rma.status), "refund_total": rma.refund_total})


# -- store credit --------------------------------------------------------------------------------
class CreditIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    amount: Decimal = Field(..., gt=0, max_digits=18, decimal_places=6)
    currency: str = Field(..., min_length=3, max_length=3)
    expires_in_days: int | None = Field(None, ge=1, le=36500)


@router.get("/customers/{customer_id}/store-credit")
def get_store_credit(customer_id: str, container: ContainerDep, _: Reader,
                     currency: Annotated[str, Query(min_length=3, max_length=3)]) -> dict[str, Any]:
    """Staff: the customer's store credit balance and ledger in ``currency``."""
    entries = store_credit.credit_ledger(container.uow, customer_id=customer_id, currency=currency)
    return _money({"customer_id": customer_id, "currency": currency.upper(),
                   "balance": store_credit.credit_balance(container.uow, customer_id=customer_id,
                                                          currency=currency),
                   "entries": [{"id": e.id, "kind": str(e.kind), "amount": e.amount,
                                "created_at": e.created_at.isoformat(),
                                "expires_at": e.expires_at.isoformat() if e.expires_at else None}
                               for e in entries]})


@router.post("/customers/{customer_id}/store-credit", status_code=201)
def issue_store_credit(customer_id: str, body: CreditIn, key: IdempotencyKey, container: ContainerDep,
                       _: Refunder) -> dict[str, Any]:
    """Staff: issue goodwill store credit (idempotent by key)."""
    result = store_credit.issue_credit(container.uow, customer_id=customer_id, currency=body.currency,
                                       amount=body.amount, idempotency_key=key,
                                       expires_in_days=body.expires_in_days)
    return _money(asdict(result))
