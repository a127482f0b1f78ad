"""``returnflow logistics``: the expiry / lost sweep and the 3PL receipts CSV drop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from returnflow.bootstrap import Container, Settings
from returnflow.domain.errors import InvalidInput
from returnflow.services import receipts, tracking

app = typer.Typer(help="Logistics jobs: sweep stale labels and silent parcels, import 3PL receipts.",
                  no_args_is_help=True)
DbUrl = Annotated[str, typer.Option("--database-url", envvar="RETURNFLOW_DATABASE_URL")]


@app.command("sweep")
def sweep(database_url: DbUrl = "", expire_after_days: int | None = None, lost_after_days: int | None = None) -> None:
    """Expire labels with no scan after N days; flag parcels with no progress for M days as lost (claim)."""
    container = Container(Settings(database_url=database_url))
    settings = container.logistics
    report = tracking.sweep(container.uow, expire_after_days=expire_after_days or settings.expire_after_days,
                            lost_after_days=lost_after_days or settings.lost_after_days)
    typer.echo(json.dumps({"expired": list(report.expired), "lost": list(report.lost)}))


@app.command("import-receipts")
def import_receipts(path: Path, database_url: DbUrl = "") -> None:
    """Apply a 3PL receipts CSV (rma_or_tracking, sku, units, grade, notes[, receipt_id]); prints the report."""
    if not path.exists():
        typer.echo(f"no such file: {path}", err=True)
        raise typer.Exit(2)
    container = Container(Settings(database_url=database_url))
    try:
        rows = receipts.read_csv(path.read_text(encoding="utf-8"))
    except InvalidInput as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(2) from None
    report = receipts.import_receipts(container.uow, rows, actor="3pl:csv", source=path.name)
    typer.echo(json.dumps({"read": report.read, "imported": report.imported,
                           "already_imported": report.already_imported,
                           "rejected": [{"row": r.row, "reason": r.reason} for r in report.rejected]}))
    if report.rejected:
        raise typer.Exit(1)
