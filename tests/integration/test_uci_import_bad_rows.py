"""Bad rows in a UCI file: each is rejected with its line number and reason, none stops the import, and
nothing is stored for it (SQLite and PostgreSQL). Small made-up files; counts worked out by hand below.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select, update
from typer.testing import CliRunner

from returnflow.adapters.db import tables as t
from returnflow.adapters.importers.uci import ImportReport, import_uci, rejects_path_for
from returnflow.bootstrap import Container
from returnflow.cli import app

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
UK = "United Kingdom"


def write(path: Path, *rows: str, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding=encoding)
    return path


def run(container: Container, path: Path, tmp_path: Path) -> tuple[ImportReport, dict[int, str]]:
    """Import ``path``; the report and {line number: reason} read back from the rejects file."""
    rejects = tmp_path / f"{path.stem}-rejects.csv"
    report = import_uci(container.engine, path, rejects_path=rejects)
    assert report.rows_imported + report.rows_rejected == report.rows_read
    with open(rejects, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line_number", "reason", *HEADER.split(",")]
    assert len(rows) - 1 == report.rows_rejected
    return report, {int(r[0]): r[1] for r in rows[1:]}


def count(container: Container, table: Table) -> int:
    with container.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_non_finite_huge_prices_and_quantities_are_rejected(container: Container, tmp_path: Path) -> None:
    path = write(
        tmp_path / "numbers.csv",
        f"536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,{UK}",                 # 2 imported
        f"536366,22633,HAND WARMER,6,2010-12-01 08:28:00,NaN,17850.0,{UK}",            # 3 not finite
        f"536367,22634,HAND WARMER,6,2010-12-01 08:28:00,Infinity,17850.0,{UK}",       # 4 not finite
        f"536368,22635,HAND WARMER,6,2010-12-01 08:28:00,1e308,17850.0,{UK}",          # 5 price too high
        f"536369,22636,HAND WARMER,1,2010-12-01 08:28:00,1000000.01,17850.0,{UK}",     # 6 price too high
        f"536370,22637,HAND WARMER,1,2010-12-01 08:28:00,1000000,17850.0,{UK}",        # 7 imported (the bound)
        f"536371,22638,HAND WARMER,99999999999999999999,2010-12-01 08:28:00,1,17850.0,{UK}",  # 8 quantity
        f"C536372,85123A,HEART,-1000000001,2010-12-01 09:00:00,2.55,17850.0,{UK}",     # 9 quantity
        f"536373,22639,HAND WARMER,1001,2010-12-01 08:28:00,1000000,17850.0,{UK}",     # 10 line total 1.001e9
        f"536374,22640,HAND WARMER,1,2010-12-01 08:28:00,-inf,17850.0,{UK}",           # 11 not finite
    )
    report, rejects = run(container, path, tmp_path)
    # 10 read = 2 imported (lines 2 and 7) + 8 rejected
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (10, 2, 8)
    assert rejects == {
        3: "unit price is not a finite number", 4: "unit price is not a finite number",
        5: "unit price above 1,000,000 per unit", 6: "unit price above 1,000,000 per unit",
        8: "quantity beyond 1,000,000,000 units", 9: "quantity beyond 1,000,000,000 units",
        10: "line total (quantity x unit price) beyond 1,000,000,000", 11: "unit price is not a finite number",
    }
    assert (report.orders, report.order_lines) == (2, 2)
    with container.engine.connect() as conn:
        prices = dict(conn.execute(select(t.order_lines.c.sku, t.order_lines.c.unit_price)).all())
    assert prices == {"85123A": D("2.55"), "22637": D("1000000")}


def test_no_stock_code_odd_customer_ids_and_future_dates_are_rejected(container: Container, tmp_path: Path) -> None:
    path = write(
        tmp_path / "fields.csv",
        f"536365,,HEART,6,2010-12-01 08:26:00,2.55,17850.0,{UK}",                      # 2 no stock code
        f"536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,abc,{UK}",               # 3 customer not a number
        f"536367,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,17850.5,{UK}",           # 4 customer not a number
        f"536368,22633,HAND WARMER,6,2999-01-01 08:28:00,1.85,17850.0,{UK}",           # 5 in the future
        f"536369,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,13047,{UK}",             # 6 imported: "13047"
        f",22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,13047.0,{UK}",                 # 7 no invoice number
        f"536370,{'X' * 65},LONG CODE,1,2010-12-01 08:28:00,1.85,13047.0,{UK}",        # 8 field too long
        f"536371,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,,{UK}",                  # 9 no customer
    )
    report, rejects = run(container, path, tmp_path)
    # 8 read = 1 imported (line 6) + 7 rejected
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (8, 1, 7)
    assert rejects == {
        2: "no stock code", 3: "customer id is not a number", 4: "customer id is not a number",
        5: "dated in the future", 7: "no invoice number",
        8: "field too long (InvoiceNo, StockCode, CustomerID or Country over 64 characters)", 9: "no customer",
    }
    with container.engine.connect() as conn:
        assert conn.execute(select(t.orders.c.order_number, t.orders.c.customer_id)).all() == [("536369", "13047")]
        assert list(conn.execute(select(t.customers.c.id)).scalars()) == ["13047"]


def test_a_credit_note_only_takes_purchases_dated_at_or_before_it(container: Container, tmp_path: Path) -> None:
    path = write(
        tmp_path / "dates.csv",
        f"536400,22960,JAM SET,5,2010-12-05 10:00:00,4.25,17850.0,{UK}",     # 2 imported
        f"C536401,22960,JAM SET,-2,2010-12-03 10:00:00,4.25,17850.0,{UK}",   # 3 dated before line 2's purchase
        f"C536402,22960,JAM SET,-3,2010-12-05 10:00:00,4.25,17850.0,{UK}",   # 4 same time as line 2: 3 of 5
        f"C536403,23166,MUG,-1,2011-01-18 10:17:00,1.04,12346.0,{UK}",       # 5 later in the file is line 6,
        f"541431,23166,MUG,4,2011-01-18 10:01:00,1.04,12346.0,{UK}",         # 6 dated before it: 1 of 4
        f"536500,21000,BOX,2,2010-12-01 09:00:00,1.00,13000.0,{UK}",         # 7 imported
        f"536600,21000,BOX,2,2010-12-10 09:00:00,1.00,13000.0,{UK}",         # 8 imported
        f"C536550,21000,BOX,-3,2010-12-05 09:00:00,1.00,13000.0,{UK}",       # 9 only line 7's 2 units are older
    )
    report, rejects = run(container, path, tmp_path)
    # 8 read = 6 imported (2, 4, 5, 6, 7, 8) + 2 rejected (3, 9); 2 credit-note lines matched -> 2 RMAs
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (8, 6, 2)
    assert rejects == {3: "no earlier purchase of this item by this customer in the data",
                       9: "more returned than bought and not yet returned"}
    assert (report.credit_note_lines_matched, report.returns_requested) == (2, 2)
    with container.engine.connect() as conn:
        got = conn.execute(select(t.return_authorizations.c.order_number, t.return_lines.c.reason_detail,
                                  t.return_lines.c.quantity, t.return_lines.c.paid_amount)
                           .join(t.return_lines, t.return_lines.c.rma_id == t.return_authorizations.c.id)
                           .order_by(t.return_authorizations.c.order_number)).all()
    # 5 x 4.25 = 21.25 -> 3 units 12.75; 4 x 1.04 = 4.16 -> 1 unit 1.04
    assert [(o, d, q, D(p)) for o, d, q, p in got] == [("536400", "credit note C536402", 3, D("12.75")),
                                                       ("541431", "credit note C536403", 1, D("1.04"))]


def test_a_changed_file_rejects_credit_notes_already_imported(container: Container, tmp_path: Path) -> None:
    sale = f"536400,22960,JAM SET,5,2010-12-05 10:00:00,4.25,17850.0,{UK}"
    credit = f"C536402,22960,JAM SET,-3,2010-12-06 10:00:00,4.25,17850.0,{UK}"
    first, _ = run(container, write(tmp_path / "v1.csv", sale, credit), tmp_path)
    assert (first.rows_imported, first.returns_requested) == (2, 1)
    with container.engine.begin() as conn:  # the replay rewrites the decision: the check must not rely on it
        conn.execute(update(t.return_authorizations).values(decision="eligible under the return policy"))
    extra = f"536700,21000,BOX,2,2010-12-07 09:00:00,1.00,13000.0,{UK}"
    report, rejects = run(container, write(tmp_path / "v2.csv", sale, credit, extra), tmp_path)
    # 3 read = 1 imported (the new order, line 4) + 2 rejected
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (3, 1, 2)
    assert rejects == {2: "order already imported", 3: "credit note already imported"}
    assert (count(container, t.orders), count(container, t.return_authorizations),
            count(container, t.return_lines)) == (2, 1, 1)


def test_a_file_saved_with_a_byte_order_mark_is_read(container: Container, tmp_path: Path) -> None:
    path = write(tmp_path / "excel.csv", f"536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,{UK}",
                 encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report, rejects = run(container, path, tmp_path)
    assert (report.rows_read, report.rows_imported, rejects) == (1, 1, {})


def test_unreadable_rows_nul_characters_and_multi_line_records(container: Container, tmp_path: Path) -> None:
    path = write(
        tmp_path / "odd.csv",
        f'536365,85123A,"TWO\nLINES",6,2010-12-01 08:26:00,2.55,17850.0,{UK}',        # lines 2-3 imported
        f"536366,22633,BAD\x00NAME,6,2010-12-01 08:28:00,1.85,17850.0,{UK}",            # 4 NUL
        f'536367,22633,"{"Y" * 200_000}",6,2010-12-01 08:28:00,1.85,17850.0,{UK}',      # 5 beyond csv's limit
        f"536368,22634,WARMER,six,2010-12-01 08:28:00,1.85,17850.0,{UK}",               # 6 unparseable
    )
    report, rejects = run(container, path, tmp_path)
    # 4 records read = 1 imported + 3 rejected; line numbers are the file lines where the records start
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (4, 1, 3)
    assert rejects == {4: "NUL character in a field", 5: "unreadable row: field larger than field limit (131072)",
                       6: "unparseable quantity, date or price"}


def _cli(container: Container, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", container.settings.database_url],
                                env={"RETURNFLOW_DATA_DIR": str(tmp_path / "data")})
    return result.exit_code, result.stdout, result.stderr


def test_each_source_file_gets_its_own_rejects_file(container: Container, tmp_path: Path) -> None:
    one = write(tmp_path / "one.csv", f"536365,,HEART,6,2010-12-01 08:26:00,2.55,17850.0,{UK}")
    two = write(tmp_path / "two.csv",
                f"536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,abc,{UK}")
    code, out, _ = _cli(container, tmp_path, "import", "orders", str(one), "--json")
    assert code == 0 and json.loads(out)["rejects_path"] == str(tmp_path / "data" / "import_rejects" / "one.csv")
    code, out, _ = _cli(container, tmp_path, "import", "orders", str(two), "--json")
    assert code == 0 and json.loads(out)["rejects_path"] == str(tmp_path / "data" / "import_rejects" / "two.csv")
    assert "no stock code" in (tmp_path / "data" / "import_rejects" / "one.csv").read_text(encoding="utf-8")
    assert "not a number" in (tmp_path / "data" / "import_rejects" / "two.csv").read_text(encoding="utf-8")
    assert rejects_path_for(tmp_path, Path("x/online_retail.csv.gz")) == tmp_path / "import_rejects" / "online_retail.csv"
    # the same file again: refused as already imported, and its rejects file is not written again
    (tmp_path / "data" / "import_rejects" / "one.csv").unlink()
    code, out, _ = _cli(container, tmp_path, "import", "orders", str(one), "--json")
    assert code == 0 and json.loads(out)["already_imported"] is True and json.loads(out)["rejects_path"] == ""
    assert not (tmp_path / "data" / "import_rejects" / "one.csv").exists()


def test_json_errors_are_json_on_stdout(container: Container, tmp_path: Path) -> None:
    code, out, _ = _cli(container, tmp_path, "import", "orders", str(tmp_path / "nope.csv"), "--json")
    assert (code, json.loads(out)) == (2, {"error": f"no such file: {tmp_path / 'nope.csv'}"})
    bad = tmp_path / "bad.csv"
    bad.write_text("Invoice,Code\n1,2\n", encoding="utf-8")
    code, out, _ = _cli(container, tmp_path, "import", "orders", str(bad), "--json")
    assert code == 2 and "expected header" in json.loads(out)["error"]


@pytest.mark.parametrize("url", ["nonsense", "nosuchdialect://x", "postgresql+psycopg://u:secret@127.0.0.1:1/x"])
@pytest.mark.parametrize("command", [["import", "orders"], ["demo", "--no-serve"], ["db", "upgrade"], ["serve"]])
def test_a_bogus_database_url_is_one_error_line(url: str, command: list[str], tmp_path: Path) -> None:
    args = [*command, str(write(tmp_path / "a.csv"))] if command[0] == "import" else list(command)
    if command[0] == "demo":
        args += ["--data", str(write(tmp_path / "a.csv"))]
    result = CliRunner().invoke(app, args, env={"RETURNFLOW_DATABASE_URL": url,
                                                "RETURNFLOW_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cannot use the database at "), result.stderr
    assert "secret" not in result.stderr
    if command[0] != "serve":
        result = CliRunner().invoke(app, [*args, "--json"], env={"RETURNFLOW_DATABASE_URL": url}) \
            if command[0] != "db" else None
        if result is not None:
            assert result.exit_code == 2
            assert json.loads(result.stdout)["error"].startswith("cannot use the database at ")
