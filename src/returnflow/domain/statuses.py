"""Status vocabularies of the return authorization and its lines.

Per return line, *reception* (where the goods are) is kept apart from *acceptance* (whether the
merchant takes them back), as Solidus does (``return_item/reception_status.rb`` and
``acceptance_status.rb``).
"""

from __future__ import annotations

from enum import StrEnum


class ReturnStatus(StrEnum):
    """Status of the return authorization (RMA) as a whole; see ``returns.TRANSITIONS``."""

    REQUESTED = "requested"
    IN_REVIEW = "in_review"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    LABEL_ISSUED = "label_issued"
    IN_TRANSIT = "in_transit"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    INSPECTED = "inspected"
    SETTLED = "settled"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ReceptionStatus(StrEnum):
    """Where one return line's goods are."""

    AWAITING = "awaiting"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    SHORT_SHIPPED = "short_shipped"
    LOST_IN_TRANSIT = "lost_in_transit"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class AcceptanceStatus(StrEnum):
    """Whether the merchant accepts one return line."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MANUAL_REVIEW = "manual_review"


class Resolution(StrEnum):
    """How a return is settled."""

    REFUND = "refund"
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"


class Grade(StrEnum):
    """Condition grade at inspection."""

    A = "A"  # like new
    B = "B"  # opened, complete
    C = "C"  # damaged
    D = "D"  # unsellable


class Disposition(StrEnum):
    """What happens to inspected units (ordered roughly by recovery value)."""

    RESTOCK = "restock"
    REFURBISH = "refurbish"
    LIQUIDATE = "liquidate"
    RETURN_TO_VENDOR = "return_to_vendor"
    RECYCLE = "recycle"
    DISPOSE = "dispose"


class CarrierScan(StrEnum):
    """Carrier tracking statuses the RMA reacts to."""

    PRE_TRANSIT = "pre_transit"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    LOST = "lost"
