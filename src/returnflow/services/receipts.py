"""3PL receipts: a third-party return center reports what arrived and how it graded, row by row.

Row: ``rma_or_tracking`` (RMA number or tracking code), ``sku``, ``units`` (>= 1), ``grade`` (A-D),
``notes``, optional ``receipt_id``. Each row is one transaction: receive the units at the RMA's return
center (the 3PL runs it; ``complete=False``, so other lines may follow in later rows) and inspect the line
with the rule table's disposition (grade D is not accepted, as the warehouse console does by default),
through the same code as ``services.returns.receive`` / ``inspect_line``. A bad row is reported with its
row number and reason and changes nothing; a good row applies once: its key (``receipt_id``, or SHA-256 of
the row's fields) is stored with the change, so importing the same file again changes nothing.
Accounting: ``imported + rejected = read`` (``imported`` counts rows applied now or earlier).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import DomainError, InvalidInput
from returnflow.domain.returns import ReturnAuthorization
from returnflow.domain.statuses import Grade
from returnflow.services.logistics import _commit_with_events
from returnflow.services.returns import choose_disposition, grade_line, receive_parcel

UowFactory = Callable[[], UnitOfWork]
COLUMNS = ("rma_or_tracking", "sku", "units", "grade", "notes")


@dataclass(frozen=True)
class ReceiptRow:
    """One reported row as received (text fields; validated on import). ``row`` is its number in the
    source (CSV line number, or 1-based position in a JSON list)."""

    row: int
    rma_or_tracking: str
    sku: str
    units: str
    grade: str
    notes: str = ""
    receipt_id: str = ""

    def key(self) -> str:
        if self.receipt_id.strip():
            return "id:" + self.receipt_id.strip()
        text = "\x1f".join(v.strip() for v in (self.rma_or_tracking, self.sku, self.units, self.grade.upper(),
                                               self.notes))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str


@dataclass
class ReceiptReport:
    """``read`` rows = ``imported`` (of which ``already_imported`` were applied before) + rejected."""

    read: int = 0
    imported: int = 0
    already_imported: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    rma_numbers: list[str] = field(default_factory=list)


def read_csv(text: str) -> list[ReceiptRow]:
    """Rows of a receipts CSV (header with at least ``COLUMNS``). Raises ``InvalidInput`` for a bad header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"the receipts CSV lacks the column(s) {', '.join(missing)}")
    return [ReceiptRow(row=number, rma_or_tracking=r.get("rma_or_tracking") or "", sku=r.get("sku") or "",
                       units=r.get("units") or "", grade=r.get("grade") or "", notes=r.get("notes") or "",
                       receipt_id=r.get("receipt_id") or "")
            for number, r in enumerate(reader, start=2)]


def _validated(row: ReceiptRow) -> tuple[int, Grade]:
    if not row.rma_or_tracking.strip() or not row.sku.strip():
        raise InvalidInput("rma_or_tracking and sku are required")
    try:
        units = int(row.units.strip())
    except ValueError:
        raise InvalidInput(f"units must be a whole number, got {row.units!r}") from None
    if units < 1:
        raise InvalidInput(f"units must be at least 1, got {units}")
    try:
        grade = Grade(row.grade.strip().upper())
    except ValueError:
        raise InvalidInput(f"grade must be one of A, B, C, D, got {row.grade!r}") from None
    return units, grade


def _find(uow: UnitOfWork, ref: str, sku: str, units: int) -> tuple[ReturnAuthorization, int]:
    rma = uow.repo.rma_by_number(ref, for_update=True)
    candidates = [rma] if rma else list(uow.session.scalars(
        select(ReturnAuthorization).where(t.return_authorizations.c.tracking_code == ref)
        .order_by(t.return_authorizations.c.number).with_for_update()).all())
    if not candidates:
        raise InvalidInput(f"no RMA or tracking code {ref}")
    for candidate in candidates:
        for line in candidate.lines:
            if line.sku == sku and line.quantity - line.quantity_received >= units:
                return candidate, line.id or 0
    if any(line.sku == sku for c in candidates for line in c.lines):
        raise InvalidInput(f"{units} unit(s) of {sku} exceed what {ref} still expects")
    raise InvalidInput(f"SKU {sku} is not on {ref}")


def import_receipts(uow_factory: UowFactory, rows: Iterable[ReceiptRow], *, actor: str,
                    source: str = "api") -> ReceiptReport:
    """Apply each good row once; report bad rows with their number and reason (see the module docstring)."""
    report = ReceiptReport()
    for row in rows:
        report.read += 1
        try:
            units, grade = _validated(row)
            grade_value, disposition = choose_disposition(grade.value, None, "")
            outcome = _apply(uow_factory, row, units, grade_value, disposition, actor, source)
        except DomainError as error:
            report.rejected.append(RejectedRow(row.row, error.detail))
            continue
        report.imported += 1
        if outcome is None:
            report.already_imported += 1
        else:
            report.rma_numbers.append(outcome)
    return report


def _apply(uow_factory: UowFactory, row: ReceiptRow, units: int, grade: Grade, disposition: object, actor: str,
           source: str) -> str | None:
    """Apply one row; return the RMA number, or None when the row was applied before."""
    key = row.key()
    now = datetime.now(UTC)
    with uow_factory() as uow:
        if uow.session.execute(select(t.receipt_rows.c.id).where(t.receipt_rows.c.row_key == key)).first():
            return None
        rma, line_id = _find(uow, row.rma_or_tracking.strip(), row.sku.strip(), units)
        if not rma.return_center_code:
            raise InvalidInput(f"RMA {rma.number} has no return center to receive at")
        before = len(rma.events)
        receive_parcel(uow, rma, quantities={line_id: units}, return_center_code=rma.return_center_code,
                       actor=actor, complete=False, at=now)
        grade_line(uow, rma, line_id=line_id, grade=grade, disposition=disposition,  # type: ignore[arg-type]
                   actor=actor, accept=grade != Grade.D, note=row.notes.strip(), at=now)
        try:
            uow.session.execute(insert(t.receipt_rows).values(
                row_key=key, rma_number=rma.number, sku=row.sku.strip(), units=units, grade=grade.value,
                notes=row.notes.strip(), source=source, applied_at=now))
            _commit_with_events(uow, [(rma, before)], now)
        except IntegrityError:  # the same row applied concurrently
            uow.rollback()
            return None
        return rma.number
