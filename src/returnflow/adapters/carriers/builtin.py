"""The built-in carrier: no account, rates from the table model in `rates`, our own 4 x 6 in PDF labels.

For shops that ship returns on their own contract (drop the parcel at a post office or drop-off point
with our label) and for demos and tests. Nothing leaves the process: no HTTP.

- Rates: `rates.estimate_return_shipping_cost` (UPS Ground Residential 2005 tables inside the US, the
  distance model elsewhere), service "ground". A missing table entry raises `CarrierRejected`.
- Labels: tracking code `RF` + 12 digits, derived from SHA-256 of (RMA number, idempotency key). The same
  key gives the same tracking code and byte-identical PDF, so a repeated purchase is harmless; a new key
  (e.g. after a void) gives a new code.
- Tracking: events recorded by the system (scans at a drop-off point or the return center) through a
  `TrackingEventLog`; the default keeps them in memory.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from returnflow.adapters.carriers.base import (
    CarrierRejected,
    Label,
    Rate,
    Shipment,
    TrackingEvent,
)
from returnflow.adapters.carriers.label_pdf import render_return_label
from returnflow.adapters.carriers.rates import DistanceRateModel, RateNotAvailable, estimate_return_shipping_cost
from returnflow.adapters.geo import postal_code_coordinates

TRACKING_PREFIX = "RF"
TRACKING_DIGITS = 12

CoordinatesLookup = Callable[[str, str], tuple[float, float] | None]


class TrackingEventLog(Protocol):
    """Where the system records scans of built-in labels."""

    def record(self, event: TrackingEvent) -> None:
        """Store one event."""
        ...

    def events_for(self, tracking_code: str) -> list[TrackingEvent]:
        """Events for `tracking_code`, oldest first."""
        ...


class InMemoryTrackingEventLog:
    """A process-local `TrackingEventLog` (tests, demos)."""

    def __init__(self) -> None:
        self._events: dict[str, list[TrackingEvent]] = defaultdict(list)

    def record(self, event: TrackingEvent) -> None:
        """Store one event."""
        self._events[event.tracking_code].append(event)

    def events_for(self, tracking_code: str) -> list[TrackingEvent]:
        """Events for `tracking_code`, oldest first."""
        return sorted(self._events.get(tracking_code, []), key=lambda event: event.occurred_at)


def builtin_tracking_code(rma_number: str, idempotency_key: str) -> str:
    """`RF` + 12 decimal digits from SHA-256 of "rma_number\\x1fidempotency_key" (first 8 bytes, mod 10^12)."""
    digest = hashlib.sha256(f"{rma_number}\x1f{idempotency_key}".encode()).digest()
    number = int.from_bytes(digest[:8], "big") % 10**TRACKING_DIGITS
    return f"{TRACKING_PREFIX}{number:0{TRACKING_DIGITS}d}"


class BuiltinCarrier:
    """Implements `Carrier` without an external account. See the module docstring."""

    name = "returnflow"
    service = "ground"

    def __init__(
        self,
        *,
        scale: Decimal = Decimal(1),
        distance_model: DistanceRateModel | None = None,
        coordinates: CoordinatesLookup = postal_code_coordinates,
        tracking_events: TrackingEventLog | None = None,
    ) -> None:
        self._scale = scale
        self._distance_model = distance_model
        self._coordinates = coordinates
        self._tracking_events: TrackingEventLog = tracking_events or InMemoryTrackingEventLog()
        self.voided_label_ids: set[str] = set()

    def quote_rates(self, shipment: Shipment) -> list[Rate]:
        """One "ground" rate from the rate model. Raises CarrierRejected when the model has no price."""
        origin, dest = shipment.from_address, shipment.to_address
        try:
            estimate = estimate_return_shipping_cost(
                origin.postal_code,
                origin.country,
                dest.postal_code,
                dest.country,
                shipment.parcel.weight_kg,
                scale=self._scale,
                origin_coordinates=self._coordinates(origin.postal_code, origin.country),
                dest_coordinates=self._coordinates(dest.postal_code, dest.country),
                distance_model=self._distance_model,
            )
        except (RateNotAvailable, ValueError) as error:
            raise CarrierRejected(str(error)) from error
        rate = Rate(carrier=self.name, service=self.service, amount=estimate.amount, currency=estimate.currency)
        return [rate]

    def buy_label(self, shipment: Shipment, *, rate: Rate | None = None, idempotency_key: str) -> Label:
        """A PDF label; same (RMA number, idempotency key) -> same tracking code and identical PDF bytes."""
        chosen = rate or self.quote_rates(shipment)[0]
        tracking_code = builtin_tracking_code(shipment.reference, idempotency_key)
        pdf = render_return_label(
            carrier_name="Returnflow",
            service=chosen.service,
            from_address=shipment.from_address,
            to_address=shipment.to_address,
            rma_number=shipment.reference,
            tracking_code=tracking_code,
            weight_kg=shipment.parcel.weight_kg,
        )
        return Label(
            carrier=self.name,
            service=chosen.service,
            tracking_code=tracking_code,
            rate=chosen,
            carrier_label_id=tracking_code,
            label_pdf=pdf,
        )

    def void_label(self, label_id: str) -> None:
        """Mark a built-in label void (nothing was paid). Raises CarrierRejected for a foreign id."""
        if not (label_id.startswith(TRACKING_PREFIX) and label_id[len(TRACKING_PREFIX) :].isdigit()):
            raise CarrierRejected(f"not a built-in label: {label_id!r}")
        self.voided_label_ids.add(label_id)

    def track(self, tracking_code: str) -> list[TrackingEvent]:
        """Events the system recorded for `tracking_code`, oldest first (empty if none)."""
        return self._tracking_events.events_for(tracking_code)
