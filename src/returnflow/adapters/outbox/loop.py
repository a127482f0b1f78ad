"""The delivery loop shared by ``returnflow worker`` and the embedded worker thread of the API process."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from returnflow.adapters.outbox.handlers import Dispatcher, TerminalError
from returnflow.adapters.outbox.store import OutboxMessage, OutboxStore

log = logging.getLogger("returnflow.worker")


class Publisher(Protocol):
    def publish(self, messages: list[OutboxMessage]) -> None: ...


@dataclass
class WorkerStats:
    """Counts since start."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0


def deliver_one(dispatcher: Dispatcher, store: OutboxStore, message: OutboxMessage, stats: WorkerStats,
                *, acks: list[int] | None = None) -> None:
    """Handle one claimed message and settle it (ack, retry later, or dead). Never raises for handler errors.

    ``acks``: collect the ids still to ack there instead of acking each in its own transaction (the batch
    loop acks them together; a crash before that only redelivers them, and every handler is idempotent).
    """
    try:
        if dispatcher.handle(message, ack=acks is None):
            acks.append(message.id)  # type: ignore[union-attr]
        stats.delivered += 1
        log.debug("delivered", extra={"outbox_id": message.id, "topic": message.topic, "attempt": message.attempt})
    except Exception as exc:  # noqa: BLE001  (every handler error is recorded on the message)
        status = store.fail(message, f"{type(exc).__name__}: {exc}", terminal=isinstance(exc, TerminalError))
        stats.failed += 1
        stats.dead += status == "dead"
        log.warning("delivery failed", extra={"outbox_id": message.id, "topic": message.topic,
                                              "attempt": message.attempt, "status": status, "error": str(exc)})


def run(store: OutboxStore, dispatcher: Dispatcher, *, stop: threading.Event, relay: Publisher | None = None,
        batch_size: int = 20, poll_seconds: float = 0.5, once: bool = False) -> WorkerStats:
    """Claim, deliver (or relay), repeat until ``stop`` is set; with ``once``, until nothing is due."""
    stats = WorkerStats()
    while not stop.is_set():
        try:
            messages = store.claim(batch_size)
        except Exception:
            log.exception("claiming outbox messages failed")
            stop.wait(max(poll_seconds, 1.0))
            continue
        if relay is not None:
            relay.publish(messages)
        else:
            fan_out = [m for m in messages if m.topic == "rma.event"]
            rest = [m for m in messages if m.topic != "rma.event"]
            if len(fan_out) > 1:
                try:  # one transaction for the whole batch; on any error, one by one (errors recorded)
                    dispatcher.fan_out_many(fan_out)
                    stats.delivered += len(fan_out)
                    fan_out = []
                except Exception:  # noqa: BLE001
                    log.warning("batch fan-out failed; retrying one by one", exc_info=True)
            acks: list[int] = []
            for message in fan_out + rest:
                deliver_one(dispatcher, store, message, stats, acks=acks)
            if acks:
                store.ack_batch(acks)
            if messages:
                log.info("batch delivered", extra={"claimed": len(messages), "delivered_total": stats.delivered,
                                                   "failed_total": stats.failed})
        if not messages:
            if once:
                break
            stop.wait(poll_seconds)
    return stats
