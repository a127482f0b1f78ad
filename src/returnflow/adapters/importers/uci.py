"""Import the UCI Online Retail file: sales invoices -> orders, credit notes -> return requests.

Every row is accounted for: ``rows_imported + rows_rejected == rows_read``; each rejected row goes to
the rejects CSV with its file line number (header = line 1) and reason. A file already imported (same
SHA-256) changes nothing the second time.

Credit notes (InvoiceNo ``C...``, negative Quantity) are matched to the same customer's earlier
purchase lines of the same StockCode, oldest first, never more than bought and not yet returned
(the data has no link to the original invoice, see its PROVENANCE.md). A credit-note line asking back
more than is left is rejected whole. Only purchases dated at or before the credit note count: credit notes
are matched in date order (file order between equal times) after the whole file is read. Times are London
local time in the file and stored as UTC.

Bounds (rows outside them are rejected, each with its own reason; the real file stays far inside them):

* ``UnitPrice`` must be a finite number of at most ``PRICE_MAX`` = 1,000,000 GBP per unit in absolute value
  (the dearest line of the real file is 38,970.00);
* ``|Quantity|`` at most ``QUANTITY_MAX`` = 10^9 units (the INTEGER columns hold up to 2,147,483,647; the
  real file's largest is 80,995);
* ``|Quantity x UnitPrice|`` at most ``LINE_TOTAL_MAX`` = 10^9 GBP (money columns are NUMERIC(18, 6));
* ``InvoiceDate`` not later than the time of the import; InvoiceNo, StockCode, CustomerID and Country at
  most 64 characters (the width of their columns); no NUL characters (PostgreSQL text cannot hold them).

A credit note whose number was imported before (it has an import RMA) is rejected as "credit note already
imported", as the lines of an order already stored are rejected as "order already imported".
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.bulk import bulk_insert, cyclic_gc_paused
from returnflow.adapters.importers.uci_codes import line_kind
from returnflow.domain.orders import LineKind
from returnflow.domain.money import round_money, share_of_units

LONDON = ZoneInfo("Europe/London")
HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
CURRENCY = "GBP"  # UnitPrice is "GBP per unit" (PROVENANCE.md)
PRICE_MAX = Decimal(1_000_000)  # GBP per unit (module docstring)
QUANTITY_MAX = 10**9  # units per line, either sign
LINE_TOTAL_MAX = Decimal(10**9)  # GBP per line, either sign
FIELD_MAX = 64  # characters of InvoiceNo, StockCode, CustomerID, Country (their column width)
CREDIT_NOTE_DETAIL = "credit note "  # return_lines.reason_detail of an imported credit-note line: + its number

UNPARSEABLE = "unparseable quantity, date or price"
NOT_FINITE = "unit price is not a finite number"
PRICE_TOO_HIGH = "unit price above 1,000,000 per unit"
QUANTITY_TOO_LARGE = "quantity beyond 1,000,000,000 units"
LINE_TOTAL_TOO_LARGE = "line total (quantity x unit price) beyond 1,000,000,000"
FUTURE = "dated in the future"
NO_CUSTOMER = "no customer"
CUSTOMER_NOT_A_NUMBER = "customer id is not a number"
TOO_LONG = "field too long (InvoiceNo, StockCode, CustomerID or Country over 64 characters)"
_CUSTOMER = re.compile(r"\s*([0-9]+)(?:\.0*)?\s*")


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


@dataclass(slots=True)
class _Purchase:
    order_number: str
    line_number: int
    remaining: int
    placed: datetime


class _Unreadable(list[str]):
    """A record the csv module could not read (yielded by :func:`_rows` instead of its fields)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


@dataclass(slots=True)
class _Matcher:
    """The purchases of one (customer, sku), oldest first, handed out to credit notes taken in date order.

    ``eligible`` holds the purchases dated at or before the last credit note seen that still have units
    left; ``available`` is their sum. Each purchase enters and leaves ``eligible`` once: O(purchases).
    """

    purchases: list[_Purchase]
    next_index: int = 0
    eligible: deque[_Purchase] = field(default_factory=deque)
    available: int = 0

    def available_at(self, at: datetime) -> int:
        purchases, index = self.purchases, self.next_index
        while index < len(purchases) and purchases[index].placed <= at:
            self.eligible.append(purchases[index])
            self.available += purchases[index].remaining
            index += 1
        self.next_index = index
        return self.available


def rejects_path_for(data_dir: Path, source: Path) -> Path:
    """Where the rejects of importing ``source`` go: ``<data_dir>/import_rejects/<source name>.csv``.

    One file per source file name (``.gz`` and ``.csv`` dropped), so importing another file never
    overwrites the rejects of this one; importing the same name again replaces them.
    """
    name = source.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return data_dir / "import_rejects" / f"{name or 'import'}.csv"


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: a file saved by Excel starts with a byte-order mark, which must not stick to "InvoiceNo".
    raw = gzip.open(path, "rt", encoding="utf-8-sig", newline="") if path.suffix == ".gz" else open(
        path, encoding="utf-8-sig", newline="")
    return raw  # type: ignore[return-value]


def file_sha256(path: Path) -> str:
    return _scan(path)[0]


def _scan(path: Path) -> tuple[str, bool]:
    """SHA-256 of the file's bytes, and whether its text may hold a NUL character."""
    digest = hashlib.sha256()
    nul = False
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            nul = nul or b"\x00" in chunk
    # a gzip file's compressed bytes say nothing about NULs in its text: check every row then
    return digest.hexdigest(), nul or path.suffix == ".gz"


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(file line number where the record starts, fields); header = line 1. A record the csv module cannot
    read comes as an empty :class:`_Unreadable` with the reason, and reading goes on after it."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ValueError(f"{path.name}: unreadable header: {exc}") from None
        if header != HEADER:
            raise ValueError(f"{path.name}: expected header {','.join(HEADER)}, got {header}")
        start = reader.line_num + 1
        while True:
            try:
                for row in reader:
                    yield start, row
                    start = reader.line_num + 1
                return
            except csv.Error as exc:
                yield start, _Unreadable(f"unreadable row: {exc}")
                start = reader.line_num + 1


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
    now = datetime.now(UTC)
    report = ImportReport(source=str(path), rejects_path=str(rejects_path))
    sha, check_nul = _scan(path)
    with engine.connect() as conn:
        if conn.execute(select(t.import_batches.c.id).where(t.import_batches.c.source_sha256 == sha)).first():
            report.already_imported = True
            report.rejects_path = ""  # nothing read, nothing written
            return report
        existing_orders = set(conn.execute(select(t.orders.c.order_number)).scalars())
        imported_credit_notes = {
            detail[len(CREDIT_NOTE_DETAIL):] for detail in conn.execute(
                select(t.return_lines.c.reason_detail).distinct()
                .join(t.return_authorizations, t.return_authorizations.c.id == t.return_lines.c.rma_id)
                .where(t.return_authorizations.c.channel == "import")).scalars()
            if detail.startswith(CREDIT_NOTE_DETAIL)}

    rejects: list[tuple[int, str, list[str]]] = []
    customers: dict[str, tuple[str, str]] = {}
    orders: dict[str, dict[str, Any]] = {}
    lines: list[tuple[Any, ...]] = []
    purchases: dict[tuple[str, str], list[_Purchase]] = defaultdict(list)
    # credit-note lines to match once every purchase is known: (placed, line, customer, code, invoice, units, row)
    credits: list[tuple[datetime, int, str, str, str, int, list[str]]] = []
    # (credit note, order number) -> order line number -> [units, requested_at, rows]
    returns: dict[tuple[str, str], dict[int, list[Any]]] = defaultdict(dict)
    line_count: Counter[str] = Counter()
    # parsed once per distinct text: a value, or the reason (str) to reject it
    dates: dict[str, datetime | str] = {}
    prices: dict[str, Decimal | str] = {}
    customer_ids: dict[str, str | tuple[str]] = {}

    def reject(number: int, reason: str, row: list[str]) -> None:
        rejects.append((number, reason, row))
        report.rejected_by_reason[reason] += 1

    for number, row in _rows(path):
        report.rows_read += 1
        if progress and report.rows_read % 10000 == 0:
            progress(report.rows_read)
        if len(row) != 8:
            reject(number, row.reason if isinstance(row, _Unreadable)
                   else f"malformed row: {len(row)} fields instead of 8", row)
            continue
        invoice, code, description, qty_text, date_text, price_text, customer_text, country = row
        placed = dates.get(date_text)
        if placed is None:
            placed = dates[date_text] = _parse_date(date_text, now)
        price = prices.get(price_text)
        if price is None:
            price = prices[price_text] = _parse_price(price_text)
        try:
            quantity = int(qty_text)
        except ValueError:
            reject(number, UNPARSEABLE, row)
            continue
        if placed is UNPARSEABLE or price is UNPARSEABLE:
            reject(number, UNPARSEABLE, row)
            continue
        if price.__class__ is str:
            reject(number, price, row)  # type: ignore[arg-type]
            continue
        if not -QUANTITY_MAX <= quantity <= QUANTITY_MAX:
            reject(number, QUANTITY_TOO_LARGE, row)
            continue
        # |price| <= PRICE_MAX, so only quantities beyond 1,000 can pass LINE_TOTAL_MAX (skip the multiplication)
        if not -1000 <= quantity <= 1000 and abs(quantity * price) > LINE_TOTAL_MAX:  # type: ignore[operator]
            reject(number, LINE_TOTAL_TOO_LARGE, row)
            continue
        if placed.__class__ is str:
            reject(number, placed, row)  # type: ignore[arg-type]
            continue
        if invoice.startswith("A"):
            reject(number, "bad-debt adjustment (A invoice), not an order", row)
            continue
        customer = customer_ids.get(customer_text)
        if customer is None:
            customer = customer_ids[customer_text] = _parse_customer(customer_text)
        if customer.__class__ is tuple:
            reject(number, customer[0], row)
            continue
        if not invoice or invoice.isspace():
            reject(number, "no invoice number", row)
            continue
        if not code or code.isspace():
            reject(number, "no stock code", row)
            continue
        if len(invoice) > FIELD_MAX or len(code) > FIELD_MAX or len(country) > FIELD_MAX:
            reject(number, TOO_LONG, row)
            continue
        if check_nul and ("\x00" in invoice or "\x00" in code or "\x00" in description or "\x00" in country):
            reject(number, "NUL character in a field", row)
            continue
        kind = line_kind(code)
        if invoice.startswith("C"):
            if kind != LineKind.GOODS:
                reject(number, f"credit note for a {kind} line, not goods coming back", row)
                continue
            if quantity >= 0:
                reject(number, "credit-note line with a non-negative quantity", row)
                continue
            if invoice in imported_credit_notes:
                reject(number, "credit note already imported", row)
                continue
            credits.append((placed, number, customer, code, invoice, -quantity, row))  # type: ignore[arg-type]
            continue
        if quantity <= 0:
            reject(number, "sale line with a zero or negative quantity (stock adjustment)", row)
            continue
        if price < 0:  # type: ignore[operator]
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
        customers.setdefault(customer, (order["customer_email"], country))  # type: ignore[arg-type]
        line_count[invoice] += 1
        line_number = line_count[invoice]
        lines.append((invoice, line_number, code, (description or "")[:255], quantity, price, kind.value))
        if kind == LineKind.GOODS:
            purchases[(customer, code)].append(_Purchase(invoice, line_number, quantity, placed))  # type: ignore
        report.rows_imported += 1
    _match_credit_notes(credits, purchases, returns, report, reject)
    rejects.sort(key=lambda r: r[0])
    report.rows_rejected = len(rejects)
    _store(engine, report, sha=sha, path=path, customers=customers, orders=orders, lines=lines, returns=returns)
    _write_rejects(rejects_path, rejects)
    report.seconds = perf_counter() - started
    return report


def _parse_date(text: str, now: datetime) -> datetime | str:
    """UTC time of a file time (London local time unless it names its offset), or the reason to reject it."""
    try:
        local = datetime.fromisoformat(text)
        placed = (local if local.tzinfo else local.replace(tzinfo=LONDON)).astimezone(UTC)
    except (ValueError, OverflowError):
        return UNPARSEABLE
    return FUTURE if placed > now else placed


def _parse_price(text: str) -> Decimal | str:
    """The unit price, or the reason to reject it (unparseable, NaN/Infinity, beyond PRICE_MAX)."""
    try:
        price = Decimal(text)
    except (InvalidOperation, ValueError):
        return UNPARSEABLE
    if not price.is_finite():
        return NOT_FINITE
    return PRICE_TOO_HIGH if abs(price) > PRICE_MAX else price


def _parse_customer(text: str) -> str | tuple[str]:
    """The customer id (UCI ids are whole numbers written like ``17850.0``), or ``(reason,)``."""
    if not text or text.isspace():
        return (NO_CUSTOMER,)
    match = _CUSTOMER.fullmatch(text)
    if match is None:
        return (CUSTOMER_NOT_A_NUMBER,)
    return (TOO_LONG,) if len(match[1]) > FIELD_MAX else match[1]


def _match_credit_notes(credits: list[tuple[datetime, int, str, str, str, int, list[str]]],
                        purchases: dict[tuple[str, str], list[_Purchase]],
                        returns: dict[tuple[str, str], dict[int, list[Any]]], report: ImportReport,
                        reject: Any) -> None:
    """Match credit-note lines to purchases dated at or before them, oldest purchase first.

    Credit notes go in date order (file order between equal times), so the purchases each one may take
    only grow: a :class:`_Matcher` per (customer, sku) hands them out in O(purchases + credit notes);
    the two sorts are linear on a file in date order, as the UCI file is.
    """
    credits.sort(key=lambda c: (c[0], c[1]))
    matchers: dict[tuple[str, str], _Matcher] = {}
    by_date = attrgetter("placed")
    for placed, number, customer, code, invoice, wanted, row in credits:
        key = (customer, code)
        matcher = matchers.get(key)
        if matcher is None:
            bought = purchases.get(key, [])
            bought.sort(key=by_date)
            matcher = matchers[key] = _Matcher(bought)
        available = matcher.available_at(placed)
        if available == 0:
            reject(number, "no earlier purchase of this item by this customer in the data", row)
            continue
        if wanted > available:
            reject(number, "more returned than bought and not yet returned", row)
            continue
        matcher.available -= wanted
        queue = matcher.eligible
        while wanted:
            purchase = queue[0]
            take = min(wanted, purchase.remaining)
            purchase.remaining -= take
            wanted -= take
            entry = returns[(invoice, purchase.order_number)].setdefault(purchase.line_number, [0, placed, 0])
            entry[0] += take
            if purchase.remaining == 0:
                queue.popleft()
        report.credit_note_lines_matched += 1
        report.rows_imported += 1


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
        # Every UCI invoice was paid (the data has no payment records): one card payment of the invoice total,
        # so refunds go back to the card rather than to store credit.
        totals: dict[str, Decimal] = {}
        for line in lines:
            totals[line[0]] = totals.get(line[0], zero) + line[4] * line[5]
        bulk_insert(conn, t.payments, ["order_id", "method", "amount", "refunded", "reference"],
                    [(order_ids[number], "card", round_money(total, CURRENCY), zero, f"uci:{number}")
                     for number, total in totals.items() if number in orders])
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
                                               "reason": "not_stated", "reason_detail": CREDIT_NOTE_DETAIL + credit_note,
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
