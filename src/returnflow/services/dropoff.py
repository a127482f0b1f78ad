"""Box-free drop-off: the nearest points, the QR code the customer shows, and the scan at the point.

The QR code encodes ``RFD1:<rma number>:<token>`` (``adapters.dropoff.dropoff_code``); the token is 16
random hex digits stored per RMA in ``dropoff_codes``, so a code can't be guessed from the RMA number.
The scan at the point counts as the carrier's first scan: the RMA (and any RMA in the same parcel) goes
``in_transit``. An RMA without a label gets one first (the point prints it: that is the box-free part).
Scanning the same code again changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from returnflow.adapters.carriers.base import Carrier
from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.dropoff import (
    DROPOFF_CODE_PREFIX,
    NearbyDropoffPoint,
    UnknownPostalCode,
    dropoff_qr_png,
    load_dropoff_points,
    nearest_dropoff_points,
)
from returnflow.domain.errors import IllegalTransition, InvalidInput, NotFound
from returnflow.domain.returns import ReturnAuthorization
from returnflow.domain.statuses import CarrierScan, ReturnStatus
from returnflow.services import logistics

UowFactory = Callable[[], UnitOfWork]
_CAN_DROP_OFF = (ReturnStatus.AUTHORIZED, ReturnStatus.LABEL_ISSUED)


@dataclass(frozen=True)
class DropoffScanResult:
    """What a drop-off scan did: the RMAs in the parcel and whether this scan was new."""

    rma_numbers: tuple[str, ...]
    tracking_code: str
    first_scan: bool


def nearest_points(postal_code: str, country: str = "US", limit: int = 5) -> list[NearbyDropoffPoint]:
    """Up to ``limit`` points nearest the postal code's centroid (great-circle km). Raises ``InvalidInput``."""
    try:
        return nearest_dropoff_points(postal_code, country, limit)
    except UnknownPostalCode as error:
        raise InvalidInput(str(error)) from error


def dropoff_qr(uow_factory: UowFactory, number: str, *, point_id: str | None = None) -> bytes:
    """PNG of the RMA's drop-off QR code; the code is made on first call and kept (same code after).

    Raises NotFound (RMA), InvalidInput (unknown point), IllegalTransition (nothing to send back now).
    """
    if point_id and point_id not in {p.id for p in load_dropoff_points()}:
        raise InvalidInput(f"unknown drop-off point {point_id}")
    with uow_factory() as uow:
        rma = uow.repo.rma_by_number(number.strip(), for_update=True)
        if rma is None:
            raise NotFound(f"no return authorization {number}")
        row = uow.session.execute(select(t.dropoff_codes).where(t.dropoff_codes.c.rma_number == rma.number)).first()
        if row is None:
            if rma.status not in _CAN_DROP_OFF:
                raise IllegalTransition(status=str(rma.status), action="drop_off", rma_number=rma.number)
            token = secrets.token_hex(8)
            uow.session.execute(insert(t.dropoff_codes).values(rma_number=rma.number, token=token,
                                                               dropoff_point_id=point_id, created_at=_now()))
        else:
            token = row.token
            if point_id:
                uow.session.execute(update(t.dropoff_codes).where(t.dropoff_codes.c.rma_number == rma.number)
                                    .values(dropoff_point_id=point_id))
        uow.commit()
    return dropoff_qr_png(rma.number, token)


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(code: str) -> tuple[str, str]:
    parts = code.strip().split(":")
    if len(parts) != 3 or parts[0] != DROPOFF_CODE_PREFIX or not parts[1] or not parts[2]:
        raise InvalidInput("not a Returnflow drop-off code (expected RFD1:<rma number>:<token>)")
    return parts[1], parts[2]


def record_dropoff_scan(uow_factory: UowFactory, code: str, *, carrier: Carrier, actor: str,
                        point_id: str = "", at: datetime | None = None) -> DropoffScanResult:
    """Apply the scan of a drop-off QR code as the carrier's first scan (``in_transit``) on the RMA and on
    every RMA sharing its tracking code. Idempotent: a second scan of the code changes nothing.

    Raises InvalidInput (malformed or unknown code: same message, so codes can't be probed).
    """
    number, token = _parse(code)
    with uow_factory() as uow:
        row = uow.session.execute(select(t.dropoff_codes).where(t.dropoff_codes.c.rma_number == number)).first()
    if row is None or not hmac.compare_digest(row.token, token):
        raise InvalidInput("unknown drop-off code")
    stored = logistics.issue_label(uow_factory, number, carrier=carrier, actor=actor) if \
        row.scanned_at is None else None
    at = at or _now()
    with uow_factory() as uow:
        first = uow.repo.rma_by_number(number, for_update=True)
        assert first is not None
        tracking_code = first.tracking_code or (stored.tracking_code if stored else "")
        scanned = uow.session.execute(select(t.dropoff_codes.c.scanned_at)
                                      .where(t.dropoff_codes.c.rma_number == number)).scalar()
        rmas: list[ReturnAuthorization] = sorted(uow.session.scalars(
            select(ReturnAuthorization).where(t.return_authorizations.c.tracking_code == tracking_code)
            .with_for_update()).all(), key=lambda r: r.number) or [first]
        if scanned is not None:
            return DropoffScanResult(tuple(r.number for r in rmas), tracking_code, False)
        befores = [(rma, len(rma.events)) for rma in rmas]
        location = f"drop-off point {point_id or row.dropoff_point_id or 'unknown'}"
        for rma in rmas:
            rma.record_scan(actor=actor, at=at, scan=CarrierScan.IN_TRANSIT, location=location)
        uow.session.execute(update(t.dropoff_codes).where(t.dropoff_codes.c.rma_number == number)
                            .values(scanned_at=at, dropoff_point_id=point_id or row.dropoff_point_id))
        logistics._commit_with_events(uow, befores, at)
    return DropoffScanResult(tuple(r.number for r in rmas), tracking_code, True)
