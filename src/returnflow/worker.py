"""Background worker: claims due outbox messages, delivers them through idempotent handlers, acks.

One loop (``run``): claim a batch under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number
of workers share the table), handle each message, then ack the batch's delivered messages in one
statement (``rma.event`` fan-out acks in its own transaction), or record the error and schedule a retry
with exponential backoff and jitter (``adapters.outbox.backoff``), or park it ``dead`` after the last
attempt. A killed worker's messages come back when their lease ends. With ``RETURNFLOW_BROKER_URL`` set,
the loop only relays message ids to Dramatiq (Redis or RabbitMQ) and Dramatiq workers deliver them
(``returnflow.adapters.messaging``). ``python -m returnflow.worker`` = ``returnflow worker``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime

from returnflow.adapters.outbox import loop
from returnflow.adapters.outbox.loop import WorkerStats, deliver_one
from returnflow.adapters.outbox.store import OutboxMessage
from returnflow.bootstrap import Container

log = logging.getLogger("returnflow.worker")


def run(container: Container, *, stop: threading.Event | None = None, batch_size: int = 20,
        poll_seconds: float = 0.5, once: bool = False) -> WorkerStats:
    """Deliver until ``stop`` is set (or, with ``once``, until nothing is due). Returns the counts."""
    relay = None
    if container.settings.production.broker_url:
        from returnflow.adapters.messaging import dramatiq_relay
        relay = dramatiq_relay.Relay(container.settings.production.broker_url)
    dispatcher = container.dispatcher()
    try:
        return loop.run(container.outbox, dispatcher, stop=stop or threading.Event(), relay=relay,
                        batch_size=batch_size, poll_seconds=poll_seconds, once=once)
    finally:
        dispatcher.close()


def main(*, batch_size: int = 20, poll_seconds: float = 0.5) -> None:
    """Run until SIGTERM/SIGINT; the current message finishes first."""
    from returnflow.adapters.jsonlog import configure_logging

    container = Container()
    configure_logging(json_output=container.settings.production.json_logs)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    log.info("worker started", extra={"batch_size": batch_size})
    stats = run(container, stop=stop, batch_size=batch_size, poll_seconds=poll_seconds)
    log.info("worker stopped", extra={"delivered": stats.delivered, "failed": stats.failed, "dead": stats.dead,
                                      "seconds": round(time.monotonic() - started, 1)})
    container.dispose()


def declare_dramatiq_actor(broker_url: str):  # type: ignore[no-untyped-def]
    """Declare the Dramatiq actor that delivers relayed outbox messages (``dramatiq returnflow.worker``)."""
    import dramatiq

    from returnflow.adapters.messaging.dramatiq_relay import ACTOR_NAME, QUEUE_NAME, make_broker

    dramatiq.set_broker(make_broker(broker_url))
    state: dict[str, object] = {}
    lock = threading.Lock()

    @dramatiq.actor(actor_name=ACTOR_NAME, queue_name=QUEUE_NAME, max_retries=0)
    def deliver_outbox(message_id: int, topic: str, payload: dict, attempt: int) -> None:  # type: ignore[type-arg]
        with lock:  # one container and dispatcher per process, built on first use
            if "dispatcher" not in state:
                container = Container()
                state["container"], state["dispatcher"] = container, container.dispatcher()
        message = OutboxMessage(id=message_id, topic=topic, payload=payload, attempt=attempt,
                                created_at=datetime.now(UTC))
        deliver_one(state["dispatcher"], state["container"].outbox, message, WorkerStats())  # type: ignore[arg-type,attr-defined]

    return deliver_outbox


if __name__ != "__main__":
    import os as _os

    if _os.environ.get("RETURNFLOW_DRAMATIQ_WORKER") == "1" and _os.environ.get("RETURNFLOW_BROKER_URL"):
        deliver_outbox = declare_dramatiq_actor(_os.environ["RETURNFLOW_BROKER_URL"])


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(prog="returnflow worker")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    arguments = parser.parse_args()
    main(batch_size=arguments.batch_size, poll_seconds=arguments.poll_seconds)
