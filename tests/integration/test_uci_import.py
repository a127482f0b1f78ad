"""Importing slices of the real UCI Online Retail file, on SQLite and PostgreSQL.

Expected counts were established without the importer, by ``tests/integration/uci_count.awk`` (gawk with a
CSV field pattern, applying the rules written in ``uci.py``'s docstring) and by reading the rows by hand:

    $ F=/work/shared/data/online_retail_uci/online_retail_2010-12-01_to_2011-12-09.csv.gz
    $ zcat $F | head -2001 | gawk -f tests/integration/uci_count.awk | sort -rn
    533     no customer
    24      no earlier purchase of this item by this customer in the data
    1       credit note for a discount line, not goods coming back
    read=2000 imported=1442 orders=84 lines=1441 customers=68 matched=1

    $ gawk -f tests/integration/uci_count.awk hand.csv | sort -rn      # the HAND_PICKED file below
    (one row for each of the nine reasons in REJECTED_HAND_PICKED)
    read=13 imported=4 orders=2 lines=2 customers=2 matched=2

The one credit note matched in the first 2,000 rows is file line 941, ``C536506`` (customer 17897, 6 x 22960),
against line 886, ``536488`` (8 x 22960 at 4.25): paid for 6 of 8 units = 34.00 x 6/8 = 25.50.
"""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from decimal import Decimal as D
from itertools import islice
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.importers.uci import import_uci
from returnflow.bootstrap import Container

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
#: file lines of the real file (header = line 1) copied byte for byte into the hand-picked slice
REAL_LINES = (47, 143, 156, 886, 941, 1445, 13054, 299984)
MADE_UP = {
    "more_than_left": "C536507,22960,JAM MAKING SET WITH JARS,-3,2010-12-01 12:40:00,4.25,17897.0,United Kingdom",
    "malformed": "536999,22960,BROKEN ROW,1,2010-12-01 12:00:00,4.25",
    "unparseable": "537000,22960,JAM MAKING SET WITH JARS,two,2010-12-01 12:00:00,4.25,17897.0,United Kingdom",
    "negative_sale": "537001,22960,JAM MAKING SET WITH JARS,-2,2010-12-01 12:45:00,4.25,17897.0,United Kingdom",
    "exactly_the_rest": "C536508,22960,JAM MAKING SET WITH JARS,-2,2010-12-01 12:50:00,4.25,17897.0,United Kingdom",
}
#: line number in the hand-picked file -> reason (lines 2, 5, 6 and 14 are imported)
REJECTED_HAND_PICKED = {
    3: "credit note for a discount line, not goods coming back",           # C536379 D Discount
    4: "no earlier purchase of this item by this customer in the data",    # C536383 35004C, customer 15311
    7: "more returned than bought and not yet returned",                   # 3 asked, 8 - 6 = 2 left
    8: "no customer",                                                      # 536544, CustomerID empty
    9: "credit note for a shipping line, not goods coming back",           # C537414 POST
    10: "bad-debt adjustment (A invoice), not an order",                   # A563185
    11: "malformed row: 6 fields instead of 8",
    12: "unparseable quantity, date or price",                             # Quantity "two"
    13: "sale line with a zero or negative quantity (stock adjustment)",
}


@pytest.fixture(scope="session")
def real_file(shared_data: Path) -> Path:
    return shared_data / "online_retail_uci" / "online_retail_2010-12-01_to_2011-12-09.csv.gz"


@pytest.fixture(scope="session")
def real_lines(real_file: Path) -> dict[int, str]:
    """The first 2,001 lines and the hand-picked lines of the real file, by file line number."""
    wanted = set(REAL_LINES) | set(range(1, 2002))
    out = {}
    with gzip.open(real_file, "rt", encoding="utf-8", newline="") as handle:
        for number, line in enumerate(islice(handle, max(wanted)), start=1):
            if number in wanted:
                out[number] = line.rstrip("\r\n")
    assert out[1] == HEADER
    return out


@pytest.fixture
def first_2000(real_lines: dict[int, str], tmp_path: Path) -> Path:
    path = tmp_path / "first_2000.csv"
    path.write_text("\n".join(real_lines[n] for n in range(1, 2002)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def hand_picked(real_lines: dict[int, str], tmp_path: Path) -> Path:
    rows = [real_lines[1], real_lines[47], real_lines[143], real_lines[156], real_lines[886], real_lines[941],
            MADE_UP["more_than_left"], real_lines[1445], real_lines[13054], real_lines[299984], MADE_UP["malformed"],
            MADE_UP["unparseable"], MADE_UP["negative_sale"], MADE_UP["exactly_the_rest"]]
    path = tmp_path / "hand.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in t.metadata.sorted_tables}


def test_the_first_2000_rows_are_all_accounted_for(container: Container, first_2000: Path, tmp_path: Path) -> None:
    report = import_uci(container.engine, first_2000, rejects_path=tmp_path / "rejects.csv")
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (2000, 1442, 558)
    assert report.rows_imported + report.rows_rejected == report.rows_read
    assert dict(report.rejected_by_reason) == {
        "no customer": 533,
        "no earlier purchase of this item by this customer in the data": 24,
        "credit note for a discount line, not goods coming back": 1,
    }
    assert (report.orders, report.order_lines, report.customers) == (84, 1441, 68)
    assert (report.credit_note_lines_matched, report.returns_requested, report.return_lines) == (1, 1, 1)
    counts = row_counts(container.engine)
    assert (counts["orders"], counts["order_lines"], counts["customers"]) == (84, 1441, 68)
    assert (counts["return_authorizations"], counts["return_lines"], counts["return_events"]) == (1, 1, 1)
    with open(tmp_path / "rejects.csv", newline="", encoding="utf-8") as handle:
        rejects = list(csv.reader(handle))
    assert len(rejects) == 1 + 558
    # file line 143 is the discount credit note C536379 (see the module docstring)
    assert ["143", "credit note for a discount line, not goods coming back", "C536379", "D", "Discount", "-1",
            "2010-12-01 09:41:00", "27.5", "14527.0", "United Kingdom"] in rejects
    with container.engine.connect() as conn:
        rma = conn.execute(select(t.return_authorizations)).one()
        line = conn.execute(select(t.return_lines)).one()
    assert (rma.order_number, rma.customer_id, rma.status, rma.channel) == ("536488", "17897", "requested", "import")
    assert rma.decision == "credit note C536506"
    assert (line.sku, line.quantity, D(line.paid_amount)) == ("22960", 6, D("25.50"))


def test_hand_picked_rows_each_land_in_their_place(container: Container, hand_picked: Path, tmp_path: Path) -> None:
    rejects_path = tmp_path / "rejects.csv"
    report = import_uci(container.engine, hand_picked, rejects_path=rejects_path)
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (13, 4, 9)
    assert dict(report.rejected_by_reason) == {reason: 1 for reason in REJECTED_HAND_PICKED.values()}
    assert (report.orders, report.order_lines, report.customers, report.credit_note_lines_matched) == (2, 2, 2, 2)
    with open(rejects_path, newline="", encoding="utf-8") as handle:
        rejects = list(csv.reader(handle))
    assert rejects[0] == ["line_number", "reason", *HEADER.split(",")]
    assert {int(row[0]): row[1] for row in rejects[1:]} == REJECTED_HAND_PICKED
    assert rejects[1 + list(REJECTED_HAND_PICKED).index(11)][2:] == MADE_UP["malformed"].split(",")

    with container.engine.connect() as conn:
        kinds = dict(conn.execute(select(t.order_lines.c.sku, t.order_lines.c.kind)).all())
        rmas = conn.execute(select(t.return_authorizations.c.number, t.return_authorizations.c.decision,
                                   t.return_authorizations.c.requested_at, t.return_lines.c.quantity,
                                   t.return_lines.c.paid_amount)
                            .join(t.return_lines, t.return_lines.c.rma_id == t.return_authorizations.c.id)
                            .order_by(t.return_authorizations.c.number)).all()
    assert kinds == {"POST": "shipping", "22960": "goods"}
    # 8 x 4.25 = 34.00: 6 units -> 34.00 x 6/8 = 25.50; the last 2 -> 34.00 - 25.50 = 8.50.
    # December in London is GMT, so file times are UTC times.
    assert [(n, d, at.replace(tzinfo=UTC) if at.tzinfo is None else at, q, D(p)) for n, d, at, q, p in rmas] == [
        ("RMA-000001", "credit note C536506", datetime(2010, 12, 1, 12, 38, tzinfo=UTC), 6, D("25.50")),
        ("RMA-000002", "credit note C536508", datetime(2010, 12, 1, 12, 50, tzinfo=UTC), 2, D("8.50")),
    ]


def test_re_importing_the_same_file_changes_nothing(container: Container, hand_picked: Path, tmp_path: Path) -> None:
    import_uci(container.engine, hand_picked, rejects_path=tmp_path / "rejects.csv")
    before = row_counts(container.engine)
    again = import_uci(container.engine, hand_picked, rejects_path=tmp_path / "rejects2.csv")
    assert again.already_imported
    assert (again.rows_read, again.rows_imported, again.rows_rejected) == (0, 0, 0)
    assert row_counts(container.engine) == before


def test_a_different_file_with_an_order_already_imported_rejects_those_rows(
        container: Container, hand_picked: Path, tmp_path: Path) -> None:
    import_uci(container.engine, hand_picked, rejects_path=tmp_path / "rejects.csv")
    before = row_counts(container.engine)
    other = tmp_path / "other.csv"  # a new file (other bytes) repeating order 536488
    other.write_text(HEADER + "\n536488,22960,JAM MAKING SET WITH JARS,8,2010-12-01 12:31:00,4.25,17897.0,"
                              "United Kingdom\n", encoding="utf-8")
    report = import_uci(container.engine, other, rejects_path=tmp_path / "rejects2.csv")
    assert (report.rows_read, report.rows_imported, dict(report.rejected_by_reason)) == (
        1, 0, {"order already imported": 1})
    after = row_counts(container.engine)
    assert after.pop("import_batches") == before.pop("import_batches") + 1
    assert after == before


def test_a_file_with_the_wrong_header_is_refused_and_stores_nothing(container: Container, tmp_path: Path) -> None:
    before = row_counts(container.engine)
    bad = tmp_path / "bad.csv"
    bad.write_text("Invoice,Code\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected header"):
        import_uci(container.engine, bad, rejects_path=tmp_path / "rejects.csv")
    assert row_counts(container.engine) == before


def test_each_imported_invoice_is_paid_by_one_card_payment_of_its_total(
        container: Container, first_2000: Path, tmp_path: Path) -> None:
    import_uci(container.engine, first_2000, rejects_path=tmp_path / "rejects.csv")
    from sqlalchemy import select

    from returnflow.adapters.db import tables as t
    with container.engine.connect() as conn:
        rows = conn.execute(select(t.payments.c.method, t.payments.c.amount).join(
            t.orders, t.orders.c.id == t.payments.c.order_id).where(t.orders.c.order_number == "536365")).all()
    # zcat $F | awk -F, '$1=="536365"{s+=$4*$6} END{printf "%.2f", s}'  ->  139.12
    # (6x2.55 + 6x3.39 + 8x2.75 + 6x3.39 + 6x3.39 + 2x7.65 + 6x4.25)
    assert [(method, str(amount)) for method, amount in rows] == [("card", "139.12")]
