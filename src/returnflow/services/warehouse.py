"""Warehouse receiving console use cases: find the RMA of a scanned code, receive and grade a parcel,
record parcels that came without an RMA and link them later.

Receiving and grading are the existing use cases (:func:`returnflow.services.returns.receive` and
:func:`~returnflow.services.returns.inspect_line`) called one after the other, each its own transaction:
the count of a parcel is kept even if a grade is refused (the goods did arrive).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from returnflow.adapters.db import tables as t
from returnflow.domain.errors import InvalidInput, NotFound
from returnflow.domain.inspection import propose_disposition
from returnflow.domain.returns import ReturnAuthorization
from returnflow.services import returns as svc
from returnflow.services.portal import Photo, check_photos
from returnflow.services.returns import UowFactory

CHECKLIST = (("sealed", "Original packaging sealed"), ("complete", "All parts and accessories present"),
             ("no_damage", "No visible damage"), ("clean", "Clean, no signs of use"))


def find_by_code(uow_factory: UowFactory, code: str) -> ReturnAuthorization:
    """The RMA whose number or label tracking code is ``code`` (case-insensitive). Raises ``NotFound``."""
    code = code.strip().upper()
    if not code:
        raise NotFound("scan or type an RMA number or label barcode")
    if len(code) > 64:
        raise NotFound("that code is too long to be an RMA number or label barcode; scan it again")
    with uow_factory() as uow:
        number = uow.session.execute(select(t.return_authorizations.c.number).where(
            (t.return_authorizations.c.number == code) | (t.return_authorizations.c.tracking_code == code))).scalar()
    if number is None and code.isdigit():
        number = f"RMA-{int(code):06d}"
    if number is None:
        shown = code if len(code) <= 40 else code[:40] + "…"
        raise NotFound(f"No return matches “{shown}”. Check the code, or record the parcel as an unexpected parcel.")
    return svc.get_rma(uow_factory, number)


@dataclass(frozen=True)
class LineCount:
    """What the operator recorded for one return line."""

    line_id: int
    units: int
    grade: str
    disposition: str | None = None  # None: take the rule table's proposal
    note: str = ""
    checklist: tuple[str, ...] = ()
    accept: bool = True  # False: the units are kept but not refunded (not as described, not ours...)


def receive_and_grade(uow_factory: UowFactory, number: str, *, counts: list[LineCount], return_center_code: str,
                      actor: str, photos: list[Photo] | None = None) -> ReturnAuthorization:
    """Count the parcel (complete), then grade each line that has units; store the operator's photos.

    Raises:
        InvalidInput: bad photo, unknown grade, an override without a reason, bad counts.
        IllegalTransition: the RMA is not expecting goods.
    """
    checked = check_photos(photos or [])
    for count in counts:
        if count.units and count.grade:
            propose_disposition(count.grade)  # refuse an unknown grade before anything is stored
        if count.units and count.disposition and count.grade and count.disposition != str(
                propose_disposition(count.grade)) and not count.note.strip():
            raise InvalidInput(f"line {count.line_id}: overriding the proposed disposition needs a reason")
        if count.units and not count.accept and not count.note.strip():
            raise InvalidInput(f"line {count.line_id}: rejecting the units needs a reason in the note")
    rma = svc.receive(uow_factory, number, quantities={c.line_id: c.units for c in counts},
                      return_center_code=return_center_code, actor=actor, complete=True)
    for count in counts:
        if count.units and count.grade:
            note = "; ".join(filter(None, [count.note.strip(),
                                           "checklist: " + ", ".join(count.checklist) if count.checklist else ""]))
            rma = svc.inspect_line(uow_factory, number, line_id=count.line_id, grade=count.grade, actor=actor,
                                   disposition=count.disposition or None, accept=count.accept, note=note)
    if checked:
        with uow_factory() as uow:
            uow.session.execute(insert(t.return_photos), [
                {"rma_id": rma.id, "source": "warehouse", "content_type": kind, "size_bytes": len(data),
                 "data": data, "uploaded_at": datetime.now(UTC)} for kind, data in checked])
            uow.commit()
    return rma


def record_unexpected_parcel(uow_factory: UowFactory, *, return_center_code: str, tracking_code: str,
                             sender: str, contents: str, actor: str) -> int:
    """Store a parcel that came without an RMA; returns its id. Raises ``InvalidInput``."""
    if not (tracking_code.strip() or sender.strip() or contents.strip()):
        raise InvalidInput("describe the parcel: a tracking code, the sender or what is inside")
    with uow_factory() as uow:
        if not uow.repo.return_center_exists(return_center_code):
            raise InvalidInput(f"unknown return center {return_center_code}")
        result = uow.session.execute(insert(t.unexpected_parcels).values(
            return_center_code=return_center_code, tracking_code=tracking_code.strip()[:64],
            sender=sender.strip()[:255], contents=contents.strip(), received_by=actor,
            received_at=datetime.now(UTC)))
        uow.commit()
        return int(result.inserted_primary_key[0])


def unlinked_parcels(uow_factory: UowFactory) -> list[dict[str, object]]:
    """Unexpected parcels not linked to an RMA yet, newest first."""
    with uow_factory() as uow:
        rows = uow.session.execute(select(t.unexpected_parcels).where(t.unexpected_parcels.c.rma_number.is_(None))
                                   .order_by(t.unexpected_parcels.c.id.desc()).limit(100))
        return [dict(r._mapping) for r in rows]


def link_parcel(uow_factory: UowFactory, parcel_id: int, *, rma_number: str) -> None:
    """Link an unexpected parcel to an existing RMA. Raises ``NotFound``."""
    rma = svc.get_rma(uow_factory, rma_number)
    with uow_factory() as uow:
        result = uow.session.execute(update(t.unexpected_parcels).where(
            t.unexpected_parcels.c.id == parcel_id, t.unexpected_parcels.c.rma_number.is_(None))
            .values(rma_number=rma.number))
        if result.rowcount == 0:
            raise NotFound(f"no unlinked parcel {parcel_id}")
        uow.commit()
