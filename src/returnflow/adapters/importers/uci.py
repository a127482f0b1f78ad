"""Import the UCI Online Retail file: sales invoices -> orders, credit notes -> return requests.

Every row is accounted for: ``rows_imported + rows_rejected == rows_read``; each rejected row goes to
the rejects CSV with its file line number (header = line 1) and reason. A file already imported (same
SHA-256) changes nothing the second time.

Credit notes (InvoiceNo ``C...``, negative Quantity) are matched to the same customer's earlier
purchase lines of the same StockCode, oldest first, never more than bought and not yet returned
(the data has no link to the original invoice, see its PROVENANCE.md). A credit-note line asking back
more than is left is rejected whole. Times are London local time in the file and stored as UTC.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.bulk import bulk_insert, cyclic_gc_paused
from returnflow.adapters.importers.uci_codes import line_kind
from returnflow.domain.orders import LineKind
from returnflow.domain.money import share_of_units

LONDON = ZoneInfo("Europe/London")
HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
CURRENCY = "GBP"  # UnitPrice is "GBP per unit" (PROVENANCE.md)


@dataclass
class ImportReport:
    """Counts of one import. ``rejected_by_reason``: reason -> rows."""

    source: str
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    customers: int = 0
    orders: int = 0
    order_lines: int = 0
    credit_note_lines_matched: int = 0
    returns_requested: int = 0
    return_lines: int = 0
    already_imported: bool = False
    seconds: float = 0.0
    rejects_path: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["rejected_by_reason"] = dict(sorted(self.rejected_by_reason.items(), key=lambda kv: -kv[1]))
        return out


@dataclass
class _Purchase:
    order_number: str
    line_number: int
    remaining: int
    unit_price: Decimal
    quantity: int


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rt", encoding="utf-8", newline="") if path.suffix == ".gz" else open(
        path, encoding="utf-8", newline="")
    return raw  # type: ignore[return-value]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != HEADER:
            raise ValueError(f"{path.name}: expected header {','.join(HEADER)}, got {header}")
        for number, row in enumerate(reader, start=2):
            yield number, row


def import_uci(engine: Engine, path: Path, *, rejects_path: Path, progress: Any = None) -> ImportReport:
    """Import ``path`` (CSV or CSV.gz in the UCI layout) into the database behind ``engine``.

    ``progress``: optional callable ``(rows_read) -> None`` called every 10,000 rows.

    Raises:
        FileNotFoundError: no such file. ValueError: the header is not the UCI header.
    """
    with cyclic_gc_paused():
        return _import_uci(engine, path, rejects_path=rejects_path, progress=progress)


def _import_uci(engine: Engine, path: Path, *, rejects_path: Path, progress: Any = None) -> ImportReport:
    """The import itself (see :func:`import_uci`)."""
    started = perf_counter()
    report = ImportReport(source=str(path), rejects_path=str(rejects_path))
    sha = file_sha256(path)
    with engine.connect() as conn:
        if conn.execute(select(t.import_batches.c.id).where(t.import_batches.c.source_sha256 == sha)).first():
            report.already_imported = True
            return report
        existing_orders = set(conn.execute(select(t.orders.c.order_number)).scalars())

    rejects: list[tuple[int, str, list[str]]] = []
    customers: dict[str, tuple[str, str]] = {}
    orders: dict[str, dict[str, Any]] = {}
    lines: list[tuple[Any, ...]] = []
    purchases: dict[tuple[str, str], deque[_Purchase]] = defaultdict(deque)
    # (credit note, order number) -> order line number -> [units, requested_at, rows]
    returns: dict[tuple[str, str], dict[int, list[Any]]] = defaultdict(dict)
    line_count: Counter[str] = Counter()
    dates: dict[str, datetime] = {}
    prices: dict[str, Decimal] = {}

    def reject(number: int, reason: str, row: list[str]) -> None:
        rejects.append((number, reason, row))
        report.rejected_by_reason[reason] += 1

    for number, row in _rows(path):
        report.rows_read += 1
        if progress and report.rows_read % 10000 == 0:
            progress(report.rows_read)
        if len(row) != 8:
            reject(number, f"malformed row: {len(row)} fields instead of 8", row)
            continue
        invoice, code, description, qty_text, date_text, price_text, customer_text, country = row
        try:
            quantity = int(qty_text)
            placed = dates.get(date_text)
            if placed is None:
                placed = dates[date_text] = datetime.fromisoformat(date_text).replace(tzinfo=LONDON).astimezone(UTC)
            price = prices.get(price_text)
            if price is None:
                price = prices[price_text] = Decimal(price_text)
        except (ValueError, InvalidOperation):
            reject(number, "unparseable quantity, date or price", row)
            continue
        if invoice.startswith("A"):
            reject(number, "bad-debt adjustment (A invoice), not an order", row)
            continue
        customer = customer_text.split(".")[0].strip()
        if not customer:
            reject(number, "no customer", row)
            continue
        kind = line_kind(code)
        if invoice.startswith("C"):
            if kind != LineKind.GOODS:
                reject(number, f"credit note for a {kind} line, not goods coming back", row)
                continue
            if quantity >= 0:
                reject(number, "credit-note line with a non-negative quantity", row)
                continue
            wanted = -quantity
            queue = purchases.get((customer, code))
            available = sum(p.remaining for p in queue) if queue else 0
            if available == 0:
                reject(number, "no earlier purchase of this item by this customer in the data", row)
                continue
            if wanted > available:
                reject(number, "more returned than bought and not yet returned", row)
                continue
            assert queue is not None
            for purchase in queue:
                if wanted == 0:
                    break
                take = min(wanted, purchase.remaining)
                if take == 0:
                    continue
                purchase.remaining -= take
                wanted -= take
                entry = returns[(invoice, purchase.order_number)].setdefault(purchase.line_number, [0, placed, 0])
                entry[0] += take
            while queue and queue[0].remaining == 0:
                queue.popleft()
            report.credit_note_lines_matched += 1
            report.rows_imported += 1
            continue
        if quantity <= 0:
            reject(number, "sale line with a zero or negative quantity (stock adjustment)", row)
            continue
        if price < 0:
            reject(number, "negative unit price on a sale", row)
            continue
        if invoice in existing_orders:
            reject(number, "order already imported", row)
            continue
        order = orders.get(invoice)
        if order is None:
            order = orders[invoice] = {"order_number": invoice, "customer_id": customer,
                                       "customer_email": f"c{customer}@example.com", "country": country,
                                       "currency": CURRENCY, "placed_at": placed, "source": "uci"}
        elif order["customer_id"] != customer:
            reject(number, "customer differs from the invoice's other lines", row)
            continue
        customers.setdefault(customer, (order["customer_email"], country))
        line_count[invoice] += 1
        line_number = line_count[invoice]
        lines.append((invoice, line_number, code, (description or "")[:255], quantity, price, kind.value))
        if kind == LineKind.GOODS:
            purchases[(customer, code)].append(_Purchase(invoice, line_number, quantity, price, quantity))
        report.rows_imported += 1
    report.rows_rejected = len(rejects)
    _write_rejects(rejects_path, rejects)
    _store(engine, report, sha=sha, path=path, customers=customers, orders=orders, lines=lines, returns=returns)
    report.seconds = perf_counter() - started
    return report


def _write_rejects(path: Path, rejects: list[tuple[int, str, list[str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line_number", "reason", *HEADER])
        for number, reason, row in rejects:
            writer.writerow([number, reason, *row])


def _store(engine: Engine, report: ImportReport, *, sha: str, path: Path, customers: dict[str, tuple[str, str]],
           orders: dict[str, dict[str, Any]], lines: list[tuple[Any, ...]],
           returns: dict[tuple[str, str], dict[int, list[Any]]]) -> None:
    """Write everything in one transaction (all or nothing)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        known = set(conn.execute(select(t.customers.c.id)).scalars())
        new_customers = [{"id": cid, "email": email, "country": country, "postal_code": "", "tier": "standard"}
                         for cid, (email, country) in customers.items() if cid not in known]
        if new_customers:
            conn.execute(insert(t.customers), new_customers)
        if orders:
            conn.execute(insert(t.orders), list(orders.values()))
        order_ids = dict(conn.execute(select(t.orders.c.order_number, t.orders.c.id)
                                      .where(t.orders.c.source == "uci")).all())
        zero = Decimal(0)
        rows = [(order_ids[line[0]], *line[1:], zero, zero, zero) for line in lines]
        bulk_insert(conn, t.order_lines, ["order_id", "line_number", "sku", "description", "quantity", "unit_price",
                                          "kind", "line_discount", "order_discount", "tax_amount"], rows)
        report.customers, report.orders, report.order_lines = len(new_customers), len(orders), len(lines)
        _store_returns(conn, report, order_ids=order_ids, orders=orders, returns=returns, at=now)
        conn.execute(insert(t.import_batches).values(
            source_sha256=sha, source_name=path.name, rows_read=report.rows_read, rows_imported=report.rows_imported,
            rows_rejected=report.rows_rejected, summary={"rejected_by_reason": dict(report.rejected_by_reason)},
            imported_at=now))


def _store_returns(conn: Any, report: ImportReport, *, order_ids: dict[str, int], orders: dict[str, dict[str, Any]],
                   returns: dict[tuple[str, str], dict[int, list[Any]]], at: datetime) -> None:
    """One RMA (status requested, channel import) per (credit note, original order)."""
    if not returns:
        return
    wanted_orders = {order_ids[o] for (_, o) in returns}
    line_rows = conn.execute(select(t.order_lines.c.id, t.order_lines.c.order_id, t.order_lines.c.line_number,
                                    t.order_lines.c.sku, t.order_lines.c.description, t.order_lines.c.quantity,
                                    t.order_lines.c.unit_price).where(t.order_lines.c.order_id.in_(wanted_orders))
                             ).all()
    by_key = {(r.order_id, r.line_number): r for r in line_rows}
    keys = sorted(returns, key=lambda k: (min(v[1] for v in returns[k].values()), k))
    numbers = [conn.execute(insert(t.rma_numbers).values(claimed_at=at)).inserted_primary_key[0] for _ in keys]
    returned_before: Counter[int] = Counter()
    rma_rows, pending_lines, events = [], [], []
    for (credit_note, order_number), number in zip(keys, numbers):
        order_id = order_ids[order_number]
        entries = returns[(credit_note, order_number)]
        requested_at = min(v[1] for v in entries.values())
        rma_number = f"RMA-{int(number):06d}"
        rma_rows.append({"number": rma_number, "order_id": order_id, "order_number": order_number,
                         "customer_id": orders[order_number]["customer_id"], "currency": CURRENCY,
                         "status": "requested", "channel": "import", "decision": f"credit note {credit_note}",
                         "refund_total": Decimal(0), "requested_at": requested_at, "updated_at": requested_at})
        detail = []
        for line_number, (units, _, _) in sorted(entries.items()):
            line = by_key[(order_id, line_number)]
            paid = share_of_units(Decimal(line.unit_price) * line.quantity, quantity=line.quantity,
                                  units_before=returned_before[line.id], units=units, currency=CURRENCY)
            returned_before[line.id] += units
            pending_lines.append((rma_number, {"order_line_id": line.id, "sku": line.sku,
                                               "description": line.description, "quantity": units,
                                               "reason": "not_stated", "reason_detail": f"credit note {credit_note}",
                                               "paid_amount": paid, "reception_status": "awaiting",
                                               "acceptance_status": "pending", "quantity_received": 0,
                                               "restock": False, "inspection_note": "",
                                               "refunded_amount": Decimal(0)}))
            detail.append({"sku": line.sku, "quantity": units, "reason": "not_stated"})
        events.append((rma_number, {"name": "return.requested", "actor": f"customer:{orders[order_number]['customer_id']}",
                                    "occurred_at": requested_at, "from_status": "requested",
                                    "to_status": "requested", "data": {"lines": detail, "credit_note": credit_note}}))
    conn.execute(insert(t.return_authorizations), rma_rows)
    rma_ids = dict(conn.execute(select(t.return_authorizations.c.number, t.return_authorizations.c.id)
                                .where(t.return_authorizations.c.number.in_([r["number"] for r in rma_rows]))).all())
    conn.execute(insert(t.return_lines), [dict(row, rma_id=rma_ids[n]) for n, row in pending_lines])
    conn.execute(insert(t.return_events), [dict(row, rma_id=rma_ids[n]) for n, row in events])
    report.returns_requested, report.return_lines = len(rma_rows), len(pending_lines)
