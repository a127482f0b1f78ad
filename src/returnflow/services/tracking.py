"""Carrier tracking events: the status mapping, applying events to RMAs, and the expiry / lost sweep.

Mapping (our `TrackingStatus` vocabulary, which the adapters fill from EasyPost, Shippo and the generic
feed, onto the RMA's `CarrierScan`): pre_transit -> pre_transit; in_transit -> in_transit;
out_for_delivery -> out_for_delivery; delivered -> delivered (to the return center, awaiting receipt);
failure and return_to_sender -> exception; lost -> lost; unknown -> ignored.

Duplicates: each event is stored in ``carrier_events`` under (carrier, event id) in the same transaction
that applies it; a repeat is recognised and skipped. Out-of-order events never move an RMA back (the
domain's ``record_scan`` ignores stale or late scans). One tracking code may cover several RMAs (a
consolidated parcel): the event applies to each.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from returnflow.adapters.carriers.base import TrackingStatus
from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import DomainError, InvalidInput
from returnflow.domain.returns import ReturnAuthorization
from returnflow.domain.statuses import CarrierScan, ReceptionStatus, ReturnStatus
from returnflow.services.logistics import _commit_with_events

UowFactory = Callable[[], UnitOfWork]

SCAN_FOR_STATUS: dict[str, CarrierScan | None] = {
    TrackingStatus.PRE_TRANSIT: CarrierScan.PRE_TRANSIT,
    TrackingStatus.IN_TRANSIT: CarrierScan.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY: CarrierScan.OUT_FOR_DELIVERY,
    TrackingStatus.DELIVERED: CarrierScan.DELIVERED,
    TrackingStatus.FAILURE: CarrierScan.EXCEPTION,
    TrackingStatus.RETURN_TO_SENDER: CarrierScan.EXCEPTION,
    "exception": CarrierScan.EXCEPTION,
    "lost": CarrierScan.LOST,
    TrackingStatus.UNKNOWN: None,
}


def carrier_scan_for(status: str) -> CarrierScan | None:
    """Our `CarrierScan` for a tracking status (case-insensitive); None for ``unknown``.

    Raises ``InvalidInput`` for a status outside the vocabulary in the module docstring.
    """
    key = status.strip().lower()
    if key not in SCAN_FOR_STATUS:
        raise InvalidInput(f"unknown tracking status {status!r}; use one of {sorted(SCAN_FOR_STATUS)}")
    return SCAN_FOR_STATUS[key]


@dataclass(frozen=True)
class TrackingUpdate:
    """One carrier event: ``occurred_at`` timezone-aware; ``event_id`` the carrier's id, or "" to derive
    one from the other fields (so the same row sent twice is recognised)."""

    tracking_code: str
    status: str
    occurred_at: datetime
    location: str = ""
    event_id: str = ""

    def key(self) -> str:
        if self.event_id:
            return self.event_id
        text = "\x1f".join([self.tracking_code, self.status.lower(), self.occurred_at.astimezone(UTC).isoformat(),
                            self.location])
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class TrackingReport:
    """Per event, one outcome: applied, duplicate, unmatched (no RMA has the code), ignored (no effect)."""

    received: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    rmas_changed: list[str] = field(default_factory=list)


def apply_tracking_events(uow_factory: UowFactory, carrier: str, updates: list[TrackingUpdate]) -> TrackingReport:
    """Apply events oldest first, each in its own transaction with its ``carrier_events`` record.

    Raises ``InvalidInput`` before changing anything if a status is unknown or a time is naive.
    """
    scans = []
    for update in updates:
        if update.occurred_at.tzinfo is None:
            raise InvalidInput(f"occurred_at of {update.tracking_code} needs a time zone")
        if not update.tracking_code.strip():
            raise InvalidInput("tracking_code is required")
        scans.append((update, carrier_scan_for(update.status)))
    report = TrackingReport(received=len(updates))
    for update, scan in sorted(scans, key=lambda pair: pair[0].occurred_at):
        outcome = _apply_one(uow_factory, carrier, update, scan, report)
        report.outcomes[outcome] += 1
    return report


def _apply_one(uow_factory: UowFactory, carrier: str, update: TrackingUpdate, scan: CarrierScan | None,
               report: TrackingReport) -> str:
    now = datetime.now(UTC)
    with uow_factory() as uow:
        if uow.session.execute(select(t.carrier_events.c.id).where(t.carrier_events.c.carrier == carrier)
                               .where(t.carrier_events.c.event_id == update.key())).first():
            return "duplicate"
        rmas = sorted(uow.session.scalars(
            select(ReturnAuthorization).where(t.return_authorizations.c.tracking_code == update.tracking_code.strip())
            .with_for_update()).all(), key=lambda r: r.number)
        befores = [(rma, len(rma.events)) for rma in rmas]
        changed = []
        for rma in rmas:
            if scan is None:
                continue
            try:
                if rma.record_scan(actor=f"carrier:{carrier}", at=update.occurred_at, scan=scan,
                                   location=update.location):
                    changed.append(rma.number)
            except DomainError:  # e.g. a cancelled RMA: the event is kept, the RMA is left alone
                continue
        outcome = "unmatched" if not rmas else ("applied" if changed else "ignored")
        try:
            uow.session.execute(insert(t.carrier_events).values(
                carrier=carrier, event_id=update.key(), tracking_code=update.tracking_code.strip(),
                status=update.status.lower(), occurred_at=update.occurred_at, received_at=now, outcome=outcome))
            _commit_with_events(uow, befores, now)
        except IntegrityError:  # the same event arrived concurrently
            uow.rollback()
            return "duplicate"
    report.rmas_changed.extend(changed)
    return outcome


# -- the sweep ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    """RMA numbers expired (label, no scan in time) and flagged lost (no progress in transit: claim)."""

    expired: tuple[str, ...]
    lost: tuple[str, ...]


def sweep(uow_factory: UowFactory, *, now: datetime | None = None, expire_after_days: int = 14,
          lost_after_days: int = 10, batch_size: int = 500) -> SweepReport:
    """Expire RMAs ``label_issued`` with no scan for ``expire_after_days`` days (``RMA.expire``) and flag
    RMAs ``in_transit`` with no carrier event for ``lost_after_days`` days as lost (``record_scan(LOST)``;
    the ``return.lost_in_transit`` event is the claim trigger). Parcels already delivered to the center
    (awaiting receipt) or already flagged lost are left alone. Safe to run repeatedly.
    """
    now = now or datetime.now(UTC)
    ra = t.return_authorizations.c
    expired: list[str] = []
    lost: list[str] = []
    with uow_factory() as uow:
        stale_labels = list(uow.session.execute(select(ra.number).where(ra.status == ReturnStatus.LABEL_ISSUED.value)
                                                .where(ra.updated_at < now - timedelta(days=expire_after_days))
                                                .order_by(ra.number)).scalars())
        stale_transit = list(uow.session.execute(select(ra.number).where(ra.status == ReturnStatus.IN_TRANSIT.value)
                                                 .where(ra.updated_at < now - timedelta(days=lost_after_days))
                                                 .order_by(ra.number)).scalars())
    for start in range(0, len(stale_labels), batch_size):
        with uow_factory() as uow:
            befores = []
            for number in stale_labels[start:start + batch_size]:
                rma = uow.repo.rma_by_number(number, for_update=True)
                if rma is None or rma.status != ReturnStatus.LABEL_ISSUED:
                    continue
                befores.append((rma, len(rma.events)))
                rma.expire(actor="system:sweep", at=now)
                expired.append(number)
            _commit_with_events(uow, befores, now)
    for start in range(0, len(stale_transit), batch_size):
        with uow_factory() as uow:
            befores = []
            for number in stale_transit[start:start + batch_size]:
                rma = uow.repo.rma_by_number(number, for_update=True)
                if rma is None or rma.status != ReturnStatus.IN_TRANSIT or _delivered_or_lost(rma):
                    continue
                befores.append((rma, len(rma.events)))
                rma.record_scan(actor="system:sweep", at=now, scan=CarrierScan.LOST,
                                location=f"no carrier event for {lost_after_days} days")
                lost.append(number)
            _commit_with_events(uow, befores, now)
    return SweepReport(tuple(expired), tuple(lost))


def _delivered_or_lost(rma: ReturnAuthorization) -> bool:
    if any(line.reception_status == ReceptionStatus.LOST_IN_TRANSIT for line in rma.lines):
        return True
    return any(e.data.get("scan") == CarrierScan.DELIVERED.value for e in rma.events)
