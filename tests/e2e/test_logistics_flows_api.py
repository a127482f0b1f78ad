"""Tracking webhooks, the sweep, drop-off, home pickup and 3PL receipts end to end through the API."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container, LogisticsSettings
from returnflow.services import tracking
from returnflow.web.app import create_app
from tests.e2e.logistics_helpers import new_rma, sign

SECRET = "whsec_ünïcode"  # EasyPost normalises the secret (NFKD) before signing

#: Carrier event days: after the returns the tests request today (a scan before the request is refused).
D1 = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
D2 = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()


@pytest.fixture
def client(container: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setitem(container.__dict__, "logistics", LogisticsSettings(
        carrier_webhook_secret="s3cret", easypost_webhook_secret=SECRET, pickup_fee=__import__("decimal").Decimal("4.5")))
    with TestClient(create_app(container)) as test_client:
        yield test_client


def labelled(client: TestClient, container: Container, staff: dict[str, str], **kwargs: object) -> tuple[str, str]:
    number = new_rma(client, container, **kwargs)  # type: ignore[arg-type]
    rma = client.post(f"/api/v1/returns/{number}/label", json={}, headers=staff).json()
    return number, rma["tracking_code"]


def easypost_event(event_id: str, code: str, status: str, at: str) -> bytes:
    return json.dumps({"object": "Event", "id": event_id, "description": "tracker.updated", "created_at": at,
                       "result": {"object": "Tracker", "id": "trk_1", "tracking_code": code, "status": status,
                                  "updated_at": at, "tracking_details": [
                                      {"object": "TrackingDetail", "status": status, "datetime": at,
                                       "tracking_location": {"city": "OMAHA", "state": "NE", "country": "US"}}]}}
                      ).encode()


def test_easypost_events_move_the_rma_and_duplicates_or_stale_events_are_harmless(
        client: TestClient, container: Container, staff_key: str) -> None:
    easypost_util = pytest.importorskip("easypost.util")
    staff = {"X-API-Key": staff_key}
    number, code = labelled(client, container, staff)
    delivered = easypost_event("evt_2", code, "delivered", f"{D2}T10:00:00Z")
    signature = sign_nfkd(delivered)
    easypost_util.validate_webhook(delivered, {"X-Hmac-Signature": signature}, SECRET)  # EasyPost's own check
    assert client.post("/api/v1/carriers/easypost/events", content=delivered,
                       headers={"X-Hmac-Signature": signature}).json()["outcomes"] == {"applied": 1}
    assert client.post("/api/v1/carriers/easypost/events", content=delivered,
                       headers={"X-Hmac-Signature": signature}).json()["outcomes"] == {"duplicate": 1}
    stale = easypost_event("evt_1", code, "in_transit", f"{D1}T10:00:00Z")
    assert client.post("/api/v1/carriers/easypost/events", content=stale,
                       headers={"X-Hmac-Signature": sign_nfkd(stale)}).json()["outcomes"] == {"ignored": 1}
    rma = client.get(f"/api/v1/returns/{number}", headers=staff).json()
    assert rma["status"] == "in_transit"
    assert [e["name"] for e in rma["events"]][-1] == "return.delivered"
    assert rma["events"][-1]["data"]["location"] == "OMAHA, NE, US"


def sign_nfkd(body: bytes) -> str:
    import unicodedata

    return sign(unicodedata.normalize("NFKD", SECRET), body)


def test_a_bad_signature_is_401_and_changes_nothing(client: TestClient, container: Container, staff_key: str) -> None:
    number, code = labelled(client, container, {"X-API-Key": staff_key})
    body = easypost_event("evt_9", code, "in_transit", f"{D1}T10:00:00Z")
    assert client.post("/api/v1/carriers/easypost/events", content=body,
                       headers={"X-Hmac-Signature": sign("wrong", body)}).status_code == 401
    assert client.post("/api/v1/carriers/acme/events", content=b"[]").status_code == 401
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.carrier_events)).scalar_one() == 0
    assert client.get(f"/api/v1/returns/{number}", headers={"X-API-Key": staff_key}).json()["status"] == "label_issued"


def test_generic_csv_events_apply_and_a_failure_becomes_a_carrier_exception(
        client: TestClient, container: Container, staff_key: str) -> None:
    staff = {"X-API-Key": staff_key}
    number, code = labelled(client, container, staff)
    csv_body = (f"tracking_code,status,occurred_at,location\n{code},in_transit,{D1}T08:00:00+00:00,Leeds\n"
                f"{code},failure,{D1}T12:00:00+00:00,Leeds hub\nRF999,in_transit,{D1}T08:00:00Z,\n").encode()
    response = client.post("/api/v1/carriers/acme/events", content=csv_body,
                           headers={"Content-Type": "text/csv", "X-Returnflow-Signature": sign("s3cret", csv_body)})
    assert response.status_code == 200, response.text
    assert response.json()["outcomes"] == {"applied": 2, "unmatched": 1}
    names = [e["name"] for e in client.get(f"/api/v1/returns/{number}", headers=staff).json()["events"]]
    assert names[-2:] == ["return.in_transit", "return.carrier_exception"]


def test_sweep_expires_unscanned_labels_and_flags_silent_parcels_lost(
        client: TestClient, container: Container, staff_key: str) -> None:
    staff = {"X-API-Key": staff_key}
    quiet, _ = labelled(client, container, staff, order_number="100001")
    moving, code = labelled(client, container, staff, order_number="100002")
    tracking.apply_tracking_events(container.uow, "acme", [
        tracking.TrackingUpdate(code, "in_transit", datetime.now(UTC))])
    assert tracking.sweep(container.uow, now=datetime.now(UTC) + timedelta(days=5)) == tracking.SweepReport((), ())
    report = tracking.sweep(container.uow, now=datetime.now(UTC) + timedelta(days=15))
    assert report == tracking.SweepReport(expired=(quiet,), lost=(moving,))
    lost = client.get(f"/api/v1/returns/{moving}", headers=staff).json()
    assert lost["lines"][0]["reception_status"] == "lost_in_transit"
    assert client.get(f"/api/v1/returns/{quiet}", headers=staff).json()["status"] == "expired"
    assert tracking.sweep(container.uow, now=datetime.now(UTC) + timedelta(days=30)) == tracking.SweepReport((), ())


def test_dropoff_points_qr_and_scan_put_the_parcel_in_transit_once(
        client: TestClient, container: Container, staff_key: str) -> None:
    staff = {"X-API-Key": staff_key}
    points = client.get("/api/v1/dropoff-points", params={"postal_code": "10118", "limit": 2}).json()
    assert points[0]["city"] == "Brooklyn"  # 350 5th Ave, Manhattan: the Brooklyn point is nearest
    number = new_rma(client, container)
    png = client.get(f"/api/v1/returns/{number}/dropoff-qr.png", params={"email": "ann@example.com"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert decoded.text.startswith(f"RFD1:{number}:")
    first = client.post("/api/v1/dropoff/scans", json={"code": decoded.text, "point_id": "DOP-002"}, headers=staff)
    assert first.status_code == 200, first.text
    assert first.json()["first_scan"] is True
    rma = client.get(f"/api/v1/returns/{number}", headers=staff).json()
    assert (rma["status"], rma["tracking_code"]) == ("in_transit", first.json()["tracking_code"])
    again = client.post("/api/v1/dropoff/scans", json={"code": decoded.text}, headers=staff).json()
    assert again["first_scan"] is False
    assert len(client.get(f"/api/v1/returns/{number}", headers=staff).json()["events"]) == len(rma["events"])
    forged = client.post("/api/v1/dropoff/scans", json={"code": f"RFD1:{number}:0000"}, headers=staff)
    assert forged.status_code == 422


def test_pickup_booking_full_window_reschedule_and_cancel(
        client: TestClient, container: Container, staff_key: str) -> None:
    staff = {"X-API-Key": staff_key}
    day = date.today() + timedelta(days=2)
    windows = client.post("/api/v1/pickup-windows", headers=staff, json=[
        {"area": "NN11", "day": day.isoformat(), "starts": "09:00", "ends": "12:00", "capacity": 1},
        {"area": "NN11", "day": day.isoformat(), "starts": "13:00", "ends": "17:00", "capacity": 2}]).json()
    morning, afternoon = windows[0]["id"], windows[1]["id"]
    first = new_rma(client, container, order_number="100001")
    second = new_rma(client, container, order_number="100002", customer_id="C2", email="bob@example.com")
    booked = client.post(f"/api/v1/returns/{first}/pickup", params={"email": "ann@example.com"},
                         json={"window_id": morning, "postal_code": "NN11 8PQ", "address": "1 High St"})
    assert booked.status_code == 201, booked.text
    assert booked.json()["fee"] == {"amount": "4.50", "currency": "GBP"}
    full = client.post(f"/api/v1/returns/{second}/pickup", params={"email": "bob@example.com"},
                       json={"window_id": morning, "postal_code": "NN11 2AB"})
    assert full.status_code == 409
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.pickup_bookings)).scalar_one() == 1
    moved = client.put(f"/api/v1/returns/{first}/pickup", params={"email": "ann@example.com"},
                       json={"window_id": afternoon})
    assert moved.status_code == 200 and moved.json()["window"]["id"] == afternoon
    assert client.post(f"/api/v1/returns/{second}/pickup", params={"email": "bob@example.com"},
                       json={"window_id": morning, "postal_code": "NN11 2AB"}).status_code == 201
    free = client.get("/api/v1/pickup-windows", params={"postal_code": "NN11 9ZZ", "day_from": day.isoformat(),
                                                        "day_to": day.isoformat()}).json()
    assert [(w["id"], w["remaining"]) for w in free] == [(afternoon, 1)]
    cancelled = client.delete(f"/api/v1/returns/{first}/pickup", params={"email": "ann@example.com"})
    assert cancelled.json()["status"] == "cancelled"
    assert client.get("/api/v1/pickup-windows", params={"postal_code": "NN11", "day_from": day.isoformat(),
                                                        "day_to": day.isoformat()}).json()[0]["remaining"] == 2
    outside = client.post(f"/api/v1/returns/{first}/pickup", params={"email": "ann@example.com"},
                          json={"window_id": afternoon, "postal_code": "SW1A 1AA"})
    assert outside.status_code == 422


def test_3pl_receipts_apply_good_rows_once_and_report_bad_rows_by_number(
        client: TestClient, container: Container, staff_key: str) -> None:
    staff = {"X-API-Key": staff_key}
    number, code = labelled(client, container, staff, ask=[("SKU-A", 2), ("SKU-B", 1)])
    rows = [{"rma_or_tracking": number, "sku": "SKU-A", "units": 2, "grade": "A", "notes": "sealed"},
            {"rma_or_tracking": code, "sku": "SKU-B", "units": 1, "grade": "D", "notes": "broken"},
            {"rma_or_tracking": number, "sku": "SKU-Z", "units": 1, "grade": "A"},
            {"rma_or_tracking": number, "sku": "SKU-A", "units": "two", "grade": "A"},
            {"rma_or_tracking": "RMA-999999", "sku": "SKU-A", "units": 1, "grade": "B"},
            {"rma_or_tracking": number, "sku": "SKU-A", "units": 1, "grade": "E"}]
    report = client.post("/api/v1/3pl/receipts", json=rows, headers=staff).json()
    assert (report["read"], report["imported"], report["already_imported"]) == (6, 2, 0)
    assert [r["row"] for r in report["rejected"]] == [3, 4, 5, 6]
    assert "SKU-Z is not on" in report["rejected"][0]["reason"]
    rma = client.get(f"/api/v1/returns/{number}", headers=staff).json()
    assert rma["status"] == "inspected"
    assert [(l["sku"], l["quantity_received"], l["grade"], l["acceptance_status"]) for l in rma["lines"]] == [
        ("SKU-A", 2, "A", "accepted"), ("SKU-B", 1, "D", "rejected")]
    events = len(rma["events"])
    again = client.post("/api/v1/3pl/receipts", json=rows[:2], headers=staff).json()
    assert (again["read"], again["imported"], again["already_imported"], again["rejected"]) == (2, 2, 2, [])
    assert len(client.get(f"/api/v1/returns/{number}", headers=staff).json()["events"]) == events


def test_receipts_csv_through_the_cli_reports_bad_rows_by_line_and_applies_good_rows_once(
        client: TestClient, container: Container, staff_key: str, tmp_path: object) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from returnflow.cli import app

    number, _ = labelled(client, container, {"X-API-Key": staff_key}, ask=[("SKU-A", 1)])
    csv_path = Path(str(tmp_path)) / "receipts.csv"
    csv_path.write_text(f"rma_or_tracking,sku,units,grade,notes\n{number},SKU-A,1,B,\n{number},SKU-A,0,B,\n")
    url = container.settings.database_url
    result = CliRunner().invoke(app, ["logistics", "import-receipts", str(csv_path), "--database-url", url])
    report = json.loads(result.stdout)
    assert (result.exit_code, report["read"], report["imported"]) == (1, 2, 1)
    assert report["rejected"] == [{"row": 3, "reason": "units must be at least 1, got 0"}]
    again = json.loads(CliRunner().invoke(app, ["logistics", "import-receipts", str(csv_path),
                                                "--database-url", url]).stdout)
    assert (again["imported"], again["already_imported"]) == (1, 1)
