"""Relay claimed outbox messages to Dramatiq (Redis or RabbitMQ); Dramatiq workers deliver them.

The outbox stays the source of truth: the relay claims rows under a lease and enqueues one Dramatiq
message per row (id, topic, payload, attempt). The actor (declared in ``returnflow.worker``) runs the same
idempotent handler and acks or fails the row. A message lost by the broker, or a Dramatiq worker that dies,
only delays delivery until the lease ends and the relay enqueues the row again. Dramatiq's own retries are
off (``max_retries=0``): backoff, dead-lettering and the retry command are the outbox's.
"""

from __future__ import annotations

from collections.abc import Iterable

import dramatiq
from dramatiq.broker import Broker

from returnflow.adapters.outbox.store import OutboxMessage

ACTOR_NAME = "deliver_outbox"
QUEUE_NAME = "returnflow_outbox"


def make_broker(url: str) -> Broker:
    """A Redis broker for ``redis://``, a RabbitMQ broker (needs ``pika``) for ``amqp://``."""
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker
        return RedisBroker(url=url)  # type: ignore[no-untyped-call]
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker
        return RabbitmqBroker(url=url)
    raise ValueError(f"unsupported broker URL {url!r}: use redis:// or amqp://")


class Relay:
    """Enqueues claimed outbox messages for the ``deliver_outbox`` actor."""

    def __init__(self, url: str, broker: Broker | None = None) -> None:
        self.broker = broker or make_broker(url)
        self.broker.declare_queue(QUEUE_NAME)

    def publish(self, messages: Iterable[OutboxMessage]) -> None:
        for m in messages:
            self.broker.enqueue(dramatiq.Message(queue_name=QUEUE_NAME, actor_name=ACTOR_NAME,
                                                 args=(m.id, m.topic, m.payload, m.attempt), kwargs={},
                                                 options={"max_retries": 0}))
