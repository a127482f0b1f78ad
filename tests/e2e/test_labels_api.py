"""Return labels through the API: bought from the built-in carrier, stored, served as a PDF whose symbols
decode back to the RMA number and tracking code; consolidation; the demo's labels drawn on request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.domain.statuses import CarrierScan
from returnflow.services import logistics
from returnflow.web.app import create_app
from tests.e2e.logistics_helpers import decode_pdf, new_rma

#: Carrier event days: after the returns the tests request today (a scan before the request is refused).
D1 = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
D2 = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


def test_a_label_pdf_decodes_back_to_the_rma_number_and_its_tracking_code(
        client: TestClient, container: Container, staff_key: str) -> None:
    number = new_rma(client, container)
    staff = {"X-API-Key": staff_key}
    issued = client.post(f"/api/v1/returns/{number}/label", json={}, headers=staff)
    assert issued.status_code == 200, issued.text
    rma = issued.json()
    assert (rma["status"], rma["carrier"], rma["return_center_code"]) == ("label_issued", "returnflow", "RC-UK-01")

    pdf = client.get(f"/api/v1/returns/{number}/label.pdf", params={"email": "ann@example.com"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert decode_pdf(pdf.content) == {"Code128": rma["tracking_code"], "QRCode": number}


def test_issuing_again_returns_the_same_stored_label_and_records_one_label_event(
        client: TestClient, container: Container, staff_key: str) -> None:
    number = new_rma(client, container)
    first = client.post(f"/api/v1/returns/{number}/shipping-label", json={}, params={"email": "ann@example.com"})
    again = client.post(f"/api/v1/returns/{number}/shipping-label", json={}, params={"email": "ann@example.com"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    events = client.get(f"/api/v1/returns/{number}", headers={"X-API-Key": staff_key}).json()["events"]
    assert [e["name"] for e in events].count("return.label_issued") == 1
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.shipping_labels)).scalar_one() == 1


def test_a_wrong_email_gets_404_and_no_label(client: TestClient, container: Container) -> None:
    number = new_rma(client, container)
    response = client.post(f"/api/v1/returns/{number}/shipping-label", json={}, params={"email": "eve@example.com"})
    assert response.status_code == 404
    assert client.get(f"/api/v1/returns/{number}/label.pdf", params={"email": "eve@example.com"}).status_code == 404
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.shipping_labels)).scalar_one() == 0


def test_us_label_is_priced_from_the_ups_table(client: TestClient, container: Container, staff_key: str) -> None:
    number = new_rma(client, container, country="United States", currency="USD", postal_code="10118")
    label = client.post(f"/api/v1/returns/{number}/shipping-label", json={}, headers={"X-API-Key": staff_key}).json()
    # 1 unit x 0.5 kg = 1.10 lb -> 2 lb. zone_charts/100.csv "680-692,6,..." (to Omaha 68102): zone 6.
    # gndres.csv "2,$5.17 ,$5.39 ,$5.77 ,$5.84 ,$6.17 ,..." -> zone 6 = $6.17.
    assert label["rate"] == {"amount": "6.17", "currency": "USD"}
    estimate = client.get(f"/api/v1/returns/{number}/shipping-estimate", headers={"X-API-Key": staff_key}).json()
    assert estimate == {"amount": "6.17", "currency": "USD"}


def test_estimate_service_takes_an_order_and_center_for_the_policy(container: Container, staff_key: str) -> None:
    from tests.conftest import add_order

    order = add_order(container, country="United States", currency="USD")
    with container.uow() as uow:
        money = logistics.estimate_return_shipping(uow, order=order, return_center_code="RC-US-01",
                                                   weight_kg=Decimal("2.5"), origin_postal_code="10118")
    # 2.5 kg = 5.51 lb -> 6 lb; gndres.csv "6,$5.64 ,$5.99 ,$6.57 ,$6.85 ,$7.21 ,..." zone 6 = 7.21
    assert (money.amount, money.currency) == (Decimal("7.21"), "USD")


def test_a_demo_rma_labelled_without_a_pdf_gets_one_drawn_on_first_request(
        client: TestClient, container: Container, staff_key: str) -> None:
    from returnflow.services.returns import builtin_tracking_code, issue_label

    number = new_rma(client, container)
    issue_label(container.uow, number, actor="system:label", return_center_code="RC-UK-01")  # the replay's way
    pdf = client.get(f"/api/v1/returns/{number}/label.pdf", headers={"X-API-Key": staff_key})
    assert pdf.status_code == 200
    assert decode_pdf(pdf.content) == {"Code128": builtin_tracking_code(number), "QRCode": number}
    assert client.get(f"/api/v1/returns/{number}/label.pdf", headers={"X-API-Key": staff_key}).content == pdf.content


def test_consolidated_rmas_share_one_label_and_its_tracking_events(
        client: TestClient, container: Container, staff_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    staff = {"X-API-Key": staff_key}
    first = new_rma(client, container, order_number="100001")
    second = new_rma(client, container, order_number="100002")
    shipped = client.post("/api/v1/shipments", json={"rma_numbers": [second, first]}, headers=staff)
    assert shipped.status_code == 201, shipped.text
    body = shipped.json()
    assert body["rma_numbers"] == sorted([first, second])
    code = body["label"]["tracking_code"]
    rmas = [client.get(f"/api/v1/returns/{n}", headers=staff).json() for n in (first, second)]
    assert [(r["status"], r["tracking_code"]) for r in rmas] == [("label_issued", code)] * 2
    pdf = client.get(f"/api/v1/returns/{second}/label.pdf", headers=staff)
    assert decode_pdf(pdf.content) == {"Code128": code, "QRCode": body["reference"]}
    assert client.post("/api/v1/shipments", json={"rma_numbers": [first, second]}, headers=staff).json() == body

    from returnflow.bootstrap import LogisticsSettings
    from tests.e2e.logistics_helpers import sign

    monkeypatch.setitem(container.__dict__, "logistics", LogisticsSettings(carrier_webhook_secret="s3cret"))
    payload = json.dumps([{"tracking_code": code, "status": "in_transit", "occurred_at": f"{D1}T10:00:00Z",
                           "location": "Leeds"}]).encode()
    response = client.post("/api/v1/carriers/royalmail/events", content=payload,
                           headers={"Content-Type": "application/json", "X-Returnflow-Signature": sign("s3cret", payload)})
    assert response.status_code == 200, response.text
    assert response.json()["rmas_changed"] == sorted([first, second])
    for n in (first, second):
        assert client.get(f"/api/v1/returns/{n}", headers=staff).json()["status"] == CarrierScan.IN_TRANSIT.value


def test_consolidating_rmas_of_two_customers_is_refused_and_changes_nothing(
        client: TestClient, container: Container, staff_key: str) -> None:
    first = new_rma(client, container, order_number="100001")
    second = new_rma(client, container, order_number="100002", customer_id="C2", email="bob@example.com")
    response = client.post("/api/v1/shipments", json={"rma_numbers": [first, second]},
                           headers={"X-API-Key": staff_key})
    assert response.status_code == 422
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.shipments)).scalar_one() == 0
        assert uow.session.execute(select(func.count()).select_from(t.shipping_labels)).scalar_one() == 0
