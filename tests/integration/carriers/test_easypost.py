"""EasyPost adapter (official SDK) against a local server replaying documented EasyPost responses."""

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from returnflow.adapters.carriers.base import (
    Address,
    CarrierRejected,
    CarrierUnavailable,
    Parcel,
    Shipment,
    TrackingStatus,
)
from returnflow.adapters.carriers.easypost import EasyPostCarrier, EasyPostSettings
from returnflow.adapters.carriers.retrying import RetryPolicy

from .fake_api import FakeApi, FakeServer, Reply, fixture

SHIPMENT_ID = "shp_5c4b3a2f1e0d4c8b9a7f6e5d4c3b2a10"
FAST_RETRY = RetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.05, jitter_s=0)
SHIPMENT = Shipment(
    from_address=Address(name="Jane Customer", street1="350 5th Ave", street2="Apt 12B", city="New York",
                         state="NY", postal_code="10118", country="US"),
    to_address=Address(name="Returnflow Return Center", street1="1200 Harney St", city="Omaha", state="NE",
                       postal_code="68102", country="US"),
    parcel=Parcel(weight_kg=Decimal("2.5"), length_cm=Decimal(30), width_cm=Decimal(20), height_cm=Decimal(10)),
    reference="RMA-2026-000123",
)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def carrier(api: FakeApi) -> Iterator[EasyPostCarrier]:
    with FakeServer(api) as server:
        settings = EasyPostSettings(api_key="EZTK_test", api_base=f"{server.base_url}/v2", timeout_s=0.3,
                                    retry=FAST_RETRY)
        yield EasyPostCarrier(settings)


def test_quote_sends_inches_and_ounces_and_returns_rates_cheapest_first(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", "/v2/shipments", Reply(201, fixture("easypost_shipment")))
    rates = carrier.quote_rates(SHIPMENT)
    assert [(r.carrier, r.service, r.amount, r.estimated_days) for r in rates] == [
        ("USPS", "GroundAdvantage", Decimal("7.45"), 5),
        ("USPS", "Priority", Decimal("11.48"), 2),
        ("UPS", "Ground", Decimal("12.09"), 3),
    ]
    assert rates[0].rate_id == "rate_9a8b7c6d5e4f" and rates[0].shipment_id == SHIPMENT_ID
    (sent,) = api.calls("POST", "/v2/shipments")
    # 30 cm / 2.54 = 11.81 in; 2.5 kg = 2500 g / 28.349523125 g/oz = 88.18 oz
    assert sent.body["shipment"]["parcel"] == {"length": 11.8, "width": 7.9, "height": 3.9, "weight": 88.2}
    assert sent.body["shipment"]["from_address"]["zip"] == "10118"
    assert sent.body["shipment"]["reference"] == "RMA-2026-000123"
    assert sent.headers["Authorization"] == "Bearer EZTK_test"


def test_buy_returns_the_label_url_and_tracking_code_of_the_bought_shipment(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", "/v2/shipments", Reply(201, fixture("easypost_shipment")))
    api.on("GET", f"/v2/shipments/{SHIPMENT_ID}", Reply(200, fixture("easypost_shipment")))
    api.on("POST", f"/v2/shipments/{SHIPMENT_ID}/buy", Reply(200, fixture("easypost_shipment_bought")))
    label = carrier.buy_label(SHIPMENT, idempotency_key="rma-123-label-1")
    assert label.tracking_code == "9400100208303109876543"
    assert label.label_url is not None and label.label_url.endswith("/e8a1f2.png")
    assert (label.carrier, label.service, label.rate.amount) == ("USPS", "GroundAdvantage", Decimal("7.45"))
    assert label.carrier_label_id == SHIPMENT_ID
    (bought,) = api.calls("POST", f"/v2/shipments/{SHIPMENT_ID}/buy")
    assert bought.body == {"rate": {"id": "rate_9a8b7c6d5e4f"}}


def test_buying_an_already_bought_shipment_returns_its_label_without_buying_again(
    api: FakeApi, carrier: EasyPostCarrier
) -> None:
    api.on("POST", "/v2/shipments", Reply(201, fixture("easypost_shipment")))
    api.on("GET", f"/v2/shipments/{SHIPMENT_ID}", Reply(200, fixture("easypost_shipment_bought")))
    rate = carrier.quote_rates(SHIPMENT)[0]
    label = carrier.buy_label(SHIPMENT, rate=rate, idempotency_key="rma-123-label-1")
    assert label.tracking_code == "9400100208303109876543"
    assert api.calls("POST", f"/v2/shipments/{SHIPMENT_ID}/buy") == []


def test_buy_that_times_out_is_retried_without_buying_twice(api: FakeApi, carrier: EasyPostCarrier) -> None:
    # The server completes the purchase but answers after the client's 0.3 s timeout.
    api.on("POST", "/v2/shipments", Reply(201, fixture("easypost_shipment")))
    api.on("GET", f"/v2/shipments/{SHIPMENT_ID}",
           Reply(200, fixture("easypost_shipment")), Reply(200, fixture("easypost_shipment_bought")))
    api.on("POST", f"/v2/shipments/{SHIPMENT_ID}/buy", Reply(200, fixture("easypost_shipment_bought"), delay_s=1.0))
    label = carrier.buy_label(SHIPMENT, idempotency_key="rma-123-label-1")
    assert label.tracking_code == "9400100208303109876543"
    assert len(api.calls("POST", f"/v2/shipments/{SHIPMENT_ID}/buy")) == 1
    assert len(api.calls("GET", f"/v2/shipments/{SHIPMENT_ID}")) == 2


def test_invalid_address_is_rejected_at_once_with_easyposts_message(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", "/v2/shipments", Reply(422, fixture("easypost_error_address")))
    with pytest.raises(CarrierRejected) as caught:
        carrier.quote_rates(SHIPMENT)
    assert caught.value.status_code == 422
    assert caught.value.code == "ADDRESS.VERIFY.FAILURE"
    assert "Address not found" in caught.value.message
    assert len(api.calls("POST", "/v2/shipments")) == 1


def test_server_error_is_retried_until_success(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", "/v2/shipments",
           Reply(500, fixture("easypost_error_internal")), Reply(201, fixture("easypost_shipment")))
    assert carrier.quote_rates(SHIPMENT)[0].amount == Decimal("7.45")
    assert len(api.calls("POST", "/v2/shipments")) == 2


def test_rate_limiting_that_persists_gives_up_after_three_attempts(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", "/v2/shipments", Reply(429, fixture("easypost_error_rate_limited")))
    with pytest.raises(CarrierUnavailable) as caught:
        carrier.quote_rates(SHIPMENT)
    assert caught.value.status_code == 429
    assert len(api.calls("POST", "/v2/shipments")) == 3


def test_a_server_slower_than_the_timeout_is_unavailable(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", "/v2/shipments", Reply(201, fixture("easypost_shipment"), delay_s=1.0))
    with pytest.raises(CarrierUnavailable):
        carrier.quote_rates(SHIPMENT)
    assert len(api.calls("POST", "/v2/shipments")) == 3


def test_tracking_details_become_utc_events_in_our_vocabulary(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", "/v2/trackers", Reply(200, fixture("easypost_tracker")))
    events = carrier.track("9400100208303109876543", carrier="USPS")
    assert [(e.status, e.occurred_at, e.location) for e in events] == [
        (TrackingStatus.PRE_TRANSIT, dt.datetime(2026, 3, 1, 14, 2, 31, tzinfo=dt.UTC), ""),
        (TrackingStatus.IN_TRANSIT, dt.datetime(2026, 3, 2, 8, 45, tzinfo=dt.UTC), "NEW YORK, NY, US"),
        (TrackingStatus.OUT_FOR_DELIVERY, dt.datetime(2026, 3, 3, 13, 10, tzinfo=dt.UTC), "OMAHA, NE, US"),
    ]
    assert events[1].description == "Arrived at USPS Regional Facility"
    (sent,) = api.calls("POST", "/v2/trackers")
    assert sent.body == {"tracker": {"tracking_code": "9400100208303109876543", "carrier": "USPS"}}


def test_void_requests_a_refund_and_reports_a_rejection(api: FakeApi, carrier: EasyPostCarrier) -> None:
    api.on("POST", f"/v2/shipments/{SHIPMENT_ID}/refund",
           Reply(200, fixture("easypost_shipment_refund_submitted")),
           Reply(200, fixture("easypost_shipment_refund_rejected")))
    carrier.void_label(SHIPMENT_ID)
    with pytest.raises(CarrierRejected):
        carrier.void_label(SHIPMENT_ID)
