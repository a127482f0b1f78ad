"""Idempotency keys, customer tokens, rate limit and the ops endpoints, through the HTTP API."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.web.app import create_app
from tests.conftest import add_order

BODY = {"order_number": "100001", "email": "ann@example.com",
        "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "wrong_size"}]}


@pytest.fixture
def client(container: Container) -> TestClient:
    with TestClient(create_app(container)) as c:
        yield c  # type: ignore[misc]


def rma_count(container: Container) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.return_authorizations)).scalar_one())


def test_the_same_idempotency_key_and_body_replays_the_first_answer(container: Container, client: TestClient) -> None:
    add_order(container)
    first = client.post("/api/v1/returns", json=BODY, headers={"Idempotency-Key": "k-1"})
    # same JSON, spelled differently
    again = client.post("/api/v1/returns", content=b'{"lines": [{"reason": "wrong_size", "quantity": 1, "sku": "SKU-A"}],'
                        b' "email": "ann@example.com", "order_number": "100001"}',
                        headers={"Idempotency-Key": "k-1", "content-type": "application/json"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert rma_count(container) == 1


def test_the_same_idempotency_key_with_another_body_is_refused_and_changes_nothing(
        container: Container, client: TestClient) -> None:
    add_order(container)
    assert client.post("/api/v1/returns", json=BODY, headers={"Idempotency-Key": "k-2"}).status_code == 201
    other = {**BODY, "lines": [{"sku": "SKU-B", "quantity": 1, "reason": "damaged_item"}]}
    refused = client.post("/api/v1/returns", json=other, headers={"Idempotency-Key": "k-2"})
    assert refused.status_code == 422
    assert refused.json()["title"] == "Idempotency key reused"
    assert rma_count(container) == 1


def test_a_customer_token_opens_only_its_own_order(container: Container, client: TestClient) -> None:
    add_order(container)
    add_order(container, order_number="100002", customer_id="C2", email="bob@example.com")
    bob_rma = client.post("/api/v1/returns", json={**BODY, "order_number": "100002", "email": "bob@example.com"}
                          ).json()["number"]
    token = client.post("/api/v1/orders/100001/token", json={"email": "ann@example.com"}).json()["token"]
    headers = {"X-Customer-Token": token}
    created = client.post("/api/v1/customer/returns", json=BODY, headers=headers)
    assert created.status_code == 201
    assert client.get(f"/api/v1/customer/returns/{created.json()['number']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/customer/returns/{bob_rma}", headers=headers).status_code == 403
    before = rma_count(container)
    foreign = client.post("/api/v1/customer/returns", json={**BODY, "order_number": "100002"}, headers=headers)
    assert foreign.status_code == 403
    assert rma_count(container) == before
    assert client.get(f"/api/v1/customer/returns/{bob_rma}",
                      headers={"X-Customer-Token": token[:-2] + "xx"}).status_code == 401
    assert client.post("/api/v1/orders/100001/token", json={"email": "eve@example.com"}).status_code == 404
    # the token is the proof: no email needed in the body; the customer id is no proof for a token either
    no_email = client.post("/api/v1/customer/returns", json={"order_number": "100001", "lines": BODY["lines"]},
                           headers=headers)
    assert no_email.status_code == 201, no_email.text
    assert no_email.json()["events"][0]["actor"] == "customer:C1"
    add_order(container, order_number="100003", customer_id="12680", email="cy@example.com")
    assert client.post("/api/v1/orders/100003/token", json={"email": "12680"}).status_code == 404


def test_a_customer_token_expires(container: Container, client: TestClient) -> None:
    add_order(container)
    container.settings.production.customer_token_seconds = 1
    token = client.post("/api/v1/orders/100001/token", json={"email": "ann@example.com"}).json()["token"]
    time.sleep(2.1)
    answer = client.post("/api/v1/customer/returns", json=BODY, headers={"X-Customer-Token": token})
    assert answer.status_code == 401
    assert rma_count(container) == 0


def test_public_order_lookups_are_rate_limited(container: Container) -> None:
    add_order(container)
    container.settings.production.order_lookups_per_minute = 3
    with TestClient(create_app(container)) as client:
        codes = [client.get("/api/v1/orders/100001", params={"email": "ann@example.com"}).status_code
                 for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]


def test_ops_endpoints_report_health_readiness_and_metrics(container: Container, client: TestClient) -> None:
    add_order(container)
    client.post("/api/v1/returns", json=BODY)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    text = client.get("/metrics").text
    assert 'returnflow_returns{status="authorized"} 1.0' in text
    assert 'returnflow_outbox_messages{status="pending",topic="rma.event"} 3.0' in text
    assert "returnflow_outbox_failing_messages 0.0" in text
    assert 'returnflow_http_requests_total{method="POST",route="/api/v1/returns",status="201"}' in text


def test_every_answer_carries_a_request_id(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
