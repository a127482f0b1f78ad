"""Logistics use cases: return labels (one RMA or a consolidated parcel), label PDFs, shipping cost estimates.

Labels: the configured carrier (`Carrier` port; the built-in one by default) buys a label for a shipment
from the customer to the RMA's return center. The carrier call happens outside any transaction; the label
is then stored in ``shipping_labels`` under an idempotency key (default ``rma:<number>``) in the same
transaction that records ``label_issued`` on the RMA, so asking again returns the stored label and never
buys a second one. Consolidation puts several authorized RMAs of one customer in one parcel
(``shipments``): one label, and every RMA gets ``label_issued`` with the same tracking code, so tracking
events on that code apply to all of them (see ``services.tracking``).

Drop-off codes and scans live in ``services.dropoff``; pickups in ``services.pickups``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from returnflow.adapters.carriers.base import Address, Carrier, CarrierRejected, Label, Parcel, Rate, Shipment
from returnflow.adapters.carriers.label_pdf import render_return_label
from returnflow.adapters.carriers.rates import RateNotAvailable, estimate_return_shipping_cost
from returnflow.adapters.db import tables as t
from returnflow.adapters.db.repository import event_payload
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.geo import approximate_coordinates, country_code
from returnflow.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from returnflow.domain.money import Money, round_money
from returnflow.domain.orders import Order
from returnflow.domain.returns import TRANSITIONS, ReturnAuthorization
from returnflow.domain.statuses import ReturnStatus
from returnflow.services.centers import center_for_country

UowFactory = Callable[[], UnitOfWork]

#: Assumed weight per returned unit (no product weights in the catalogue yet) and the default box, in cm.
UNIT_WEIGHT_KG = Decimal("0.5")
BOX_CM = (Decimal(30), Decimal(20), Decimal(10))


@dataclass(frozen=True)
class StoredLabel:
    """A label as stored: ``rate`` is None when the price could not be estimated (e.g. a demo label)."""

    idempotency_key: str
    rma_number: str | None
    shipment_reference: str | None
    carrier: str
    service: str
    tracking_code: str
    carrier_label_id: str
    rate: Money | None
    label_pdf: bytes | None
    label_url: str | None
    created_at: datetime


@dataclass(frozen=True)
class ConsolidatedShipment:
    """One parcel for several RMAs: its reference (``SHP-...``), the RMA numbers, and its label."""

    reference: str
    rma_numbers: tuple[str, ...]
    return_center_code: str
    label: StoredLabel


def _now() -> datetime:
    return datetime.now(UTC)


# -- addresses and parcels ------------------------------------------------------------------------------


def center_address(uow: UnitOfWork, code: str) -> tuple[Address, tuple[float, float] | None]:
    """The return center as a carrier `Address` (its address reads "street, city[, state]") and its
    (latitude, longitude). Raises ``InvalidInput`` for an unknown center."""
    row = uow.session.execute(select(t.return_centers).where(t.return_centers.c.code == code)).first()
    if row is None:
        raise InvalidInput(f"unknown return center {code}")
    parts = [p.strip() for p in row.address.split(",")]
    coordinates = (float(row.latitude), float(row.longitude)) if row.latitude is not None else None
    return Address(name=row.name, street1=parts[0], city=parts[1] if len(parts) > 1 else "",
                   state=parts[2] if len(parts) > 2 else "", postal_code=row.postal_code,
                   country=country_code(row.country) or row.country), coordinates


def customer_address(uow: UnitOfWork, rma: ReturnAuthorization, given: Address | None = None) -> Address:
    """The sender: ``given`` (what the customer typed in the portal) or what we know of the customer.

    The customer record holds only a postal code and a country, so without ``given`` the label shows the
    customer id, the postal code and the country.
    """
    if given is not None:
        return given
    row = uow.session.execute(select(t.customers.c.postal_code, t.customers.c.country)
                              .where(t.customers.c.id == rma.customer_id)).first()
    order = uow.repo.order(rma.order_id)
    country = (row.country if row and row.country else (order.country if order else "")) or ""
    return Address(name=f"Customer {rma.customer_id}", street1="", city="",
                   postal_code=row.postal_code if row else "", country=country_code(country) or country)


def parcel_for(rmas: list[ReturnAuthorization]) -> Parcel:
    """The default box, weighing ``UNIT_WEIGHT_KG`` per unit asked back (at least one unit's weight)."""
    units = sum(line.quantity for rma in rmas for line in rma.lines)
    return Parcel(weight_kg=UNIT_WEIGHT_KG * max(units, 1), length_cm=BOX_CM[0], width_cm=BOX_CM[1],
                  height_cm=BOX_CM[2])


# -- shipping cost estimate -----------------------------------------------------------------------------


def estimate_return_shipping(uow: UnitOfWork, *, order: Order, return_center_code: str, units: int = 1,
                             weight_kg: Decimal | None = None, origin_postal_code: str | None = None,
                             scale: Decimal = Decimal(1)) -> Money:
    """Estimated cost of sending a return of ``order`` to ``return_center_code``, for policy and routing.

    Inside the US: the UPS Ground Residential 2005 table price for the zone and billable pounds, times
    ``scale``, in USD. Elsewhere: the per-km model (``rates.DistanceRateModel``, placeholder tariff in EUR)
    from the customer's postal code centroid (US) or country's largest city to the center's coordinates.
    Weight: ``weight_kg`` or ``UNIT_WEIGHT_KG`` x ``units``. Call it inside the caller's unit of work.
    The currency is the rate model's, not the order's: convert before comparing with order amounts.

    Raises:
        InvalidInput: unknown center, or no price (no zone, no service, no coordinates, over 150 lb).
    """
    destination, center_coordinates = center_address(uow, return_center_code)
    postal_code = origin_postal_code
    if postal_code is None:
        postal_code = uow.session.execute(select(t.customers.c.postal_code)
                                          .where(t.customers.c.id == order.customer_id)).scalar() or ""
    origin_country = country_code(order.country) or order.country
    weight = weight_kg if weight_kg is not None else UNIT_WEIGHT_KG * max(units, 1)
    try:
        estimate = estimate_return_shipping_cost(
            postal_code, origin_country, destination.postal_code, destination.country, weight, scale=scale,
            origin_coordinates=approximate_coordinates(postal_code, origin_country),
            dest_coordinates=center_coordinates)
    except (RateNotAvailable, ValueError) as error:
        raise InvalidInput(f"no return shipping estimate: {error}") from error
    return Money(estimate.amount, estimate.currency)


def estimate_for_rma(uow_factory: UowFactory, number: str, *, scale: Decimal = Decimal(1)) -> Money:
    """``estimate_return_shipping`` for an RMA's units to its (or its routed) return center."""
    with uow_factory() as uow:
        rma = _rma(uow, number)
        order = uow.repo.order(rma.order_id)
        assert order is not None
        center = rma.return_center_code or center_for_country(order.country)
        return estimate_return_shipping(uow, order=order, return_center_code=center, scale=scale,
                                        units=sum(line.quantity for line in rma.lines))


# -- labels ---------------------------------------------------------------------------------------------


def _rma(uow: UnitOfWork, number: str, *, for_update: bool = False) -> ReturnAuthorization:
    rma = uow.repo.rma_by_number(number.strip(), for_update=for_update)
    if rma is None:
        raise NotFound(f"no return authorization {number}")
    return rma


def _stored(row: object) -> StoredLabel:
    r = row._mapping  # type: ignore[attr-defined]
    return StoredLabel(idempotency_key=r["idempotency_key"], rma_number=r["rma_number"],
                       shipment_reference=r.get("reference"), carrier=r["carrier"], service=r["service"],
                       tracking_code=r["tracking_code"], carrier_label_id=r["carrier_label_id"],
                       rate=Money(round_money(r["rate_amount"], r["rate_currency"]), r["rate_currency"]) if r["rate_amount"] is not None else None,
                       label_pdf=r["label_pdf"], label_url=r["label_url"], created_at=r["created_at"])


def _label_query():  # type: ignore[no-untyped-def]
    labels, shipments = t.shipping_labels, t.shipments
    return select(labels, shipments.c.reference).select_from(
        labels.outerjoin(shipments, shipments.c.id == labels.c.shipment_id))


def label_by_key(uow: UnitOfWork, key: str) -> StoredLabel | None:
    row = uow.session.execute(_label_query().where(t.shipping_labels.c.idempotency_key == key)).first()
    return _stored(row) if row else None


def label_for_rma(uow: UnitOfWork, number: str) -> StoredLabel | None:
    """The newest label of the RMA: its own, or its consolidated shipment's."""
    in_shipment = select(t.shipment_rmas.c.shipment_id).where(t.shipment_rmas.c.rma_number == number)
    row = uow.session.execute(_label_query().where(
        (t.shipping_labels.c.rma_number == number) | t.shipping_labels.c.shipment_id.in_(in_shipment))
        .order_by(t.shipping_labels.c.id.desc())).first()
    return _stored(row) if row else None


def _insert_label(uow: UnitOfWork, key: str, label: Label, *, rma_number: str | None, shipment_id: int | None,
                  rate_known: bool, at: datetime) -> None:
    uow.session.execute(insert(t.shipping_labels).values(
        idempotency_key=key, rma_number=rma_number, shipment_id=shipment_id, carrier=label.carrier,
        service=label.service, tracking_code=label.tracking_code, carrier_label_id=label.carrier_label_id,
        rate_amount=label.rate.amount if rate_known else None,
        rate_currency=label.rate.currency if rate_known else None,
        label_pdf=label.label_pdf, label_url=label.label_url, created_at=at))


def _commit_with_events(uow: UnitOfWork, rmas: list[tuple[ReturnAuthorization, int]], at: datetime) -> None:
    uow.session.flush()
    uow.repo.add_outbox([("rma.event", event_payload(rma, e)) for rma, before in rmas for e in rma.events[before:]],
                        at=at)
    uow.commit()


def _check_can_label(rma: ReturnAuthorization) -> None:
    if ReturnStatus.LABEL_ISSUED not in TRANSITIONS[ReturnStatus(rma.status)].get("issue_label", frozenset()):
        raise IllegalTransition(status=str(rma.status), action="issue_label", rma_number=rma.number)


def _buy(carrier: Carrier, shipment: Shipment, key: str, estimate: Money | None) -> tuple[Label, bool]:
    """Buy through the port. The built-in carrier is given our estimate as its rate (it would otherwise
    need postal-code coordinates outside the US); external carriers quote their own."""
    rate = None
    if carrier.name == "returnflow":
        rate = Rate(carrier=carrier.name, service="ground", amount=estimate.amount if estimate else Decimal(0),
                    currency=estimate.currency if estimate else "USD")
    try:
        return carrier.buy_label(shipment, rate=rate, idempotency_key=key), carrier.name != "returnflow" or \
            estimate is not None
    except CarrierRejected as error:
        raise InvalidInput(f"the carrier refused the label: {error.message}") from error


def _estimate_or_none(uow: UnitOfWork, order: Order, center: str, units: int) -> Money | None:
    try:
        return estimate_return_shipping(uow, order=order, return_center_code=center, units=units)
    except InvalidInput:
        return None


def issue_label(uow_factory: UowFactory, number: str, *, carrier: Carrier, actor: str,
                return_center_code: str | None = None, from_address: Address | None = None,
                idempotency_key: str | None = None) -> StoredLabel:
    """Buy (or return the already stored) label of one RMA and record ``label_issued`` on it.

    Raises:
        NotFound: unknown RMA. InvalidInput: unknown center, the carrier refused the shipment.
        IllegalTransition: the RMA's status allows no label. Conflict: the RMA travels in a shipment.
        CarrierUnavailable: the carrier is down (retry later; nothing was stored).
    """
    key = idempotency_key or f"rma:{number.strip()}"
    with uow_factory() as uow:
        existing = label_by_key(uow, key) or (label_for_rma(uow, number.strip()) if idempotency_key is None else None)
        if existing:
            return existing
        rma = _rma(uow, number)
        _check_can_label(rma)
        if uow.session.execute(select(t.shipment_rmas.c.shipment_id)
                               .where(t.shipment_rmas.c.rma_number == rma.number)).first():
            raise Conflict(f"RMA {rma.number} travels in a consolidated shipment; use its label")
        order = uow.repo.order(rma.order_id)
        assert order is not None
        center = return_center_code or rma.return_center_code or center_for_country(order.country)
        to_address, _ = center_address(uow, center)
        shipment = Shipment(from_address=customer_address(uow, rma, from_address), to_address=to_address,
                            parcel=parcel_for([rma]), reference=rma.number)
        estimate = _estimate_or_none(uow, order, center, sum(line.quantity for line in rma.lines))
    label, rate_known = _buy(carrier, shipment, key, estimate)
    at = _now()
    with uow_factory() as uow:
        rma = _rma(uow, number, for_update=True)
        before = len(rma.events)
        try:
            _insert_label(uow, key, label, rma_number=rma.number, shipment_id=None, rate_known=rate_known, at=at)
            rma.issue_label(actor=actor, at=at, carrier=label.carrier, tracking_code=label.tracking_code,
                            return_center_code=center)
            _commit_with_events(uow, [(rma, before)], at)
        except IntegrityError:  # a concurrent request stored the same key first
            uow.rollback()
    with uow_factory() as uow:
        stored = label_by_key(uow, key)
    assert stored is not None
    return stored


def label_document(uow_factory: UowFactory, number: str) -> StoredLabel:
    """The RMA's label, for download. An RMA that got a built-in label without a stored PDF (the demo's
    bulk replay records only the tracking code) gets its PDF drawn now, with that tracking code, and stored.

    Raises ``NotFound``: unknown RMA, or no label was ever issued.
    """
    with uow_factory() as uow:
        rma = _rma(uow, number)
        stored = label_for_rma(uow, rma.number)
        if stored is not None:
            return stored
        if rma.carrier != "returnflow" or not rma.tracking_code or not rma.return_center_code:
            raise NotFound(f"RMA {rma.number} has no label")
        to_address, _ = center_address(uow, rma.return_center_code)
        parcel = parcel_for([rma])
        pdf = render_return_label(carrier_name="Returnflow", service="ground",
                                  from_address=customer_address(uow, rma), to_address=to_address,
                                  rma_number=rma.number, tracking_code=rma.tracking_code,
                                  weight_kg=parcel.weight_kg)
        label = Label(carrier="returnflow", service="ground", tracking_code=rma.tracking_code,
                      rate=Rate(carrier="returnflow", service="ground", amount=Decimal(0), currency="USD"),
                      carrier_label_id=rma.tracking_code, label_pdf=pdf)
        try:
            _insert_label(uow, f"rma:{rma.number}", label, rma_number=rma.number, shipment_id=None,
                          rate_known=False, at=_now())
            uow.commit()
        except IntegrityError:
            uow.rollback()
    with uow_factory() as uow:
        stored = label_for_rma(uow, number.strip())
    assert stored is not None
    return stored


# -- consolidation --------------------------------------------------------------------------------------


def shipment_reference(numbers: list[str]) -> str:
    """``SHP-`` + 10 hex digits of SHA-256 of the sorted RMA numbers: the same set, the same shipment."""
    return "SHP-" + hashlib.sha256(",".join(sorted(numbers)).encode()).hexdigest()[:10].upper()


def _shipment(uow: UnitOfWork, reference: str) -> ConsolidatedShipment | None:
    row = uow.session.execute(select(t.shipments).where(t.shipments.c.reference == reference)).first()
    if row is None:
        return None
    numbers = tuple(sorted(uow.session.execute(select(t.shipment_rmas.c.rma_number)
                                               .where(t.shipment_rmas.c.shipment_id == row.id)).scalars()))
    label = label_by_key(uow, f"shipment:{reference}")
    assert label is not None
    return ConsolidatedShipment(reference, numbers, row.return_center_code, label)


def consolidate(uow_factory: UowFactory, numbers: list[str], *, carrier: Carrier, actor: str,
                from_address: Address | None = None) -> ConsolidatedShipment:
    """Send several authorized RMAs of one customer in one parcel with one label. Asking again for the
    same RMAs returns the same shipment.

    Raises:
        InvalidInput: fewer than two RMAs, different customers or return centers, an RMA already in
            another shipment or already labelled on its own. NotFound: unknown RMA.
        IllegalTransition: an RMA that is not ``authorized``.
    """
    wanted = sorted({n.strip() for n in numbers if n.strip()})
    if len(wanted) < 2:
        raise InvalidInput("a consolidated shipment needs at least two RMAs")
    reference = shipment_reference(wanted)
    with uow_factory() as uow:
        found = _shipment(uow, reference)
        if found:
            return found
        rmas = [_rma(uow, n) for n in wanted]
        if len({r.customer_id for r in rmas}) > 1:
            raise InvalidInput("only RMAs of one customer can travel in one parcel")
        orders = {r.number: uow.repo.order(r.order_id) for r in rmas}
        centers = {r.return_center_code or center_for_country(orders[r.number].country) for r in rmas}  # type: ignore[union-attr]
        if len(centers) > 1:
            raise InvalidInput(f"the RMAs go to different return centers: {', '.join(sorted(centers))}")
        for rma in rmas:
            if rma.status != ReturnStatus.AUTHORIZED:
                raise IllegalTransition(status=str(rma.status), action="consolidate", rma_number=rma.number)
            if label_for_rma(uow, rma.number) or uow.session.execute(
                    select(t.shipment_rmas).where(t.shipment_rmas.c.rma_number == rma.number)).first():
                raise InvalidInput(f"RMA {rma.number} already has a label")
        center = centers.pop()
        to_address, _ = center_address(uow, center)
        shipment = Shipment(from_address=customer_address(uow, rmas[0], from_address), to_address=to_address,
                            parcel=parcel_for(rmas), reference=reference)
        order = orders[rmas[0].number]
        assert order is not None
        estimate = _estimate_or_none(uow, order, center, sum(l.quantity for r in rmas for l in r.lines))
    key = f"shipment:{reference}"
    label, rate_known = _buy(carrier, shipment, key, estimate)
    at = _now()
    with uow_factory() as uow:
        locked = [_rma(uow, n, for_update=True) for n in wanted]  # sorted: a fixed lock order
        befores = [(rma, len(rma.events)) for rma in locked]
        try:
            shipment_id = uow.session.execute(insert(t.shipments).values(
                reference=reference, customer_id=locked[0].customer_id, return_center_code=center,
                created_at=at)).inserted_primary_key[0]
            uow.session.execute(insert(t.shipment_rmas), [{"shipment_id": shipment_id, "rma_number": rma.number}
                                                          for rma in locked])
            _insert_label(uow, key, label, rma_number=None, shipment_id=shipment_id, rate_known=rate_known, at=at)
            for rma in locked:
                rma.issue_label(actor=actor, at=at, carrier=label.carrier, tracking_code=label.tracking_code,
                                return_center_code=center)
            _commit_with_events(uow, befores, at)
        except IntegrityError:
            uow.rollback()
    with uow_factory() as uow:
        found = _shipment(uow, reference)
    if found is None:
        raise Conflict("some of these RMAs were consolidated into another shipment meanwhile")
    return found
