"""Shippo adapter over its REST API with httpx.

Why not the official `shippo` SDK (v3): it can take a `server_url`, but offers no request timeout (it
calls `requests` without one) and reports every HTTP failure as one `SDKError`; httpx gives an explicit
timeout on every call and the status code to classify.

Calls (Shippo API reference: Shipments, Rates, Transactions, Refunds, Tracking status; docs.goshippo.com):
- quote: POST /shipments/ {address_from, address_to, parcels: [{length, width, height, distance_unit: "cm",
  weight, mass_unit: "kg"}], metadata, async: false} -> Shipment with `rates` (each `object_id`, `amount`
  as a decimal string, `currency`, `provider`, `servicelevel {name, token}`, `estimated_days`);
- buy: POST /transactions/ {rate, label_file_type: "PDF_4x6", metadata, async: false} -> Transaction
  (`status` SUCCESS | ERROR | QUEUED | WAITING, `tracking_number`, `label_url`, `messages`); before buying
  (and before every retry) GET /transactions/?rate=ID&object_status=SUCCESS: an existing successful
  transaction for that rate is returned instead of buying again;
- void: POST /refunds/ {transaction, async: false} -> Refund (`status` QUEUED | PENDING | SUCCESS | ERROR);
- track: GET /tracks/{carrier}/{tracking_number} -> Track with `tracking_history` ({status, status_details,
  status_date, location {city, state, zip, country}, substatus {code}}).

Errors (Shippo docs, "HTTP response status codes"): 400/401/404/409/422 -> CarrierRejected; 429 and 5xx ->
CarrierUnavailable, as are timeouts and network failures. The message is taken from the body (`detail`,
`messages[].text`, or field errors). Settings from the environment: SHIPPO_API_TOKEN (required),
SHIPPO_API_BASE (default https://api.goshippo.com), SHIPPO_TIMEOUT_SECONDS (default 10).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from returnflow.adapters.carriers.base import (
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

STATUS_MAP = {
    "PRE_TRANSIT": TrackingStatus.PRE_TRANSIT,
    "TRANSIT": TrackingStatus.IN_TRANSIT,
    "DELIVERED": TrackingStatus.DELIVERED,
    "RETURNED": TrackingStatus.RETURN_TO_SENDER,
    "FAILURE": TrackingStatus.FAILURE,
    "UNKNOWN": TrackingStatus.UNKNOWN,
}


@dataclass(frozen=True)
class ShippoSettings:
    """API token, base URL, per-request timeout in seconds, retry policy, carrier token for tracking."""

    api_token: str
    api_base: str = "https://api.goshippo.com"
    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    default_tracking_carrier: str = "usps"

    @classmethod
    def from_env(cls) -> ShippoSettings:
        """Read SHIPPO_API_TOKEN / SHIPPO_API_BASE / SHIPPO_TIMEOUT_SECONDS. Raises KeyError without a token."""
        return cls(
            api_token=os.environ["SHIPPO_API_TOKEN"],
            api_base=os.environ.get("SHIPPO_API_BASE", cls.api_base),
            timeout_s=float(os.environ.get("SHIPPO_TIMEOUT_SECONDS", cls.timeout_s)),
        )


def _messages(body: Any) -> str:
    """Human text from a Shippo error or object body: `detail`, `messages[].text`, or field -> [errors]."""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        texts = [m.get("text", "") for m in body.get("messages") or [] if isinstance(m, dict)]
        if any(texts):
            return "; ".join(text for text in texts if text)
        return "; ".join(f"{key}: {value}" for key, value in body.items())
    return str(body)


class ShippoCarrier:
    """Implements `Carrier` over Shippo. See the module docstring for calls, units and errors."""

    name = "shippo"

    def __init__(self, settings: ShippoSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        self._settings = settings
        self._http = httpx.Client(
            base_url=settings.api_base,
            timeout=httpx.Timeout(settings.timeout_s),
            headers={"Authorization": f"ShippoToken {settings.api_token}"},
            transport=transport,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise CarrierUnavailable(f"Shippo timed out: {error}") from error
        except httpx.TransportError as error:
            raise CarrierUnavailable(f"Shippo unreachable: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise error_for_status(response.status_code, _messages(body))
        if not isinstance(body, dict):
            raise CarrierUnavailable(f"Shippo answered {response.status_code} without a JSON object")
        return body

    def _retried(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._settings.retry.call(lambda: self._request(method, path, **kwargs))

    def quote_rates(self, shipment: Shipment) -> list[Rate]:
        """Creates a Shippo shipment; its rates, cheapest first. Rejected if Shippo offers none."""
        parcel = shipment.parcel
        created = self._retried(
            "POST",
            "/shipments/",
            json={
                "address_from": provider_address(shipment.from_address),
                "address_to": provider_address(shipment.to_address),
                "parcels": [
                    {
                        "length": str(parcel.length_cm),
                        "width": str(parcel.width_cm),
                        "height": str(parcel.height_cm),
                        "distance_unit": "cm",
                        "weight": str(parcel.weight_kg),
                        "mass_unit": "kg",
                    }
                ],
                "metadata": shipment.reference,
                "async": False,
            },
        )
        rates = [self._rate(raw, created.get("object_id", "")) for raw in created.get("rates") or []]
        if not rates:
            raise CarrierRejected(_messages(created) or "Shippo returned no rates")
        return sorted(rates, key=lambda rate: rate.amount)

    @staticmethod
    def _rate(raw: dict[str, Any], shipment_id: str) -> Rate:
        servicelevel = raw.get("servicelevel") or {}
        return Rate(
            carrier=raw["provider"],
            service=servicelevel.get("name") or servicelevel.get("token") or "",
            amount=Decimal(str(raw["amount"])),
            currency=raw["currency"],
            estimated_days=raw.get("estimated_days"),
            rate_id=raw["object_id"],
            shipment_id=raw.get("shipment") or shipment_id,
        )

    def buy_label(self, shipment: Shipment, *, rate: Rate | None = None, idempotency_key: str) -> Label:
        """Buy `rate` (default: cheapest of a fresh quote); an existing SUCCESS transaction is reused.

        `idempotency_key` goes into the transaction's `metadata` (max 100 characters) for reconciliation.
        """
        chosen = rate or self.quote_rates(shipment)[0]
        if not chosen.rate_id:
            raise CarrierRejected("a Shippo rate needs rate_id")

        def buy_once() -> dict[str, Any]:
            existing = self._request(
                "GET", "/transactions/", params={"rate": chosen.rate_id, "object_status": "SUCCESS"}
            )
            if existing.get("results"):
                return dict(existing["results"][0])
            bought: dict[str, Any] = self._request(
                "POST",
                "/transactions/",
                json={
                    "rate": chosen.rate_id,
                    "label_file_type": "PDF_4x6",
                    "metadata": idempotency_key[:100],
                    "async": False,
                },
            )
            if bought.get("status") == "ERROR":
                raise CarrierRejected(_messages(bought) or "Shippo could not buy the label")
            if bought.get("status") != "SUCCESS":
                raise CarrierUnavailable(f"Shippo transaction is {bought.get('status')}, not ready yet")
            return bought

        transaction = self._settings.retry.call(buy_once)
        return Label(
            carrier=chosen.carrier,
            service=chosen.service,
            tracking_code=transaction["tracking_number"],
            rate=chosen,
            carrier_label_id=transaction["object_id"],
            label_url=transaction["label_url"],
        )

    def void_label(self, label_id: str) -> None:
        """Request a refund of transaction `label_id`. Raises CarrierRejected when Shippo reports ERROR."""
        refund = self._retried("POST", "/refunds/", json={"transaction": label_id, "async": False})
        if refund.get("status") == "ERROR":
            raise CarrierRejected(_messages(refund) or f"Shippo refused to refund {label_id}")

    def track(self, tracking_code: str, *, carrier: str | None = None) -> list[TrackingEvent]:
        """Tracking history for `tracking_code` at `carrier` (a Shippo carrier token; default from settings)."""
        token = carrier or self._settings.default_tracking_carrier
        track = self._retried("GET", f"/tracks/{token}/{tracking_code}")
        events = [self._event(tracking_code, raw) for raw in track.get("tracking_history") or []]
        return sorted(events, key=lambda event: event.occurred_at)

    @staticmethod
    def _event(tracking_code: str, raw: dict[str, Any]) -> TrackingEvent:
        where = raw.get("location") or {}
        location = ", ".join(str(where[k]) for k in ("city", "state", "country") if where.get(k))
        raw_status = raw.get("status") or "UNKNOWN"
        status = STATUS_MAP.get(raw_status, TrackingStatus.UNKNOWN)
        substatus = raw.get("substatus") or {}
        if status is TrackingStatus.IN_TRANSIT and substatus.get("code") == "out_for_delivery":
            status = TrackingStatus.OUT_FOR_DELIVERY
        return TrackingEvent(
            tracking_code=tracking_code,
            status=status,
            occurred_at=parse_timestamp(raw["status_date"]),
            location=location,
            raw_status=raw_status,
            description=raw.get("status_details") or "",
        )
