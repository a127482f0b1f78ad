"""Customer portal use cases: what of an order can be returned, the refund preview, submitting a
return with the customer's choices (outcome, how the parcel travels, photos) and the tracking timeline.

The return itself is opened by :func:`returnflow.services.returns.request_return`; this module adds
only what the portal collects around it. Photos are checked (type by magic bytes, size, count) before
anything is stored, so a refused upload leaves no RMA behind.
"""

from __future__ import annotations

import dataclasses
import io

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from PIL import Image
from sqlalchemy import insert, select

from returnflow.adapters.db import tables as t
from returnflow.domain import policy as policy_rules
from returnflow.domain.errors import DomainError, InvalidInput, NotFound, ProofRejected
from returnflow.domain.orders import LineKind
from returnflow.domain.policy import ReturnPolicy, Verdict
from returnflow.domain.returns import ReturnAuthorization
from returnflow.services import returns as svc
from returnflow.services.policies import DraftLine, preview_draft_return
from returnflow.services.returns import UowFactory

OUTCOMES = {"refund": "Refund to the original payment", "store_credit": "Store credit",
            "exchange": "Exchange for another size or colour"}
SHIPPING_METHODS = {"label": "Printable label (PDF)", "dropoff_qr": "QR code for a drop-off point",
                    "pickup": "Home pickup"}
PICKUP_WINDOWS = ("08:00-12:00", "12:00-16:00", "16:00-20:00")
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"RIFF": "image/webp"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
#: The largest form that carries photos: the photos at their largest, plus 1 MiB for the other fields.
MAX_UPLOAD_BYTES = MAX_PHOTOS * MAX_PHOTO_BYTES + 1024 * 1024


@dataclass(frozen=True)
class PortalLine:
    """An order line as the portal shows it: units still returnable, until when, or why not."""

    id: int
    sku: str
    description: str
    quantity: int
    returnable: int
    unit_price: Decimal
    returnable_until: datetime | None
    needs_review: bool
    blocked_reason: str = ""


@dataclass(frozen=True)
class PortalOrder:
    order_number: str
    placed_at: datetime
    currency: str
    lines: list[PortalLine] = field(default_factory=list)


@dataclass(frozen=True)
class Photo:
    """An uploaded photo: ``content`` bytes and the file name the browser sent."""

    filename: str
    content: bytes


def _deadline(policy: ReturnPolicy, placed_at: datetime) -> datetime:
    days = policy.review_window_days if policy.review_window_days is not None else policy.window_days
    return placed_at + timedelta(days=days)


def resolve_proof(uow_factory: UowFactory, *, order_number: str, proof: str) -> str:
    """The order's email when ``proof`` is its email, or its customer's postcode (spaces and case ignored).

    Raises:
        NotFound: unknown order or a proof that matches neither (the same words for both).
    """
    proof = proof.strip()
    if "@" not in proof:
        postcode = proof.replace(" ", "").upper()
        with uow_factory() as uow:
            order = uow.repo.order_by_number(order_number.strip())
            row = uow.session.execute(select(t.customers.c.postal_code).where(
                t.customers.c.id == order.customer_id)).first() if order else None
            if postcode and row and row.postal_code and row.postal_code.replace(" ", "").upper() == postcode:
                return order.customer_email  # type: ignore[union-attr]
        raise ProofRejected("no order matches that order number and email")
    svc.find_order(uow_factory, order_number=order_number, proof=proof)
    return proof.lower()


def order_for_portal(uow_factory: UowFactory, *, order_number: str, proof: str, policy: ReturnPolicy,
                     at: datetime | None = None) -> PortalOrder:
    """The order's lines with what can be returned. Raises ``NotFound`` (same words for a wrong pair)."""
    at = at or datetime.now(UTC)
    order, returned = svc.find_order(uow_factory, order_number=order_number, proof=proof)
    lines = []
    for line in order.lines:
        verdict = policy_rules.check_line(policy, order=order, line=line, requested_at=at)
        left = max(line.quantity - returned.get(line.id or 0, 0), 0) if line.kind == LineKind.GOODS else 0
        reason = ""
        if verdict.verdict == Verdict.NOT_ELIGIBLE:
            reason = verdict.reasons[0]
        elif left == 0:
            reason = "every unit of this line has already been returned or is on an open return"
        lines.append(PortalLine(id=line.id or 0, sku=line.sku, description=line.description, quantity=line.quantity,
                                returnable=0 if reason else left, unit_price=line.unit_price,
                                returnable_until=None if line.kind != LineKind.GOODS
                                else _deadline(policy, order.placed_at),
                                needs_review=verdict.verdict == Verdict.NEEDS_REVIEW, blocked_reason=reason))
    return PortalOrder(order.order_number, order.placed_at, order.currency, lines)


@dataclass(frozen=True)
class Preview:
    """Refund preview: per line (order line id -> amount), ``total``, and the store-credit value."""

    currency: str
    lines: dict[int, Decimal]
    total: Decimal
    store_credit_total: Decimal


def preview(uow_factory: UowFactory, *, order_number: str, proof: str, units: dict[int, int],
            policy: ReturnPolicy, reasons: dict[int, str] | None = None) -> Preview:
    """What returning ``units`` (order line id -> units) would pay back if every unit comes back accepted.

    The same calculator as the refund issued (``services.policies.preview_draft_return`` ->
    ``domain.settlement.quote_refund``): discounts, tax, the policy's fees (by reason) and the cap.
    ``store_credit_total`` adds the policy's store-credit bonus.

    Raises:
        NotFound: wrong order/proof. InvalidInput: an unknown line or more units than are left.
    """
    reasons = reasons or {}
    lines = [DraftLine(order_line_id=line_id, quantity=count, reason=reasons.get(line_id) or "")
             for line_id, count in units.items() if count > 0]
    if not lines:
        return Preview(currency="", lines={}, total=Decimal(0), store_credit_total=Decimal(0))
    draft = preview_draft_return(uow_factory, order_number=order_number, proof=proof, lines=lines, policy=policy)
    quote = draft.quote
    return Preview(quote.currency, dict(quote.allocations), quote.total, quote.total + draft.store_credit_bonus)


def check_photos(photos: list[Photo]) -> list[tuple[str, bytes]]:
    """(content type, bytes) of each photo. Raises ``InvalidInput`` for a wrong type, size or count."""
    photos = [p for p in photos if p.content]
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"you can add at most {MAX_PHOTOS} photos")
    out = []
    for photo in photos:
        if len(photo.content) > MAX_PHOTO_BYTES:
            raise InvalidInput(f"the photo “{photo.filename[:80]}” is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
        kind = next((ct for magic, ct in PHOTO_TYPES.items() if photo.content.startswith(magic)), None)
        if kind == "image/webp" and photo.content[8:12] != b"WEBP":
            kind = None
        if kind is not None and not _decodes(photo.content):
            kind = None  # the right first bytes, but not an image (Pillow cannot read it)
        if kind is None:
            raise InvalidInput(f"the file “{photo.filename[:80]}” is not a JPEG, PNG or WebP photo")
        out.append((kind, photo.content))
    return out


def _decodes(content: bytes) -> bool:
    """Whether Pillow reads ``content`` as an image (its header and structure: ``Image.verify``)."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
    except Exception:  # noqa: BLE001  (Pillow raises many kinds for a broken file)
        return False
    return True


def submit_return(uow_factory: UowFactory, *, order_number: str, email: str, lines: list[svc.RequestedLine],
                  outcome: str, shipping_method: str, policy: ReturnPolicy, pickup_window: str = "",
                  exchange_note: str = "", photos: list[Photo] | None = None) -> ReturnAuthorization:
    """Open the RMA (policy decides: authorized or review) and record the customer's choices and photos.

    Raises:
        InvalidInput: an unknown outcome / shipping method / pickup window, bad photos, or what
        ``request_return`` raises (``NotFound``, ``NotEligible``, ``QuantityExceedsReturnable``).
    """
    if outcome not in OUTCOMES:
        raise InvalidInput("choose how you want to be paid back")
    if shipping_method not in SHIPPING_METHODS:
        raise InvalidInput("choose how the parcel travels")
    if shipping_method == "pickup" and pickup_window not in PICKUP_WINDOWS:
        raise InvalidInput("choose a pickup time window")
    if outcome == "exchange" and not exchange_note.strip():
        raise InvalidInput("tell us which size or colour you would like instead")
    checked = check_photos(photos or [])
    # The photos are checked (real PNG/JPEG, size) and stored with the RMA for the agent: they count for a
    # reason that needs one (the portal has one upload per return, so each line counts them all).
    lines = [dataclasses.replace(line, photos=len(checked)) for line in lines]
    rma = svc.request_return(uow_factory, order_number=order_number, proof=email, lines=lines,
                             actor=None, policy=policy, channel="portal")
    now = datetime.now(UTC)
    with uow_factory() as uow:
        uow.session.execute(insert(t.return_preferences).values(
            rma_id=rma.id, outcome=outcome, exchange_note=exchange_note.strip()[:255],
            shipping_method=shipping_method, pickup_window=pickup_window if shipping_method == "pickup" else "",
            customer_email=email.strip().lower()))
        if checked:
            uow.session.execute(insert(t.return_photos), [
                {"rma_id": rma.id, "source": "customer", "content_type": kind, "size_bytes": len(data), "data": data,
                 "uploaded_at": now} for kind, data in checked])
        uow.commit()
    # A return the policy approved at once gets its label now, like one an agent approves.
    try:
        rma = issue_label_if_chosen(uow_factory, rma, actor="system:label")
    except DomainError:
        pass  # the return stands; an agent can issue the label from the detail page
    return rma


#: Shipping choices that travel on a label the customer prints or shows: issued as soon as the return is approved.
LABEL_METHODS = ("label", "dropoff_qr")


def issue_label_if_chosen(uow_factory: UowFactory, rma: ReturnAuthorization, *, actor: str) -> ReturnAuthorization:
    """Issue the label of an approved RMA whose customer chose a printable label or a drop-off QR code
    (``services.returns.issue_label``, the built-in carrier); any other RMA is returned unchanged.

    Raises:
        DomainError: what ``issue_label`` raises (the approval itself stands).
    """
    if str(rma.status) != "authorized" or rma.tracking_code:
        return rma
    if preferences(uow_factory, rma.id or 0).get("shipping_method") not in LABEL_METHODS:
        return rma
    return svc.issue_label(uow_factory, rma.number, actor=actor)


def preferences(uow_factory: UowFactory, rma_id: int) -> dict[str, str]:
    """The customer's recorded choices for an RMA ({} when it was not opened in the portal)."""
    with uow_factory() as uow:
        row = uow.session.execute(select(t.return_preferences).where(t.return_preferences.c.rma_id == rma_id)).first()
        return {k: v for k, v in row._mapping.items() if k != "rma_id"} if row else {}


@dataclass(frozen=True)
class StoredPhoto:
    """A photo kept with an RMA: ``source`` customer or warehouse; ``data`` the image bytes as uploaded."""

    id: int
    source: str
    content_type: str
    size_bytes: int
    uploaded_at: datetime


def photos_of(uow_factory: UowFactory, rma_id: int) -> list[StoredPhoto]:
    """The photos stored for an RMA, oldest first (without their bytes)."""
    c = t.return_photos.c
    with uow_factory() as uow:
        rows = uow.session.execute(select(c.id, c.source, c.content_type, c.size_bytes, c.uploaded_at)
                                   .where(c.rma_id == rma_id).order_by(c.id)).all()
    return [StoredPhoto(r.id, r.source, r.content_type, r.size_bytes, r.uploaded_at) for r in rows]


def photo_bytes(uow_factory: UowFactory, rma_id: int, photo_id: int) -> tuple[str, bytes]:
    """(content type, bytes) of photo ``photo_id`` of the RMA. Raises ``NotFound`` (also for another RMA's photo)."""
    c = t.return_photos.c
    with uow_factory() as uow:
        row = uow.session.execute(select(c.content_type, c.data).where(c.id == photo_id, c.rma_id == rma_id)).first()
    if row is None:
        raise NotFound(f"no photo {photo_id} on this return")
    return str(row.content_type), bytes(row.data)


def photo_count(uow_factory: UowFactory, rma_id: int) -> dict[str, int]:
    """Photos stored for an RMA by source (customer, warehouse)."""
    from sqlalchemy import func
    with uow_factory() as uow:
        rows = uow.session.execute(select(t.return_photos.c.source, func.count()).where(
            t.return_photos.c.rma_id == rma_id).group_by(t.return_photos.c.source))
        return {source: int(n) for source, n in rows}


TIMELINE = (("requested", "Requested", ("return.requested",)),
            ("approved", "Approved", ("return.authorized",)),
            ("label", "Label ready", ("return.label_issued",)),
            ("in_transit", "In transit", ("return.in_transit", "return.delivered")),
            ("received", "Received", ("return.received",)),
            ("inspected", "Inspected", ("return.inspected",)),
            ("refunded", "Refunded", ("return.refunded", "return.settled")))


@dataclass(frozen=True)
class TimelineStep:
    key: str
    label: str
    done: bool
    at: datetime | None


def timeline(rma: ReturnAuthorization) -> list[TimelineStep]:
    """The seven customer-facing steps with the time each first happened (None: not yet)."""
    first: dict[str, datetime] = {}
    for event in rma.events:
        first.setdefault(event.name, event.occurred_at)
    steps = []
    for key, label, names in TIMELINE:
        times = [first[n] for n in names if n in first]
        steps.append(TimelineStep(key, label, bool(times), min(times) if times else None))
    return steps


def rma_for_tracking(uow_factory: UowFactory, number: str) -> ReturnAuthorization:
    """The RMA a signed tracking link names. Raises ``NotFound``."""
    try:
        return svc.get_rma(uow_factory, number)
    except NotFound:
        raise NotFound("this tracking link does not match a return") from None
