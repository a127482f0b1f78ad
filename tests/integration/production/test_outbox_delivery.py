"""The worker delivers outbox messages: signed webhooks, customer emails, retries, dead messages."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from returnflow.adapters.db import tables as t
from returnflow.adapters.notifications.email import SmtpSettings
from returnflow.adapters.outbox.backoff import RetryPolicy
from returnflow.bootstrap import Container, Settings
from returnflow.bootstrap_production import ProductionSettings
from returnflow.services import returns as svc
from returnflow.services import webhooks
from returnflow.worker import run
from tests.conftest import add_order
from tests.integration.production.receivers import SmtpServer, WebhookReceiver


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


def production(container: Container, **settings: object) -> Container:
    """A second container on the same database with production settings (mail, retries)."""
    return Container(Settings(database_url=container.settings.database_url,
                              production=ProductionSettings(**settings)))  # type: ignore[arg-type]


def subscribe(container: Container, url: str, types: list[str]) -> str:
    with container.uow() as uow:
        sub = webhooks.create_subscription(uow, url=url, event_types=types)
        uow.commit()
    assert sub.secret
    return sub.secret


def request_return(container: Container) -> str:
    add_order(container)
    rma = svc.request_return(container.uow, order_number="100001", proof="ann@example.com",
                             lines=[svc.RequestedLine(sku="SKU-A", quantity=1, reason="wrong_size")],
                             actor="customer:C1", policy=container.policy)
    return rma.number


def outbox_rows(container: Container) -> list[tuple[str, str, int]]:
    with container.engine.connect() as conn:
        return [(r.topic, r.status, r.attempts) for r in conn.execute(
            select(t.outbox.c.topic, t.outbox.c.status, t.outbox.c.attempts).order_by(t.outbox.c.id))]


def test_an_approved_return_reaches_the_merchant_signed_and_the_customer_by_email(
        container: Container, smtp: SmtpServer, receiver: WebhookReceiver) -> None:
    secret = subscribe(container, receiver.url, ["return.requested", "return.authorized"])
    number = request_return(container)
    worker = production(container, smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, sender="shop@example.com"))
    stats = run(worker, once=True)
    worker.dispose()

    # three events (requested, routed, authorized) -> three fan-outs; two subscribed -> two webhooks;
    # one email (only the approval mails the customer)
    assert stats.delivered == 6 and stats.failed == 0
    assert {status for _, status, _ in outbox_rows(container)} == {"delivered"}
    assert len(receiver.received) == 2
    types = []
    for headers, body in receiver.received:
        event = Webhook(secret).verify(body, headers)  # raises unless the signature is right
        types.append(event["type"])
        assert event["data"]["rma_number"] == number
    assert types == ["return.requested", "return.authorized"]
    assert len(set(receiver.ids())) == 2 and all(i.startswith("evt_") for i in receiver.ids())
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == "ann@example.com"
    assert mail["Subject"] == f"Your return {number} is approved"
    assert "order 100001" in mail.get_payload()


def test_a_failing_receiver_is_retried_with_backoff_then_parked_dead_then_retried_by_an_admin(
        container: Container, receiver: WebhookReceiver) -> None:
    subscribe(container, receiver.url, ["return.requested"])
    request_return(container)
    receiver.status = 503
    worker = production(container, retry=RetryPolicy(max_attempts=2, base_seconds=0.0, cap_seconds=0.0))
    started = datetime.now(UTC)
    run(worker, once=True)
    with container.engine.connect() as conn:
        row = conn.execute(select(t.outbox).where(t.outbox.c.topic == "webhook.deliver")).one()
    assert (row.status, row.attempts) == ("dead", 2)
    assert "503" in row.last_error
    assert row.next_attempt_at >= started
    dead = worker.outbox.dead()
    assert [d["id"] for d in dead] == [row.id]

    receiver.status = 204
    assert worker.outbox.retry_dead() == 1
    run(worker, once=True)
    worker.dispose()
    assert ("webhook.deliver", "delivered", 1) in outbox_rows(container)
    assert receiver.ids() == [row.payload["event_id"]]


def test_in_one_batch_the_delivered_messages_are_acked_and_a_failing_one_is_kept_for_its_retry(
        container: Container, smtp: SmtpServer, receiver: WebhookReceiver) -> None:
    """The worker acks a batch's delivered messages together; a failure in the same batch only reschedules
    its own message (retry base 1 hour here, so ``once`` stops before the retry is due)."""
    subscribe(container, receiver.url, ["return.authorized"])
    request_return(container)
    receiver.status = 503
    worker = production(container, smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, sender="shop@example.com"),
                        retry=RetryPolicy(max_attempts=5, base_seconds=3600.0, cap_seconds=3600.0))
    started = datetime.now(UTC)
    stats = run(worker, once=True)
    worker.dispose()
    # 3 events fanned out (acked with the fan-out), 1 email sent, 1 webhook failed
    assert (stats.delivered, stats.failed) == (4, 1)
    assert sorted(outbox_rows(container)) == sorted(
        [("rma.event", "delivered", 1)] * 3 + [("email.send", "delivered", 1), ("webhook.deliver", "pending", 1)])
    assert len(smtp.messages) == 1
    with container.engine.connect() as conn:
        row = conn.execute(select(t.outbox).where(t.outbox.c.topic == "webhook.deliver")).one()
    assert "503" in row.last_error
    # equal jitter on a 1-hour ceiling: due again between 30 and 60 minutes later
    assert 1790 <= (row.next_attempt_at - started).total_seconds() <= 3610


def test_a_receiver_that_refuses_with_4xx_is_parked_dead_at_once(container: Container,
                                                                 receiver: WebhookReceiver) -> None:
    subscribe(container, receiver.url, [])
    request_return(container)
    receiver.status = 410
    worker = production(container)
    run(worker, once=True)
    worker.dispose()
    dead = [(topic, attempts) for topic, status, attempts in outbox_rows(container) if status == "dead"]
    assert dead == [("webhook.deliver", 1)] * 3  # requested, routed, authorized


def test_the_embedded_worker_delivers_from_inside_the_api_process(container: Container,
                                                                  receiver: WebhookReceiver) -> None:
    from fastapi.testclient import TestClient

    from returnflow.web.app import create_app

    subscribe(container, receiver.url, ["return.authorized"])
    add_order(container)
    embedded = production(container, embedded_worker=True)
    with TestClient(create_app(embedded)) as client:
        assert client.post("/api/v1/returns", json={"order_number": "100001", "email": "ann@example.com", "lines": [
            {"sku": "SKU-A", "quantity": 1, "reason": "wrong_size"}]}).status_code == 201
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [json.loads(body)["type"] for _, body in receiver.received] == ["return.authorized"]


def test_a_refund_reaches_the_merchant_as_a_refund_issued_webhook_and_nothing_is_parked_dead(
        container: Container, receiver: WebhookReceiver) -> None:
    subscribe(container, receiver.url, ["refund.issued"])
    number = request_return(container)
    rma = svc.issue_label(container.uow, number, actor="staff:t")
    rma = svc.receive(container.uow, number, quantities={rma.lines[0].id or 0: 1}, return_center_code="RC-UK-01",
                      actor="staff:t")
    svc.inspect_line(container.uow, number, line_id=rma.lines[0].id or 0, grade="A", actor="staff:t")
    svc.refund(container.uow, number, actor="staff:t")
    worker = production(container)
    for _ in range(5):  # the fan-out writes webhook rows that a later pass delivers
        run(worker, once=True)
        if all(status == "delivered" for _, status, _ in outbox_rows(container)):
            break
    worker.dispose()

    assert {status for _, status, _ in outbox_rows(container)} == {"delivered"}
    events = [json.loads(body) for _, body in receiver.received]
    # add_order's SKU-A costs 10.00 a unit; one unit came back graded A: 10.00 refunded
    assert [(e["type"], e["data"]["rma_number"], e["data"]["amount"]) for e in events] == [
        ("refund.issued", number, "10.00")]
