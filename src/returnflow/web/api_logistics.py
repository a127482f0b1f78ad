"""JSON API for logistics: labels, drop-off, home pickup, consolidation, carrier events, 3PL receipts.

Customers reach their own RMA's label, QR code and pickup with the order's email (``?email=``), as in
``api_returns.get_return``; staff with an API key. Drop-off scans and 3PL receipts take a staff or partner
key with ``logistics:write`` (or ``returns:write``). Carrier webhooks are signed instead of keyed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import ConfigDict, Field

from returnflow.adapters.carriers.base import Address, CarrierUnavailable
from returnflow.adapters.carriers.easypost import STATUS_MAP as EASYPOST_STATUS
from returnflow.adapters.carriers.retrying import parse_timestamp
from returnflow.domain.errors import InvalidInput, NotFound
from returnflow.services import dropoff, logistics, pickups, receipts, tracking
from returnflow.services import returns as svc
from returnflow.services.access import ApiPrincipal
from returnflow.web.schemas import ApiIn
from returnflow.web.api_returns import customer_rma
from returnflow.web.deps import ContainerDep, OptionalPrincipal, require, optional_principal

# Every API request that carries a staff key has it checked (401 when unknown), whatever the endpoint: the
# proof-guessing limit exempts only requests with a staff credential (web.middleware.ProofFailureRateLimit).
#: Carrier event feeds and 3PL receipt batches may be larger than the API's general 2 MiB body limit.
FEED_BODY_BYTES = 16 * 1024 * 1024
router = APIRouter(prefix="/api/v1", tags=["logistics"], dependencies=[Depends(optional_principal)])
Writer = Annotated[ApiPrincipal, require("returns:write")]


def _logistics_writer(principal: OptionalPrincipal) -> ApiPrincipal:
    if principal is None:
        raise HTTPException(401, "this action needs a staff or partner API key", headers={"WWW-Authenticate": "Bearer"})
    if not (principal.allows("logistics:write") or principal.allows("returns:write")):
        raise HTTPException(403, "the API key lacks the 'logistics:write' scope")
    return principal


Partner = Annotated[ApiPrincipal, Depends(_logistics_writer)]
Email = Annotated[str | None, Query(max_length=254)]


def _customer_or_staff(container: Any, number: str, principal: ApiPrincipal | None, email: str | None) -> str:
    """The actor name; raises 404 (not 403) to a wrong email, so RMA numbers can't be probed."""
    if principal is not None:
        svc.get_rma(container.uow, number)  # 404 for an unknown number
        if not principal.allows("read"):
            raise HTTPException(403, "the API key lacks the 'read' scope")
        return f"staff:{principal.name}"
    return f"customer:{customer_rma(container, number, email).customer_id}"


class AddressIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=100)
    street1: str = Field(..., min_length=1, max_length=100)
    street2: str = Field("", max_length=100)
    city: str = Field(..., min_length=1, max_length=100)
    state: str = Field("", max_length=50)
    postal_code: str = Field(..., min_length=1, max_length=20)
    country: str = Field(..., min_length=2, max_length=2, description="ISO 3166-1 alpha-2")

    def to_address(self) -> Address:
        return Address(**self.model_dump())


class LabelRequestIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    return_center_code: str | None = Field(None, max_length=32)
    from_address: AddressIn | None = None


def _label_out(label: logistics.StoredLabel, number: str) -> dict[str, Any]:
    return {"rma_number": label.rma_number or number, "shipment_reference": label.shipment_reference,
            "carrier": label.carrier, "service": label.service, "tracking_code": label.tracking_code,
            "rate": {"amount": str(label.rate.amount), "currency": label.rate.currency} if label.rate else None,
            "label_url": label.label_url or f"/api/v1/returns/{number}/label.pdf",
            "created_at": label.created_at.isoformat()}


def _carrier_call(call: Any) -> Any:
    try:
        return call()
    except CarrierUnavailable as error:
        raise HTTPException(503, f"the carrier is unavailable, try again later: {error.message}") from error


@router.post("/returns/{number}/shipping-label", status_code=201)
def issue_label(number: str, body: LabelRequestIn, container: ContainerDep, principal: OptionalPrincipal,
                email: Email = None) -> dict[str, Any]:
    """Buy the RMA's return label with the configured carrier (again: the same label)."""
    actor = _customer_or_staff(container, number, principal, email)
    label = _carrier_call(lambda: logistics.issue_label(
        container.uow, number, carrier=container.carrier, actor=actor, return_center_code=body.return_center_code,
        from_address=body.from_address.to_address() if body.from_address else None))
    return _label_out(label, number)


@router.get("/returns/{number}/label.pdf", response_class=Response)
def label_pdf(number: str, container: ContainerDep, principal: OptionalPrincipal, email: Email = None) -> Response:
    """The label PDF (or a redirect to the carrier's label URL)."""
    _customer_or_staff(container, number, principal, email)
    label = logistics.label_document(container.uow, number)
    if label.label_pdf is None:
        if label.label_url:
            return Response(status_code=307, headers={"Location": label.label_url})
        raise NotFound(f"RMA {number} has no label document")
    return Response(label.label_pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}-label.pdf"'})


@router.get("/returns/{number}/shipping-estimate")
def shipping_estimate(number: str, container: ContainerDep, _: Annotated[ApiPrincipal, require("read")]
                      ) -> dict[str, str]:
    """Staff: estimated return shipping cost of the RMA (rate model; see services.logistics)."""
    money = logistics.estimate_for_rma(container.uow, number)
    return {"amount": str(money.amount), "currency": money.currency}


# -- drop-off -------------------------------------------------------------------------------------------


@router.get("/dropoff-points")
def dropoff_points(postal_code: Annotated[str, Query(min_length=3, max_length=20)], country: str = "US",
                   limit: Annotated[int, Query(ge=1, le=20)] = 5) -> list[dict[str, Any]]:
    """The nearest drop-off points to a postal code, nearest first, with great-circle km."""
    return [{"id": n.point.id, "name": n.point.name, "street": n.point.street, "city": n.point.city,
             "state": n.point.state, "postal_code": n.point.postal_code, "country": n.point.country,
             "opening_hours": n.point.opening_hours, "distance_km": round(n.distance_km, 1)}
            for n in dropoff.nearest_points(postal_code, country, limit)]


@router.get("/returns/{number}/dropoff-qr.png", response_class=Response)
def dropoff_qr(number: str, container: ContainerDep, principal: OptionalPrincipal, email: Email = None,
               point_id: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    """The QR code to show at the drop-off point (the same code every time)."""
    _customer_or_staff(container, number, principal, email)
    return Response(dropoff.dropoff_qr(container.uow, number, point_id=point_id), media_type="image/png")


class DropoffScanIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(..., min_length=1, max_length=200)
    point_id: str = Field("", max_length=32)
    occurred_at: datetime | None = None


@router.post("/dropoff/scans")
def dropoff_scan(body: DropoffScanIn, container: ContainerDep, p: Partner) -> dict[str, Any]:
    """A drop-off point scanned a customer's QR code: the parcel's first carrier scan."""
    result = _carrier_call(lambda: dropoff.record_dropoff_scan(
        container.uow, body.code, carrier=container.carrier, actor=f"dropoff:{p.name}", point_id=body.point_id,
        at=body.occurred_at))
    return {"rma_numbers": list(result.rma_numbers), "tracking_code": result.tracking_code,
            "first_scan": result.first_scan}


# -- consolidation --------------------------------------------------------------------------------------


class ConsolidateIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    rma_numbers: list[str] = Field(..., min_length=2, max_length=50)
    from_address: AddressIn | None = None


@router.post("/shipments", status_code=201)
def consolidate(body: ConsolidateIn, container: ContainerDep, p: Writer) -> dict[str, Any]:
    """Staff: one parcel and one label for several authorized RMAs of one customer."""
    shipment = _carrier_call(lambda: logistics.consolidate(
        container.uow, body.rma_numbers, carrier=container.carrier, actor=f"staff:{p.name}",
        from_address=body.from_address.to_address() if body.from_address else None))
    return {"reference": shipment.reference, "rma_numbers": list(shipment.rma_numbers),
            "return_center_code": shipment.return_center_code,
            "label": _label_out(shipment.label, shipment.rma_numbers[0])}


# -- home pickup ----------------------------------------------------------------------------------------


class WindowIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    area: str = Field(..., min_length=1, max_length=16, description="postal code prefix")
    day: date
    starts: str = Field(..., pattern=r"^\d\d:\d\d$")
    ends: str = Field(..., pattern=r"^\d\d:\d\d$")
    capacity: int = Field(..., ge=1, le=10000)


def _window_out(w: pickups.PickupWindow) -> dict[str, Any]:
    return {"id": w.id, "area": w.area, "day": w.day.isoformat(), "starts": w.starts, "ends": w.ends,
            "capacity": w.capacity, "booked": w.booked, "remaining": w.remaining}


def _booking_out(b: pickups.PickupBooking) -> dict[str, Any]:
    return {"id": b.id, "rma_number": b.rma_number, "status": b.status, "postal_code": b.postal_code,
            "address": b.address, "window": _window_out(b.window),
            "fee": {"amount": str(b.fee.amount), "currency": b.fee.currency}}


@router.post("/pickup-windows", status_code=201)
def create_windows(body: list[WindowIn], container: ContainerDep, _: Writer) -> list[dict[str, Any]]:
    """Staff: open pickup windows (area, day, time, capacity)."""
    made = pickups.create_windows(container.uow, [(w.area, w.day, w.starts, w.ends, w.capacity) for w in body])
    return [_window_out(w) for w in made]


@router.get("/pickup-windows")
def list_windows(container: ContainerDep, postal_code: Annotated[str, Query(min_length=2, max_length=20)],
                 day_from: date, day_to: date) -> list[dict[str, Any]]:
    """Windows with free places for a postal code between two days (inclusive)."""
    return [_window_out(w) for w in pickups.available_windows(container.uow, postal_code=postal_code,
                                                              day_from=day_from, day_to=day_to)]


class PickupIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    window_id: int
    postal_code: str = Field(..., min_length=2, max_length=20)
    address: str = Field("", max_length=500)


class RescheduleIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    window_id: int


@router.post("/returns/{number}/pickup", status_code=201)
def book_pickup(number: str, body: PickupIn, container: ContainerDep, principal: OptionalPrincipal,
                email: Email = None) -> dict[str, Any]:
    """Book a home pickup for the RMA (fee: RETURNFLOW_PICKUP_FEE, in the RMA's currency)."""
    _customer_or_staff(container, number, principal, email)
    return _booking_out(pickups.book_pickup(container.uow, number, window_id=body.window_id,
                                            postal_code=body.postal_code, address=body.address,
                                            fee=container.logistics.pickup_fee))


@router.put("/returns/{number}/pickup")
def reschedule_pickup(number: str, body: RescheduleIn, container: ContainerDep, principal: OptionalPrincipal,
                      email: Email = None) -> dict[str, Any]:
    """Move the booking to another window."""
    _customer_or_staff(container, number, principal, email)
    return _booking_out(pickups.reschedule_pickup(container.uow, number, window_id=body.window_id))


@router.delete("/returns/{number}/pickup")
def cancel_pickup(number: str, container: ContainerDep, principal: OptionalPrincipal,
                  email: Email = None) -> dict[str, Any]:
    """Cancel the booking; its place becomes free."""
    _customer_or_staff(container, number, principal, email)
    return _booking_out(pickups.cancel_pickup(container.uow, number))


# -- carrier tracking webhooks --------------------------------------------------------------------------

SIGNATURE_PREFIX = "hmac-sha256-hex="


def signature(secret: str, body: bytes) -> str:
    """``hmac-sha256-hex=`` + hex HMAC-SHA256 of the raw body under the NFKD-normalised secret: EasyPost's
    ``X-Hmac-Signature`` scheme (their docs, Webhooks: HMAC validation; SDK ``util.validate_webhook``)."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def _verify(secret: str, body: bytes, given: str | None) -> None:
    if not secret or not given or not hmac.compare_digest(signature(secret, body), given.strip()):
        raise HTTPException(401, "missing or invalid webhook signature")


def _report_out(report: tracking.TrackingReport) -> dict[str, Any]:
    return {"received": report.received, "outcomes": dict(report.outcomes),
            "rmas_changed": sorted(set(report.rmas_changed))}


@router.post("/carriers/easypost/events", max_body_size=FEED_BODY_BYTES)
async def easypost_event(request: Request, container: ContainerDep,
                         x_hmac_signature: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """An EasyPost Event (``tracker.created`` / ``tracker.updated``): the tracker's current status."""
    body = await request.body()
    _verify(container.logistics.easypost_webhook_secret, body, x_hmac_signature)
    try:
        event = json.loads(body)
        tracker = event.get("result") or {}
        if tracker.get("object") != "Tracker":
            return {"received": 1, "outcomes": {"not_a_tracker": 1}, "rmas_changed": []}
        details = tracker.get("tracking_details") or []
        last = details[-1] if details else {}
        place = last.get("tracking_location") or {}
        update = tracking.TrackingUpdate(
            tracking_code=str(tracker["tracking_code"]),
            status=str(EASYPOST_STATUS.get(tracker.get("status") or "", "unknown")),
            occurred_at=parse_timestamp(last.get("datetime") or tracker.get("updated_at") or event["created_at"]),
            location=", ".join(str(place[k]) for k in ("city", "state", "country") if place.get(k)),
            event_id=str(event.get("id") or ""))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InvalidInput(f"not an EasyPost event: {error}") from error
    return _report_out(tracking.apply_tracking_events(container.uow, "easypost", [update]))


class CarrierEventIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    tracking_code: str = Field(..., min_length=1, max_length=64)
    status: str = Field(..., min_length=1, max_length=32)
    occurred_at: datetime
    location: str = Field("", max_length=255)
    event_id: str = Field("", max_length=128)


def _parse_events(body: bytes, content_type: str) -> list[CarrierEventIn]:
    import csv
    import io

    from pydantic import TypeAdapter, ValidationError

    try:
        if "csv" in content_type:
            rows: list[Any] = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
            rows = [{k: v for k, v in r.items() if k and v not in (None, "")} for r in rows]
        else:
            rows = json.loads(body)
        return TypeAdapter(list[CarrierEventIn]).validate_python(rows)
    except (ValueError, UnicodeDecodeError, ValidationError) as error:
        raise InvalidInput(f"events must be a JSON list or CSV (tracking_code, status, occurred_at, location): "
                           f"{str(error)[:500]}") from error


@router.post("/carriers/{carrier}/events", max_body_size=FEED_BODY_BYTES)
async def carrier_events(carrier: Annotated[str, Path(pattern="^[a-z0-9_-]{2,32}$")], request: Request,
                         container: ContainerDep,
                         x_returnflow_signature: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Generic tracking feed: a JSON list or a CSV body (``Content-Type: text/csv``), signed like EasyPost's
    (``X-Returnflow-Signature: hmac-sha256-hex=...``) with RETURNFLOW_CARRIER_WEBHOOK_SECRET."""
    body = await request.body()
    _verify(container.logistics.carrier_webhook_secret, body, x_returnflow_signature)
    events = _parse_events(body, request.headers.get("content-type", ""))
    for event in events:
        if event.occurred_at.tzinfo is None:
            raise InvalidInput(f"occurred_at of {event.tracking_code} needs a time zone")
    updates = [tracking.TrackingUpdate(e.tracking_code, e.status, e.occurred_at, e.location, e.event_id)
               for e in events]
    return _report_out(tracking.apply_tracking_events(container.uow, carrier, updates))


# -- 3PL receipts ---------------------------------------------------------------------------------------


class ReceiptRowIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    rma_or_tracking: str = Field("", max_length=64)
    sku: str = Field("", max_length=64)
    units: int | str = ""
    grade: str = Field("", max_length=2)
    notes: str = Field("", max_length=2000)
    receipt_id: str = Field("", max_length=100)


@router.post("/3pl/receipts", max_body_size=FEED_BODY_BYTES)
def third_party_receipts(body: Annotated[list[ReceiptRowIn], Field(max_length=5000)], container: ContainerDep,
                         p: Partner) -> dict[str, Any]:
    """A 3PL's receipt and grading rows: per-row validation; bad rows are listed and change nothing."""
    rows = [receipts.ReceiptRow(row=i, rma_or_tracking=r.rma_or_tracking, sku=r.sku, units=str(r.units),
                                grade=r.grade, notes=r.notes, receipt_id=r.receipt_id)
            for i, r in enumerate(body, start=1)]
    report = receipts.import_receipts(container.uow, rows, actor=f"3pl:{p.name}", source="api")
    return {"read": report.read, "imported": report.imported, "already_imported": report.already_imported,
            "rejected": [{"row": r.row, "reason": r.reason} for r in report.rejected],
            "rma_numbers": sorted(set(report.rma_numbers))}
