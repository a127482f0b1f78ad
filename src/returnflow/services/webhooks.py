"""Webhook subscriptions: merchants' endpoints and the event types each receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.webhooks.delivery import new_secret
from returnflow.domain.errors import InvalidInput, NotFound

#: the event types a subscription may name (the RMA audit-trail event names)
EVENT_TYPES = ("return.requested", "return.review_requested", "return.authorized", "return.rejected",
               "return.cancelled", "return.label_issued", "return.in_transit", "return.delivered",
               "return.carrier_exception", "return.lost_in_transit", "return.expired", "return.received",
               "return.inspected", "return.refunded", "return.settled", "return.closed", "return.routed",
               "return.pre_transit", "refund.issued", "exchange.requested", "exchange.hold_charged")


@dataclass(frozen=True)
class Subscription:
    """A webhook endpoint. ``secret`` (``whsec_...``) is shown to the merchant once, at creation."""

    id: int
    url: str
    event_types: list[str]
    active: bool
    secret: str | None = None


def create_subscription(uow: UnitOfWork, *, url: str, event_types: list[str]) -> Subscription:
    """Store an endpoint for ``event_types`` ([] = all). Raises ``InvalidInput`` for a bad URL or type."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"webhook URL must be http(s)://host/...; got {url!r}")
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"unknown event types {unknown}; use some of {', '.join(EVENT_TYPES)}")
    secret = new_secret()
    result: Any = uow.session.execute(t.webhook_subscriptions.insert().values(
        url=url, secret=secret, event_types=sorted(set(event_types)), active=True, created_at=datetime.now(UTC)))
    return Subscription(id=int(result.inserted_primary_key[0]), url=url, event_types=sorted(set(event_types)),
                        active=True, secret=secret)


def list_subscriptions(uow: UnitOfWork) -> list[Subscription]:
    c = t.webhook_subscriptions.c
    rows = uow.session.execute(select(c.id, c.url, c.event_types, c.active).order_by(c.id)).all()
    return [Subscription(id=r.id, url=r.url, event_types=list(r.event_types), active=r.active) for r in rows]


def deactivate_subscription(uow: UnitOfWork, subscription_id: int) -> None:
    """Stop deliveries to an endpoint (pending ones are dropped when their turn comes). Raises ``NotFound``."""
    c = t.webhook_subscriptions.c
    result: Any = uow.session.execute(update(t.webhook_subscriptions).where(c.id == subscription_id)
                                      .values(active=False))
    if not result.rowcount:
        raise NotFound(f"no webhook subscription {subscription_id}")
