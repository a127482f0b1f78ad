"""SIGKILL the worker in the middle of a delivery batch, restart it: every event arrives, none is lost."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.services import webhooks
from tests.integration.production.receivers import WebhookReceiver
from tests.integration.production.server import start_worker

EVENTS = 30


@pytest.fixture
def slow_receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(delay=0.1)
    yield r
    r.close()


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_worker_killed_mid_batch_loses_nothing_after_restart(container: Container,
                                                               slow_receiver: WebhookReceiver) -> None:
    now = datetime.now(UTC)
    with container.uow() as uow:
        webhooks.create_subscription(uow, url=slow_receiver.url, event_types=[])
        uow.repo.add_outbox([("rma.event", {"type": "return.requested", "rma_number": f"RMA-{i:06d}",
                                            "order_number": "none", "occurred_at": now.isoformat(), "data": {}})
                             for i in range(EVENTS)], at=now)
        uow.commit()
    with container.engine.connect() as conn:
        expected = {f"evt_{i}" for i in conn.execute(select(t.outbox.c.id)).scalars()}
    url = container.settings.database_url
    lease = {"RETURNFLOW_OUTBOX_LEASE_SECONDS": "2"}

    first = start_worker(url, batch_size=5, **lease)
    wait_for(lambda: len(slow_receiver.received) >= 8, timeout=30)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    with container.engine.connect() as conn:
        in_flight = conn.execute(select(t.outbox.c.id).where(t.outbox.c.topic == "webhook.deliver",
                                                             t.outbox.c.status == "pending",
                                                             t.outbox.c.attempts == 1)).all()
    assert in_flight, "the kill should land while a batch is claimed but not yet acknowledged"
    assert len(set(slow_receiver.ids())) < EVENTS

    second = start_worker(url, batch_size=5, **lease)
    try:
        def all_delivered() -> bool:
            with container.engine.connect() as conn:
                return conn.execute(select(t.outbox.c.id).where(t.outbox.c.status != "delivered")).first() is None
        wait_for(all_delivered, timeout=40)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)

    assert set(slow_receiver.ids()) == expected  # every event, deduplicated by webhook-id
    assert len(slow_receiver.received) >= EVENTS
