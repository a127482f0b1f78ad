"""What the worker does with each outbox topic. Every handler is safe to run twice.

- ``rma.event`` (written by the return services): fan out, in ONE transaction that also acknowledges the
  event, into a ``webhook.deliver`` row per matching active subscription and an ``email.send`` row when the
  event type mails the customer. Either all children exist and the event is acked, or neither: a crash
  before commit just redoes the fan-out.
- ``webhook.deliver``: POST the signed event (same ``webhook-id`` on every attempt; receivers dedup).
- ``email.send``: render and send the customer email (same ``Message-ID`` on every attempt).

Other teams add topics (label purchase, payment refunds) by registering a handler in :class:`Dispatcher`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.notifications import email
from returnflow.adapters.outbox.store import OutboxMessage, OutboxStore
from returnflow.adapters.webhooks import delivery


class TerminalError(Exception):
    """Retrying cannot help (unknown topic, receiver refused with a 4xx): the message is parked dead at once."""


Handler = Callable[[OutboxMessage], None]

#: Outbox topics that are themselves merchant events (their payload carries ``type``).
MERCHANT_EVENT_TOPICS = ("refund.issued", "exchange.requested", "exchange.hold_charged")


def event_id(message_id: int) -> str:
    """The public unique id of the event carried by outbox row ``message_id`` (``webhook-id``)."""
    return f"evt_{message_id}"


class Dispatcher:
    """Routes a claimed message to its handler; acknowledging is the caller's job unless said otherwise."""

    def __init__(self, engine: Engine, store: OutboxStore, *, smtp: email.SmtpSettings,
                 http_timeout_seconds: float = 10.0) -> None:
        self.engine, self.store, self.smtp = engine, store, smtp
        self.http = httpx.Client(timeout=http_timeout_seconds, follow_redirects=False)
        self.handlers: dict[str, Handler] = {
            "rma.event": self.fan_out, "webhook.deliver": self.deliver_webhook, "email.send": self.send_email}
        # Money movements for the merchant's payment system: with no payment-provider adapter configured they
        # leave as signed webhooks (event types refund.issued, exchange.requested, exchange.hold_charged) to
        # the merchant's subscriptions, like the RMA events.
        for topic in MERCHANT_EVENT_TOPICS:
            self.handlers[topic] = self.fan_out
        #: topics whose handler acknowledges the message itself (in its own transaction)
        self.self_acking = {"rma.event", *MERCHANT_EVENT_TOPICS}

    def close(self) -> None:
        self.http.close()

    def handle(self, message: OutboxMessage, *, ack: bool = True) -> bool:
        """Run the message's handler and ack it. Raises what the handler raised (the caller records it).

        With ``ack=False`` the caller acks: returns True when the message still needs its ack (its handler
        does not ack in its own transaction), so a batch can be acked in one statement.
        """
        handler = self.handlers.get(message.topic)
        if handler is None:
            raise TerminalError(f"no handler for topic {message.topic!r}")
        handler(message)
        owed = message.topic not in self.self_acking
        if owed and ack:
            self.store.ack(message.id)
            return False
        return owed

    # -- handlers -----------------------------------------------------------------------------
    def fan_out(self, message: OutboxMessage) -> None:
        self.fan_out_many([message])

    def fan_out_many(self, messages: list[OutboxMessage]) -> None:
        """Fan out several ``rma.event`` messages in one transaction (the worker's batch path)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            subscriptions = conn.execute(select(t.webhook_subscriptions.c.id, t.webhook_subscriptions.c.event_types)
                                         .where(t.webhook_subscriptions.c.active.is_(True))).all()
            mailed = {str(m.payload.get("order_number")) for m in messages if m.payload.get("type") in email.TEMPLATES}
            emails = dict(conn.execute(select(t.orders.c.order_number, t.orders.c.customer_email)
                                       .where(t.orders.c.order_number.in_(sorted(mailed)))).all()) if mailed else {}
            rows: list[dict[str, Any]] = []
            for message in messages:
                event, evt = message.payload, event_id(message.id)
                for sub in subscriptions:
                    if not sub.event_types or event.get("type") in sub.event_types:
                        rows.append({"topic": "webhook.deliver",
                                     "payload": {"subscription_id": sub.id, "event_id": evt, "event": event}})
                to = emails.get(str(event.get("order_number"))) if event.get("type") in email.TEMPLATES else None
                if to:
                    rows.append({"topic": "email.send", "payload": {"to": to, "event_id": evt, "event": event}})
            if rows:
                conn.execute(insert(t.outbox), [{**r, "created_at": now, "status": "pending", "attempts": 0,
                                                 "next_attempt_at": now} for r in rows])
            self.store.ack_many([m.id for m in messages], conn=conn)

    def deliver_webhook(self, message: OutboxMessage) -> None:
        payload = message.payload
        with self.engine.connect() as conn:
            sub = conn.execute(select(t.webhook_subscriptions.c.url, t.webhook_subscriptions.c.secret,
                                      t.webhook_subscriptions.c.active)
                               .where(t.webhook_subscriptions.c.id == payload["subscription_id"])).first()
        if sub is None or not sub.active:
            return  # the merchant removed the endpoint: nothing to deliver
        try:
            delivery.deliver(url=sub.url, secret=sub.secret, message_id=payload["event_id"],
                             event=payload["event"], client=self.http)
        except delivery.WebhookRejected as exc:
            if not exc.retryable:
                raise TerminalError(str(exc)) from exc
            raise

    def send_email(self, message: OutboxMessage) -> None:
        if not self.smtp.host:
            return  # mail is not configured: nothing to send
        payload = message.payload
        mail = email.render(payload["event"], to=payload["to"], message_key=payload["event_id"],
                            sender=self.smtp.sender)
        if mail is not None:
            email.send(mail, self.smtp)
