"""The carrier port: what the returns flow needs from a parcel carrier, and the shapes it exchanges.

A carrier quotes rates for a return shipment (customer -> return center), buys a label, voids an unused
label and reports tracking events. Adapters: `builtin` (no account, our own PDF labels), `easypost`,
`shippo`. Units: weights in kg, lengths in cm, money as `Decimal` plus an ISO 4217 currency code, times
timezone-aware UTC. Adapters convert to a provider's units (inches, ounces, ...) at their edge.

Errors: every adapter raises only `CarrierError` subclasses:
- `CarrierUnavailable`: retryable (timeouts, connection failures, HTTP 5xx, HTTP 429 rate limiting);
- `CarrierRejected`: terminal (HTTP 4xx other than 429: invalid address, bad credentials, unknown label).
Both carry the provider's own message in `message` and, when known, `status_code` and `code`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, kw_only=True)
class Address:
    """A postal address. `country` is ISO 3166-1 alpha-2 ("US"); `state` the subdivision code ("NY")."""

    name: str
    street1: str
    street2: str = ""
    city: str
    state: str = ""
    postal_code: str
    country: str


@dataclass(frozen=True)
class Parcel:
    """One box: weight in kg, dimensions in cm."""

    weight_kg: Decimal
    length_cm: Decimal
    width_cm: Decimal
    height_cm: Decimal


@dataclass(frozen=True)
class Shipment:
    """A return shipment: from the customer (`from_address`) to the return center (`to_address`).

    `reference` is the RMA number; carriers print it on the label and echo it in their records.
    """

    from_address: Address
    to_address: Address
    parcel: Parcel
    reference: str


@dataclass(frozen=True)
class Rate:
    """A price for one service. `amount` is a Decimal in `currency` (ISO 4217), as quoted by the carrier.

    `rate_id` is the provider's id for buying this exact rate (EasyPost `rate_...`, Shippo rate
    `object_id`); `shipment_id` the provider's shipment it belongs to. Both are empty for the built-in
    carrier. `estimated_days` is the carrier's transit estimate, or None when it gives none.
    """

    carrier: str
    service: str
    amount: Decimal
    currency: str
    estimated_days: int | None = None
    rate_id: str = ""
    shipment_id: str = ""


@dataclass(frozen=True)
class Label:
    """A bought label. Exactly one of `label_pdf` (the PDF bytes) and `label_url` is normally set.

    `carrier_label_id` is what `Carrier.void_label` takes (EasyPost shipment id, Shippo transaction id,
    the tracking code for the built-in carrier).
    """

    carrier: str
    service: str
    tracking_code: str
    rate: Rate
    carrier_label_id: str
    label_pdf: bytes | None = None
    label_url: str | None = None


class TrackingStatus(enum.StrEnum):
    """Our small tracking vocabulary; adapters map each provider's statuses onto it."""

    PRE_TRANSIT = "pre_transit"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    RETURN_TO_SENDER = "return_to_sender"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TrackingEvent:
    """One scan or status change. `occurred_at` is timezone-aware UTC; `raw_status` the carrier's own word."""

    tracking_code: str
    status: TrackingStatus
    occurred_at: dt.datetime
    location: str
    raw_status: str
    description: str

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("TrackingEvent.occurred_at must be timezone-aware")
        utc = self.occurred_at.astimezone(dt.UTC)
        object.__setattr__(self, "occurred_at", utc)


class CarrierError(Exception):
    """Base of all carrier failures. `message` is the provider's text; `status_code` the HTTP status if any."""

    def __init__(self, message: str, *, status_code: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code


class CarrierUnavailable(CarrierError):
    """Retryable: the carrier timed out, was unreachable, failed (5xx) or rate-limited us (429)."""


class CarrierRejected(CarrierError):
    """Terminal: the carrier refused the request (4xx: invalid address, bad credentials, unknown id)."""


def error_for_status(status_code: int, message: str, *, code: str | None = None) -> CarrierError:
    """Classify an HTTP error status: 429 and 5xx -> `CarrierUnavailable`, other 4xx -> `CarrierRejected`.

    408 (request timeout) is retryable too. Source: RFC 9110 section 15 (status code classes) and both
    providers' error pages ('EasyPost API reference, Errors'; 'Shippo docs, HTTP response status codes'),
    which list 429 as rate limiting and 5xx as server errors.
    """
    if status_code in (408, 429) or status_code >= 500:
        return CarrierUnavailable(message, status_code=status_code, code=code)
    return CarrierRejected(message, status_code=status_code, code=code)


@runtime_checkable
class Carrier(Protocol):
    """The carrier port. All methods raise `CarrierUnavailable` (retryable) or `CarrierRejected`."""

    name: str

    def quote_rates(self, shipment: Shipment) -> list[Rate]:
        """Rates for `shipment`, cheapest first."""
        ...

    def buy_label(self, shipment: Shipment, *, rate: Rate | None = None, idempotency_key: str) -> Label:
        """Buy a label for `rate` (default: the cheapest quote). Retries inside never buy twice."""
        ...

    def void_label(self, label_id: str) -> None:
        """Void (refund) an unused label by `Label.carrier_label_id`."""
        ...

    def track(self, tracking_code: str) -> list[TrackingEvent]:
        """Tracking events for `tracking_code`, oldest first; empty when the carrier knows none yet."""
        ...


def provider_address(address: Address) -> dict[str, str]:
    """The address object EasyPost and Shippo both take (their API references, "Address"): ``zip`` for the
    postal code, the other fields by the same names."""
    return {"name": address.name, "street1": address.street1, "street2": address.street2, "city": address.city,
            "state": address.state, "zip": address.postal_code, "country": address.country}
