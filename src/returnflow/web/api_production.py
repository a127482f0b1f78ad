"""JSON API for production mode: customer tokens, webhook subscriptions (admin), dead messages (admin)."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Header
from pydantic import ConfigDict, Field

from returnflow.bootstrap import Container
from returnflow.domain.errors import NotFound, ProofRejected
from returnflow.services import customer_tokens, webhooks
from returnflow.services import returns as svc
from returnflow.services.access import ApiPrincipal
from returnflow.web import schemas as s
from returnflow.web.deps import ContainerDep, require, optional_principal

# Every API request that carries a staff key has it checked (401 when unknown), whatever the endpoint: the
# proof-guessing limit exempts only requests with a staff credential (web.middleware.ProofFailureRateLimit).
router = APIRouter(prefix="/api/v1", tags=["production"], dependencies=[Depends(optional_principal)])
Admin = Annotated[ApiPrincipal, require("admin")]
log = logging.getLogger("returnflow.web")


class TokenIn(s.ApiIn):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(..., min_length=3, max_length=254)


class SubscriptionIn(s.ApiIn):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(..., min_length=8, max_length=2048)
    event_types: list[str] = Field(default_factory=list, description="[] = every event type")


class RetryIn(s.ApiIn):
    model_config = ConfigDict(extra="forbid")
    ids: list[int] | None = Field(None, description="dead message ids; omitted = every dead message")


def _secret(container: Container) -> str:
    if not container.settings.secret_key:
        log.warning("RETURNFLOW_SECRET_KEY is not set: customer tokens use a per-process random key")
        container.settings.secret_key = secrets.token_urlsafe(32)
    return container.settings.secret_key


def _token_order(container: Container, token: str | None) -> str:
    if not token:
        raise HTTPException(401, "this action needs an X-Customer-Token header")
    try:
        return customer_tokens.order_of(token, secret_key=_secret(container),
                                        max_age=container.settings.production.customer_token_seconds)
    except customer_tokens.TokenInvalid as exc:
        raise HTTPException(401, exc.detail) from None


CustomerToken = Annotated[str | None, Header(alias="X-Customer-Token")]


@router.post("/orders/{order_number}/token", status_code=201)
def issue_customer_token(order_number: str, body: TokenIn, container: ContainerDep) -> dict[str, Any]:
    """A token that opens this one order and its returns, for ``customer_token_seconds`` (proof: email)."""
    order, token = customer_tokens.issue(container.uow, order_number=order_number, proof=body.email,
                                         secret_key=_secret(container))
    return {"token": token, "order_number": order.order_number,
            "expires_in": container.settings.production.customer_token_seconds}


@router.get("/customer/returns/{number}")
def customer_return(number: str, container: ContainerDep, token: CustomerToken = None) -> dict[str, Any]:
    """The customer's RMA; 403 when it belongs to another order than the token's."""
    order_number = _token_order(container, token)
    rma = svc.get_rma(container.uow, number)
    if rma.order_number != order_number:
        raise HTTPException(403, "this customer token is for another order")
    return s.rma_out(rma)


@router.post("/customer/returns", status_code=201)
def customer_create_return(body: s.ReturnRequestIn, container: ContainerDep,
                           token: CustomerToken = None) -> dict[str, Any]:
    """Request a return with a customer token; 403 for another order than the token's."""
    order_number = _token_order(container, token)
    if body.order_number != order_number:
        raise HTTPException(403, "this customer token is for another order")
    with container.uow() as uow:
        order = uow.repo.order_by_number(order_number)
    if order is None:
        raise ProofRejected("no order matches that order number and email")
    rma = svc.request_return(
        container.uow, order_number=order_number, proof=order.customer_email,
        lines=[svc.RequestedLine(order_line_id=l.order_line_id, sku=l.sku, quantity=l.quantity, reason=l.reason,
                                 reason_detail=l.comment, sub_reason=l.sub_reason,
                                 conditions=tuple(l.conditions)) for l in body.lines],
        actor=f"customer:{order.customer_id}", policy=container.active_policy(), channel="api")
    return s.rma_out(rma)


@router.post("/webhooks", status_code=201)
def create_subscription(body: SubscriptionIn, container: ContainerDep, _: Admin) -> dict[str, Any]:
    """Subscribe an endpoint; the answer carries its ``whsec_`` signing secret, shown only this once."""
    with container.uow() as uow:
        sub = webhooks.create_subscription(uow, url=body.url, event_types=body.event_types)
        uow.commit()
    return {"id": sub.id, "url": sub.url, "event_types": sub.event_types, "secret": sub.secret}


@router.get("/webhooks")
def list_subscriptions(container: ContainerDep, _: Admin) -> list[dict[str, Any]]:
    with container.uow() as uow:
        return [{"id": x.id, "url": x.url, "event_types": x.event_types, "active": x.active}
                for x in webhooks.list_subscriptions(uow)]


@router.delete("/webhooks/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: int, container: ContainerDep, _: Admin) -> None:
    with container.uow() as uow:
        webhooks.deactivate_subscription(uow, subscription_id)
        uow.commit()


@router.get("/outbox/dead")
def dead_messages(container: ContainerDep, _: Admin, limit: int = 100) -> dict[str, Any]:
    """Messages that failed every attempt, with their last error; plus the outbox depth by status."""
    return {"depth": container.outbox.depth(), "items": container.outbox.dead(limit=min(limit, 1000))}


@router.post("/outbox/retry")
def retry_dead(body: RetryIn, container: ContainerDep, _: Admin) -> dict[str, int]:
    """Queue dead messages again with a fresh attempt count."""
    return {"retried": container.outbox.retry_dead(body.ids)}
