"""Shippo adapter (httpx) against a local server replaying documented Shippo responses."""

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from returnflow.adapters.carriers.base import CarrierRejected, CarrierUnavailable, TrackingStatus
from returnflow.adapters.carriers.retrying import RetryPolicy
from returnflow.adapters.carriers.shippo import ShippoCarrier, ShippoSettings

from .fake_api import FakeApi, FakeServer, Reply, fixture
from .test_easypost import SHIPMENT

CHEAPEST_RATE = "adcfdddf8ec64b84ad22772bce3ea37a"
TRANSACTION_ID = "915d94940ea54c3a80cbfa328722f5a1"
FAST_RETRY = RetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.05, jitter_s=0)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def carrier(api: FakeApi) -> Iterator[ShippoCarrier]:
    with FakeServer(api) as server:
        carrier = ShippoCarrier(ShippoSettings(api_token="shippo_test_abc", api_base=server.base_url,
                                               timeout_s=0.3, retry=FAST_RETRY))
        yield carrier
        carrier.close()


def test_quote_sends_metric_units_and_returns_rates_cheapest_first(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/shipments/", Reply(201, fixture("shippo_shipment")))
    rates = carrier.quote_rates(SHIPMENT)
    assert [(r.carrier, r.service, r.amount, r.currency, r.estimated_days, r.rate_id) for r in rates] == [
        ("USPS", "Ground Advantage", Decimal("8.12"), "USD", 4, CHEAPEST_RATE),
        ("USPS", "Priority Mail Express", Decimal("24.35"), "USD", 1, "ee81fab0372e419ab52245c8952ccaeb"),
    ]
    (sent,) = api.calls("POST", "/shipments/")
    assert sent.headers["Authorization"] == "ShippoToken shippo_test_abc"
    assert sent.body["parcels"] == [{"length": "30", "width": "20", "height": "10", "distance_unit": "cm",
                                     "weight": "2.5", "mass_unit": "kg"}]
    assert sent.body["address_from"]["zip"] == "10118" and sent.body["address_to"]["zip"] == "68102"
    assert sent.body["async"] is False


def test_buy_creates_a_transaction_for_the_rate_and_returns_the_label(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/shipments/", Reply(201, fixture("shippo_shipment")))
    api.on("GET", "/transactions/", Reply(200, fixture("shippo_transactions_none")))
    api.on("POST", "/transactions/", Reply(201, fixture("shippo_transaction")))
    label = carrier.buy_label(SHIPMENT, idempotency_key="rma-123-label-1")
    assert (label.tracking_code, label.carrier_label_id) == ("9499907123456123456781", TRANSACTION_ID)
    assert label.label_url == f"https://shippo-delivery.s3.amazonaws.com/{TRANSACTION_ID}.pdf"
    assert label.rate.amount == Decimal("8.12")
    (sent,) = api.calls("POST", "/transactions/")
    assert sent.body == {"rate": CHEAPEST_RATE, "label_file_type": "PDF_4x6", "metadata": "rma-123-label-1",
                         "async": False}
    (looked_up,) = api.calls("GET", "/transactions/")
    assert looked_up.query == f"rate={CHEAPEST_RATE}&object_status=SUCCESS"


def test_buy_that_times_out_is_retried_without_buying_twice(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/shipments/", Reply(201, fixture("shippo_shipment")))
    api.on("GET", "/transactions/",
           Reply(200, fixture("shippo_transactions_none")), Reply(200, fixture("shippo_transactions_one")))
    api.on("POST", "/transactions/", Reply(201, fixture("shippo_transaction"), delay_s=1.0))
    label = carrier.buy_label(SHIPMENT, idempotency_key="rma-123-label-1")
    assert label.tracking_code == "9499907123456123456781"
    assert len(api.calls("POST", "/transactions/")) == 1


def test_a_failed_transaction_is_rejected_with_the_carriers_message(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/shipments/", Reply(201, fixture("shippo_shipment")))
    api.on("GET", "/transactions/", Reply(200, fixture("shippo_transactions_none")))
    api.on("POST", "/transactions/", Reply(201, fixture("shippo_transaction_error")))
    with pytest.raises(CarrierRejected, match="could not be found"):
        carrier.buy_label(SHIPMENT, idempotency_key="rma-123-label-1")
    assert len(api.calls("POST", "/transactions/")) == 1


@pytest.mark.parametrize(("status", "body", "text"), [
    (400, "shippo_error_400", "This field is required."),
    (401, "shippo_error_401", "Invalid token."),
])
def test_client_errors_are_rejected_at_once(api: FakeApi, carrier: ShippoCarrier, status: int, body: str,
                                           text: str) -> None:
    api.on("POST", "/shipments/", Reply(status, fixture(body)))
    with pytest.raises(CarrierRejected) as caught:
        carrier.quote_rates(SHIPMENT)
    assert caught.value.status_code == status and text in caught.value.message
    assert len(api.calls("POST", "/shipments/")) == 1


def test_server_error_then_success_is_retried(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/shipments/", Reply(503, {"detail": "Service unavailable"}), Reply(201, fixture("shippo_shipment")))
    assert carrier.quote_rates(SHIPMENT)[0].amount == Decimal("8.12")
    assert len(api.calls("POST", "/shipments/")) == 2


def test_rate_limiting_that_persists_gives_up_after_three_attempts(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/shipments/", Reply(429, {"detail": "Request was throttled."}))
    with pytest.raises(CarrierUnavailable) as caught:
        carrier.quote_rates(SHIPMENT)
    assert caught.value.status_code == 429 and caught.value.message == "Request was throttled."
    assert len(api.calls("POST", "/shipments/")) == 3


def test_a_server_slower_than_the_timeout_is_unavailable(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/shipments/", Reply(201, fixture("shippo_shipment"), delay_s=1.0))
    with pytest.raises(CarrierUnavailable, match="timed out"):
        carrier.quote_rates(SHIPMENT)
    assert len(api.calls("POST", "/shipments/")) == 3


def test_unreachable_server_is_unavailable() -> None:
    settings = ShippoSettings(api_token="t", api_base="http://127.0.0.1:9", timeout_s=0.3, retry=FAST_RETRY)
    with pytest.raises(CarrierUnavailable, match="unreachable"):
        ShippoCarrier(settings).quote_rates(SHIPMENT)


def test_tracking_history_becomes_utc_events_with_out_for_delivery_from_the_substatus(
    api: FakeApi, carrier: ShippoCarrier
) -> None:
    api.on("GET", "/tracks/usps/9499907123456123456781", Reply(200, fixture("shippo_track")))
    events = carrier.track("9499907123456123456781")
    assert [(e.status, e.occurred_at, e.location, e.raw_status) for e in events] == [
        (TrackingStatus.PRE_TRANSIT, dt.datetime(2026, 3, 1, 14, 3, tzinfo=dt.UTC), "", "PRE_TRANSIT"),
        (TrackingStatus.IN_TRANSIT, dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC), "New York, NY, US", "TRANSIT"),
        (TrackingStatus.OUT_FOR_DELIVERY, dt.datetime(2026, 3, 4, 13, 55, tzinfo=dt.UTC), "Omaha, NE, US", "TRANSIT"),
        (TrackingStatus.DELIVERED, dt.datetime(2026, 3, 4, 14, 5, tzinfo=dt.UTC), "Omaha, NE, US", "DELIVERED"),
    ]


def test_void_creates_a_refund_for_the_transaction(api: FakeApi, carrier: ShippoCarrier) -> None:
    api.on("POST", "/refunds/", Reply(201, fixture("shippo_refund")),
           Reply(201, {**fixture("shippo_refund"), "status": "ERROR"}))
    carrier.void_label(TRANSACTION_ID)
    assert api.calls("POST", "/refunds/")[0].body == {"transaction": TRANSACTION_ID, "async": False}
    with pytest.raises(CarrierRejected):
        carrier.void_label(TRANSACTION_ID)
