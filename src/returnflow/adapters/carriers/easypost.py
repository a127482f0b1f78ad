"""EasyPost adapter, through the official `easypost` SDK (v9+) pointed at a configurable API base.

Calls (EasyPost API reference: Shipments, Rates, Trackers, Refunds, Errors; https://docs.easypost.com):
- quote: POST /shipments {shipment: {from_address, to_address, parcel, reference}} -> Shipment with `rates`
  (each `id`, `carrier`, `service`, `rate` as a decimal string, `currency`, `delivery_days`);
- buy: POST /shipments/{id}/buy {rate: {id}} -> Shipment with `tracking_code`, `postage_label.label_url`,
  `selected_rate`; before buying (and before every retry) GET /shipments/{id}: a shipment that already has
  a `postage_label` is returned as it is, so retries and repeated calls with the same `Rate` never buy twice;
- void: POST /shipments/{id}/refund -> Shipment with `refund_status` submitted | refunded | rejected;
- track: POST /trackers {tracker: {tracking_code, carrier}} -> Tracker with `tracking_details`
  ({status, message, datetime, tracking_location {city, state, zip, country}}).

Units: EasyPost parcels are in inches and ounces (Parcel object); we convert from cm and kg.
Errors: the SDK raises `ApiError` subclasses carrying `http_status`, `code` and `message` from the error
object ({"error": {"code", "message", "errors"}}); timeouts and network failures have no status. Mapped by
`base.error_for_status`; no status -> CarrierUnavailable. Settings from the environment:
EASYPOST_API_KEY (required), EASYPOST_API_BASE (default https://api.easypost.com/v2),
EASYPOST_TIMEOUT_SECONDS (default 10).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from easypost.easypost_client import EasyPostClient
from easypost.errors.general.easypost_error import EasyPostError

from returnflow.adapters.carriers.base import (
    CarrierError,
    CarrierRejected,
    CarrierUnavailable,
    error_for_status,
    Label,
    provider_address,
    Rate,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)
from returnflow.adapters.carriers.retrying import RetryPolicy, parse_timestamp

T = TypeVar("T")

CM_PER_INCH = Decimal("2.54")
OUNCES_PER_KG = Decimal("35.27396194958041")  # 1 oz = 28.349523125 g (international avoirdupois ounce)

# EasyPost tracker statuses (Tracker object, `status`) -> ours. available_for_pickup: waiting at a pickup
# point, the last step before delivery, so out_for_delivery; cancelled / error: failure.
STATUS_MAP = {
    "pre_transit": TrackingStatus.PRE_TRANSIT,
    "in_transit": TrackingStatus.IN_TRANSIT,
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    "available_for_pickup": TrackingStatus.OUT_FOR_DELIVERY,
    "delivered": TrackingStatus.DELIVERED,
    "return_to_sender": TrackingStatus.RETURN_TO_SENDER,
    "failure": TrackingStatus.FAILURE,
    "cancelled": TrackingStatus.FAILURE,
    "error": TrackingStatus.FAILURE,
}


@dataclass(frozen=True)
class EasyPostSettings:
    """API key, base URL (ending in /v2), per-request timeout in seconds, retry policy."""

    api_key: str
    api_base: str = "https://api.easypost.com/v2"
    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_env(cls) -> EasyPostSettings:
        """Read EASYPOST_API_KEY / EASYPOST_API_BASE / EASYPOST_TIMEOUT_SECONDS. Raises KeyError without a key."""
        return cls(
            api_key=os.environ["EASYPOST_API_KEY"],
            api_base=os.environ.get("EASYPOST_API_BASE", cls.api_base),
            timeout_s=float(os.environ.get("EASYPOST_TIMEOUT_SECONDS", cls.timeout_s)),
        )


def _translate(error: EasyPostError) -> CarrierError:
    status = getattr(error, "http_status", None)
    code = getattr(error, "code", None)
    if status is None:
        return CarrierUnavailable(error.message or type(error).__name__, code=code)
    return error_for_status(status, error.message, code=code)


class EasyPostCarrier:
    """Implements `Carrier` over EasyPost. See the module docstring for calls, units and errors."""

    name = "easypost"

    def __init__(self, settings: EasyPostSettings) -> None:
        self._settings = settings
        self._client = EasyPostClient(
            settings.api_key, api_base=settings.api_base, timeout=settings.timeout_s  # type: ignore[arg-type]
        )

    def _call(self, operation: Callable[[], Any]) -> dict[str, Any]:
        try:
            result = operation()
        except EasyPostError as error:
            raise _translate(error) from error
        return result.to_dict() if hasattr(result, "to_dict") else dict(result)

    def _retried(self, operation: Callable[[], Any]) -> dict[str, Any]:
        return self._settings.retry.call(lambda: self._call(operation))

    def quote_rates(self, shipment: Shipment) -> list[Rate]:
        """Creates an EasyPost shipment; its rates, cheapest first. Rejected if EasyPost offers none."""
        parcel = shipment.parcel
        created = self._retried(
            lambda: self._client.shipment.create(
                from_address=provider_address(shipment.from_address),
                to_address=provider_address(shipment.to_address),
                parcel={
                    "length": float(round(parcel.length_cm / CM_PER_INCH, 1)),
                    "width": float(round(parcel.width_cm / CM_PER_INCH, 1)),
                    "height": float(round(parcel.height_cm / CM_PER_INCH, 1)),
                    "weight": float(round(parcel.weight_kg * OUNCES_PER_KG, 1)),
                },
                reference=shipment.reference,
            )
        )
        rates = [self._rate(raw, created["id"]) for raw in created.get("rates", [])]
        if not rates:
            messages = "; ".join(str(m.get("message", m)) for m in created.get("messages", []))
            raise CarrierRejected(messages or "EasyPost returned no rates")
        return sorted(rates, key=lambda rate: rate.amount)

    @staticmethod
    def _rate(raw: dict[str, Any], shipment_id: str) -> Rate:
        return Rate(
            carrier=raw["carrier"],
            service=raw["service"],
            amount=Decimal(str(raw["rate"])),
            currency=raw["currency"],
            estimated_days=raw.get("delivery_days"),
            rate_id=raw["id"],
            shipment_id=raw.get("shipment_id") or shipment_id,
        )

    def buy_label(self, shipment: Shipment, *, rate: Rate | None = None, idempotency_key: str) -> Label:
        """Buy `rate` (default: cheapest of a fresh quote). Never buys an EasyPost shipment twice.

        `idempotency_key` is not sent (EasyPost documents no idempotency header); idempotency comes from
        reusing the same `Rate`: its shipment is fetched first and an existing label returned.
        """
        chosen = rate or self.quote_rates(shipment)[0]
        if not (chosen.rate_id and chosen.shipment_id):
            raise CarrierRejected("an EasyPost rate needs rate_id and shipment_id")

        def buy_once() -> dict[str, Any]:
            current = self._call(lambda: self._client.shipment.retrieve(chosen.shipment_id))
            if current.get("postage_label"):
                return current
            return self._call(lambda: self._client.shipment.buy(chosen.shipment_id, rate={"id": chosen.rate_id}))

        bought = self._settings.retry.call(buy_once)
        selected = bought.get("selected_rate") or {}
        final_rate = self._rate(selected, bought["id"]) if selected.get("id") else chosen
        return Label(
            carrier=final_rate.carrier,
            service=final_rate.service,
            tracking_code=bought["tracking_code"],
            rate=final_rate,
            carrier_label_id=bought["id"],
            label_url=bought["postage_label"]["label_url"],
        )

    def void_label(self, label_id: str) -> None:
        """Request a refund of shipment `label_id`. Raises CarrierRejected when EasyPost rejects it."""
        refunded = self._retried(lambda: self._client.shipment.refund(label_id))
        if refunded.get("refund_status") == "rejected":
            raise CarrierRejected(f"EasyPost rejected the refund of {label_id}", code="refund_rejected")

    def track(self, tracking_code: str, *, carrier: str | None = None) -> list[TrackingEvent]:
        """Creates (or, per EasyPost, reuses) a tracker; its tracking details, oldest first."""
        params = {"tracking_code": tracking_code} | ({"carrier": carrier} if carrier else {})
        tracker = self._retried(lambda: self._client.tracker.create(**params))
        events = [self._event(tracking_code, detail) for detail in tracker.get("tracking_details", [])]
        return sorted(events, key=lambda event: event.occurred_at)

    @staticmethod
    def _event(tracking_code: str, detail: dict[str, Any]) -> TrackingEvent:
        where = detail.get("tracking_location") or {}
        location = ", ".join(str(where[k]) for k in ("city", "state", "country") if where.get(k))
        raw_status = detail.get("status") or "unknown"
        return TrackingEvent(
            tracking_code=tracking_code,
            status=STATUS_MAP.get(raw_status, TrackingStatus.UNKNOWN),
            occurred_at=parse_timestamp(detail["datetime"]),
            location=location,
            raw_status=raw_status,
            description=detail.get("message") or "",
        )
