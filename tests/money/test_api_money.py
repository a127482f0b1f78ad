"""The money API end to end over HTTP (FastAPI TestClient) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container, Settings
from returnflow.services import access
from returnflow.web import api_money
from returnflow.web.app import create_app

from tests.money.builders import line, order
from tests.money.store import receive_and_inspect, request, store_order

ADMIN = {"X-API-Key": "rf_test_admin"}


@pytest.fixture
def client(engine: Engine, uow_factory) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    container = Container(Settings(database_url=engine.url.render_as_string(hide_password=False)))
    with uow_factory() as uow:
        access.create_api_key(uow, name="admin", scopes=["admin"], key="rf_test_admin")
        uow.commit()
    app = create_app(container)
    app.include_router(api_money.router)
    with TestClient(app) as test_client:
        yield test_client


def test_the_active_policy_is_served_and_a_bad_new_one_is_refused_with_the_key_named(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/policy").json()["version"] == "default-1"
    bad = client.put("/api/v1/policy", content='version = "x"\n[fees]\nreturn_shipping_fee = 4.95\n',
                     headers={**ADMIN, "Content-Type": "text/plain"})
    assert bad.status_code == 422 and "not floats" in bad.json()["detail"]
    assert client.put("/api/v1/policy", content='version = "x"\n', headers={"Content-Type": "text/plain"}
                      ).status_code == 401
    ok = client.put("/api/v1/policy", content='version = "2026-12"\n[fees]\nreturn_shipping_fee = "4.95"\n',
                    headers={**ADMIN, "Content-Type": "text/plain"})
    assert ok.status_code == 200 and client.get("/api/v1/policy").json()["version"] == "2026-12"


def test_a_draft_return_gets_its_eligibility_and_refund_preview(client, uow_factory) -> None:  # type: ignore[no-untyped-def]
    draft = order(line(1, "6.00"), line(2, "4.00"))
    draft.placed_at = datetime.now(UTC) - timedelta(days=3)  # the preview is dated now: inside the window
    o = store_order(uow_factory, draft, [("card", "10.00")])
    body = {"order_number": o.order_number, "email": o.customer_email,
            "lines": [{"order_line_id": o.lines[0].id, "quantity": 1, "reason": "wrong_size"}]}
    answer = client.post("/api/v1/returns/preview", json=body)
    assert answer.status_code == 200
    assert (answer.json()["eligibility"]["verdict"], answer.json()["refund"]["total"]) == ("eligible", "6.00")
    body["lines"][0]["quantity"] = 2
    assert client.post("/api/v1/returns/preview", json=body).status_code == 422  # only 1 bought


def test_a_double_submitted_refund_over_http_is_issued_once(client, uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "12.34")), [("card", "12.34")])
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=client.app.state
                                                   .container.policy))
    url = f"/api/v1/returns/{rma.number}/refunds"
    assert client.post(url, json={}, headers=ADMIN).status_code == 422  # no Idempotency-Key
    first = client.post(url, json={}, headers={**ADMIN, "Idempotency-Key": "k-1"})
    second = client.post(url, json={}, headers={**ADMIN, "Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    # The HTTP layer replays the first answer byte for byte and says so in a header (issue 6).
    assert (first.json()["total"], first.json()["replayed"]) == ("12.34", False)
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json() == first.json()
    conflict = client.post(url, json={"resolution": "store_credit"}, headers={**ADMIN, "Idempotency-Key": "k-1"})
    assert conflict.status_code == 422  # same key, another body
    with uow_factory() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.refunds)).scalar_one() == 1


def test_an_exchange_for_an_unknown_or_unstocked_item_is_a_clear_error(client, uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "20.00")))
    rma = request(uow_factory, o, {o.lines[0].id: 1}, policy=client.app.state.container.policy)
    url = f"/api/v1/returns/{rma.number}/exchanges"
    body = {"return_line_id": rma.lines[0].id, "new_sku": "NOPE"}
    assert client.post(url, json=body, headers={**ADMIN, "Idempotency-Key": "e"}).status_code == 404
