"""With a broker configured, the worker relays outbox messages to Dramatiq on Redis and Dramatiq delivers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.services import webhooks
from tests.integration.production.receivers import WebhookReceiver
from tests.integration.production.server import environment, start_worker

BROKER = os.environ.get("RETURNFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


def test_messages_relayed_through_dramatiq_on_redis_are_all_delivered(container: Container,
                                                                      receiver: WebhookReceiver) -> None:
    try:
        redis.Redis.from_url(BROKER, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the broker mode is the PostgreSQL production mode")
    now = datetime.now(UTC)
    with container.uow() as uow:
        webhooks.create_subscription(uow, url=receiver.url, event_types=[])
        uow.repo.add_outbox([("rma.event", {"type": "return.requested", "rma_number": f"RMA-{i:06d}",
                                            "order_number": "none", "occurred_at": now.isoformat(), "data": {}})
                             for i in range(10)], at=now)
        uow.commit()
    url = container.settings.database_url
    broker = {"RETURNFLOW_BROKER_URL": BROKER}
    relay = start_worker(url, batch_size=5, **broker)
    actors = subprocess.Popen([sys.executable, "-m", "dramatiq", "returnflow.worker", "--processes", "1",
                               "--threads", "2"], env=environment(url, RETURNFLOW_DRAMATIQ_WORKER="1", **broker),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            with container.engine.connect() as conn:
                if conn.execute(select(t.outbox.c.id).where(t.outbox.c.status != "delivered")).first() is None:
                    break
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.1)
    finally:
        for process in (relay, actors):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    assert len(set(receiver.ids())) == 10
