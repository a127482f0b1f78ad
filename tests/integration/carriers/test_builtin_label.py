"""The built-in carrier's label: a real PDF, rendered to pixels and read back by an independent decoder.

Rendering: pypdfium2 (PDFium). Decoding: zxing-cpp. Neither shares code with reportlab, which drew it.
Set RETURNFLOW_WRITE_LABEL_EXAMPLE=1 to refresh docs/label_example.png from this test.
"""

import datetime as dt
import io
import os
from decimal import Decimal
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from returnflow.adapters.carriers.base import (
    Address,
    CarrierRejected,
    Parcel,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)
from returnflow.adapters.carriers.builtin import BuiltinCarrier, InMemoryTrackingEventLog

CUSTOMER = Address(
    name="Jane Customer", street1="350 5th Ave", street2="Apt 12B", city="New York", state="NY",
    postal_code="10118", country="US",
)
RETURN_CENTER = Address(
    name="Returnflow Return Center", street1="1200 Harney St", city="Omaha", state="NE",
    postal_code="68102", country="US",
)
SHIPMENT = Shipment(
    from_address=CUSTOMER,
    to_address=RETURN_CENTER,
    parcel=Parcel(weight_kg=Decimal("2.5"), length_cm=Decimal(30), width_cm=Decimal(20), height_cm=Decimal(10)),
    reference="RMA-2026-000123",
)


def render(pdf: bytes, dpi: int = 300) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    image: Image.Image = document[0].render(scale=dpi / 72).to_pil()
    return image


def test_label_is_one_4_by_6_inch_page_whose_barcodes_decode_to_tracking_code_and_rma_number() -> None:
    label = BuiltinCarrier().buy_label(SHIPMENT, idempotency_key="label-1")
    assert label.label_pdf is not None

    page = PdfReader(io.BytesIO(label.label_pdf)).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288.0, 432.0)  # 4 x 6 in at 72 pt/in
    text = page.extract_text()
    for expected in ("Jane Customer", "New York, NY 10118", "Returnflow Return Center", "Omaha, NE 68102",
                     "RMA-2026-000123", "Weight: 2.50 kg", "ground"):
        assert expected in text

    image = render(label.label_pdf)
    decoded = {result.format.name: result.text for result in zxingcpp.read_barcodes(image)}
    assert decoded == {"Code128": label.tracking_code, "QRCode": "RMA-2026-000123"}
    assert label.tracking_code.startswith("RF") and len(label.tracking_code) == 14

    if os.environ.get("RETURNFLOW_WRITE_LABEL_EXAMPLE"):
        image.convert("L").resize((600, 900)).save(Path(__file__).parents[3] / "docs" / "label_example.png")


def test_rebuying_with_the_same_idempotency_key_gives_the_identical_label() -> None:
    carrier = BuiltinCarrier()
    first = carrier.buy_label(SHIPMENT, idempotency_key="label-1")
    again = carrier.buy_label(SHIPMENT, idempotency_key="label-1")
    other = carrier.buy_label(SHIPMENT, idempotency_key="label-2")
    assert again == first  # same tracking code, same PDF bytes
    assert other.tracking_code != first.tracking_code


def test_quote_is_the_ups_ground_residential_table_price() -> None:
    # zone_charts/100.csv ("ZIP Codes 100-01 to 104-99"): "680-692,6,..."
    # 2.5 kg = 5.51 lb -> 6 lb; gndres.csv "6,$5.64 ,$5.99 ,$6.57 ,$6.85 ,$7.21 ,..." -> zone 6 = 7.21
    (rate,) = BuiltinCarrier().quote_rates(SHIPMENT)
    assert (rate.amount, rate.currency, rate.service) == (Decimal("7.21"), "USD", "ground")


def test_unpriceable_destination_is_rejected() -> None:
    abroad = Address(name="X", street1="1 Rue", city="Paris", postal_code="75001", country="FR")
    shipment = Shipment(from_address=abroad, to_address=RETURN_CENTER, parcel=SHIPMENT.parcel, reference="RMA-1")
    with pytest.raises(CarrierRejected):
        BuiltinCarrier().quote_rates(shipment)  # no coordinates for a French postal code


def test_track_returns_recorded_events_oldest_first_in_utc() -> None:
    log = InMemoryTrackingEventLog()
    carrier = BuiltinCarrier(tracking_events=log)
    label = carrier.buy_label(SHIPMENT, idempotency_key="label-1")
    assert carrier.track(label.tracking_code) == []
    new_york = dt.timezone(dt.timedelta(hours=-5))
    later = TrackingEvent(label.tracking_code, TrackingStatus.DELIVERED, dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
                          "Omaha, NE", "received", "Received at return center")
    earlier = TrackingEvent(label.tracking_code, TrackingStatus.IN_TRANSIT,
                            dt.datetime(2026, 3, 1, 10, 0, tzinfo=new_york), "New York, NY", "dropped_off",
                            "Dropped off")
    log.record(later)
    log.record(earlier)
    events = carrier.track(label.tracking_code)
    assert [event.status for event in events] == [TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED]
    assert events[0].occurred_at == dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC)


def test_void_accepts_builtin_labels_and_rejects_foreign_ids() -> None:
    carrier = BuiltinCarrier()
    label = carrier.buy_label(SHIPMENT, idempotency_key="label-1")
    carrier.void_label(label.carrier_label_id)
    assert carrier.voided_label_ids == {label.tracking_code}
    with pytest.raises(CarrierRejected):
        carrier.void_label("shp_123")
    assert carrier.voided_label_ids == {label.tracking_code}


def test_every_adapter_satisfies_the_carrier_port() -> None:
    from returnflow.adapters.carriers.base import Carrier
    from returnflow.adapters.carriers.easypost import EasyPostCarrier, EasyPostSettings
    from returnflow.adapters.carriers.shippo import ShippoCarrier, ShippoSettings

    carriers: list[Carrier] = [
        BuiltinCarrier(),
        EasyPostCarrier(EasyPostSettings(api_key="k")),
        ShippoCarrier(ShippoSettings(api_token="t")),
    ]
    assert all(isinstance(carrier, Carrier) for carrier in carriers)
