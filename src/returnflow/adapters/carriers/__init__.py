"""Carrier adapters behind one port (`base.Carrier`): built-in (no account), EasyPost, Shippo.

Import an adapter from its module (`returnflow.adapters.carriers.easypost`) so that the optional
provider SDKs load only where used.
"""

from returnflow.adapters.carriers.base import (
    Address,
    Carrier,
    CarrierError,
    CarrierRejected,
    CarrierUnavailable,
    Label,
    Parcel,
    Rate,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)

__all__ = [
    "Address",
    "Carrier",
    "CarrierError",
    "CarrierRejected",
    "CarrierUnavailable",
    "Label",
    "Parcel",
    "Rate",
    "Shipment",
    "TrackingEvent",
    "TrackingStatus",
]
