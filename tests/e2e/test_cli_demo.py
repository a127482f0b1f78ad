"""``returnflow demo --no-serve --json`` on a slice of the real file (the first 2,000 rows), on a temp SQLite file.

Expected figures come from ``tests/integration/uci_count.awk`` (see ``tests/integration/test_uci_import.py``):
read=2000 imported=1442 orders=84 lines=1441 matched=1. The one return (credit note C536506: 6 of the 8 units
of order 536488 at 4.25) is replayed by the seeded simulation, so its refund is one of: 6/8 x 34.00 = 25.50
(all back and accepted), 5/8 x 34.00 = 21.25 (one unit short), 0.00 (graded D and rejected, or lost).
"""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import pytest
from typer.testing import CliRunner

from returnflow.cli import app


@pytest.fixture
def slice_file(shared_data: Path, tmp_path: Path) -> Path:
    source = shared_data / "online_retail_uci" / "online_retail_2010-12-01_to_2011-12-09.csv.gz"
    path = tmp_path / "first_2000.csv"
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        path.write_text("".join(islice(handle, 2001)), encoding="utf-8")
    return path


def test_the_demo_imports_replays_and_summarises_a_slice_as_json(slice_file: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RETURNFLOW_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--json", "--data", str(slice_file),
                                      "--database-url", url])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("rows_read", "rows_imported", "rows_rejected", "orders", "returns_requested", "returns_refunded",
                "refund_total", "currency"):
        assert key in summary
    assert summary["rows_imported"] + summary["rows_rejected"] == summary["rows_read"]
    assert (summary["rows_read"], summary["rows_imported"], summary["rows_rejected"]) == (2000, 1442, 558)
    assert (summary["orders"], summary["returns_requested"], summary["currency"]) == (84, 1, "GBP")
    assert summary["returns_refunded"] in (0, 1)
    assert summary["refund_total"] in ("0.00", "21.25", "25.50")
    assert (tmp_path / "data" / "demo_credentials.json").exists()
    rejects = tmp_path / "data" / "import_rejects" / "first_2000.csv"
    assert summary["rejects_path"] == str(rejects)
    assert rejects.read_text(encoding="utf-8").count("\n") == 1 + 558
    # a server started on this database later decides new returns with the demo's policy (its active version)
    from returnflow.bootstrap import Container, Settings

    later = Container(Settings(database_url=url))
    assert later.active_policy().version == "demo-1"  # policies/demo.toml
    later.dispose()


def test_the_demo_refuses_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNFLOW_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--json", "--data", str(tmp_path / "nope.csv"),
                                      "--database-url", f"sqlite:///{tmp_path / 'demo.db'}"])
    assert result.exit_code == 2
    assert not (tmp_path / "demo.db").exists()


def test_db_upgrade_gives_a_database_without_centers_the_defaults_once(tmp_path: Path) -> None:
    """A fresh production database routes and labels from the first return: ``db upgrade`` adds the three
    default return centers when there are none, and leaves a database that has its own centers alone."""
    from sqlalchemy import create_engine, delete, select

    from returnflow.adapters.db import tables as t

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = CliRunner().invoke(app, ["db", "upgrade", "--database-url", url])
    assert first.exit_code == 0, first.output
    engine = create_engine(url)
    with engine.connect() as conn:
        assert sorted(conn.execute(select(t.return_centers.c.code)).scalars()) == ["RC-EU-01", "RC-UK-01",
                                                                                  "RC-US-01"]
    with engine.begin() as conn:  # the merchant keeps only its own centre
        conn.execute(delete(t.return_centers).where(t.return_centers.c.code != "RC-UK-01"))
    again = CliRunner().invoke(app, ["db", "upgrade", "--database-url", url])
    assert again.exit_code == 0, again.output
    with engine.connect() as conn:
        assert list(conn.execute(select(t.return_centers.c.code)).scalars()) == ["RC-UK-01"]
    engine.dispose()


def test_api_key_takes_comma_separated_scopes_and_refuses_bad_ones_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    made = CliRunner().invoke(app, ["api-key", "ops", "--scope", "read,returns:write", "--scope", "read",
                                    "--database-url", url])  # a repeated scope counts once
    assert made.exit_code == 0 and made.output.strip().startswith("rf_"), made.output
    for args, words in ((["api-key", "ops", "--scope", "read"], "exists already"),
                        (["api-key", "other", "--scope", "bogus"], "scopes must be some of"),
                        (["api-key", " ", "--scope", "read"], "1 to 64 characters, got 0"),
                        (["api-key", "n" * 65, "--scope", "read"], "1 to 64 characters, got 65")):
        refused = CliRunner().invoke(app, [*args, "--database-url", url])
        assert refused.exit_code == 2 and words in refused.output and "Traceback" not in refused.output
    from sqlalchemy import create_engine, select

    from returnflow.adapters.db import tables as t

    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(t.api_keys.c.name, t.api_keys.c.scopes)).all() == [("ops", ["read", "returns:write"])]
    engine.dispose()
