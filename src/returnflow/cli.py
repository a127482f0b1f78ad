"""The ``returnflow`` command: demo, import, serve, db upgrade, api-key (and plan, worker)."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from returnflow import cli_logistics
from returnflow.adapters.importers.uci import import_uci, rejects_path_for
from returnflow.planning.cli import plan_app, register_zone_cost_model
from returnflow.bootstrap import Container, Settings, default_uci_path
from returnflow.domain.errors import DomainError
from returnflow.services.policies import load_policy_file, put_policy
from returnflow.services import access, analytics, centers, replay, setup, staff

app = typer.Typer(help="Returnflow: returns management (reverse logistics) for e-commerce.", no_args_is_help=True)
import_app = typer.Typer(help="Import orders and returns.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(db_app, name="db")
app.add_typer(plan_app, name="plan")
app.add_typer(cli_logistics.app, name="logistics")
user_app = typer.Typer(help="Staff users of the pages.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _ups_ground_zone_cost(origin_zip3: str, dest_zip3: str, weight_kg: float) -> float:
    """USD for one parcel: UPS Ground Residential 2005 price for the zone between two ZIP3 prefixes.

    Raises RateNotAvailable (a LookupError) where the charts have no zone; the planner then drops that pair.
    """
    from decimal import Decimal

    from returnflow.adapters.carriers import rates

    zone = rates.ups_ground_zone(f"{origin_zip3}00", f"{dest_zip3}00")
    pounds = rates.billable_pounds(Decimal(str(weight_kg)))
    return float(rates.ups_ground_residential_price(zone=zone, pounds=pounds))


register_zone_cost_model(_ups_ground_zone_cost)
err = Console(stderr=True)
DEMO_POLICY_FILE = Path(__file__).resolve().parents[2] / "policies" / "demo.toml"

DbUrl = Annotated[str, typer.Option("--database-url", envvar="RETURNFLOW_DATABASE_URL",
                                    help="SQLAlchemy URL; default a SQLite file under ./data")]


def _container(database_url: str) -> Container:
    return Container(Settings(database_url=database_url))


def _fail(message: str, json_output: bool = False) -> NoReturn:
    """Print one error line (with --json: ``{"error": ...}`` on stdout) and exit 2."""
    if json_output:
        typer.echo(json.dumps({"error": message}))
    else:
        err.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(2)


def _shown_url(url: str) -> str:
    """The URL with its password hidden (also when SQLAlchemy cannot parse it)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  (unparseable: hide whatever sits between ':' and '@')
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0].strip()


@contextmanager
def _database_errors(url: str, json_output: bool = False) -> Iterator[None]:
    """Turn a database that cannot be reached or a URL that cannot be used into one error line (exit 2)."""
    try:
        yield
    except (ArgumentError, OperationalError, InterfaceError) as exc:
        _fail(f"cannot use the database at {_shown_url(url)}: {_first_line(exc)}", json_output)


def _connected(database_url: str, json_output: bool = False) -> Container:
    """A container whose database URL parses, whose driver is installed and whose database answers."""
    container = _container(database_url)
    url = container.settings.database_url
    with _database_errors(url, json_output):
        try:
            container.engine.connect().close()
        except (ValueError, ImportError, OSError) as exc:  # bad port, missing driver, SQLite folder not creatable
            _fail(f"cannot use the database at {_shown_url(url)}: {_first_line(exc)}", json_output)
    return container


def _progress(label: str, total: int | None, quiet: bool) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                    disable=quiet, transient=False)


def _import(container: Container, path: Path, quiet: bool) -> dict[str, object]:
    rejects = rejects_path_for(container.settings.data_dir, path)
    with _progress("import rows", None, quiet) as bar:
        task = bar.add_task("import", total=541909 if "online_retail" in path.name else None)
        report = import_uci(container.engine, path, rejects_path=rejects,
                            progress=lambda n: bar.update(task, completed=n))
        bar.update(task, completed=report.rows_read)
    return report.as_dict()


@db_app.command("upgrade")
def db_upgrade(database_url: DbUrl = "") -> None:
    """Apply the Alembic migrations to the database; a database without return centers gets the default ones."""
    container = _connected(database_url)
    with _database_errors(container.settings.database_url):
        setup.upgrade_database(container.engine)
        with container.uow() as uow:
            seeded = not centers.list_centers(uow)
            if seeded:
                centers.ensure_default_centers(uow)
                uow.commit()
    err.print(f"database at {container.engine.url.render_as_string(hide_password=True)} is up to date")
    if seeded:
        err.print("no return centers were defined: added the defaults "
                  f"({', '.join(c.code for c in centers.DEFAULT_CENTERS)}); see docs/production.md to use your own")


@import_app.command("orders")
def import_orders(path: Annotated[Path, typer.Argument(help="UCI Online Retail CSV or CSV.gz")],
                  database_url: DbUrl = "", json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Import sales invoices as orders and credit notes as return requests; every row accounted for."""
    if not path.is_file():
        _fail(f"no such file: {path}", json_output)
    container = _connected(database_url, json_output)
    try:
        with _database_errors(container.settings.database_url, json_output):
            setup.upgrade_database(container.engine)
            report = _import(container, path, quiet=json_output)
    except (ValueError, OSError) as exc:  # wrong header, not UTF-8, not gzip, unreadable
        _fail(str(exc), json_output)
    if json_output:
        typer.echo(json.dumps(report, default=str))
        return
    if report["already_imported"]:
        err.print("this file was imported before: nothing changed")
        return
    err.print(f"rows read {report['rows_read']:,} = imported {report['rows_imported']:,} "
              f"+ rejected {report['rows_rejected']:,} (reasons in {report['rejects_path']})")
    for reason, count in report["rejected_by_reason"].items():  # type: ignore[union-attr]
        err.print(f"  {count:>8,}  {reason}")


@app.command("api-key")
def api_key(name: str,
            scopes: Annotated[list[str], typer.Option("--scope", help=f"repeat or comma-separate: {', '.join(access.SCOPES)}")
                              ] = ["admin"],  # noqa: B006
            database_url: DbUrl = "") -> None:
    """Create a staff API key and print it (shown only once)."""
    wanted = [scope.strip() for given in scopes for scope in given.split(",") if scope.strip()]
    container = _connected(database_url)
    try:
        with _database_errors(container.settings.database_url), container.uow() as uow:
            key = access.create_api_key(uow, name=name, scopes=wanted)
            uow.commit()
    except DomainError as exc:
        _fail(exc.detail)
    typer.echo(key)


def _print_summary(summary: dict[str, object]) -> None:
    console = Console()
    table = Table(title="Returnflow demo: UCI Online Retail returns replayed", show_header=False)
    for key in ("rows_read", "rows_imported", "rows_rejected", "orders", "order_lines", "returns_requested",
                "returns_authorized", "returns_in_review", "returns_rejected", "returns_refunded", "refund_total",
                "return_rate_by_units", "return_rate_by_value", "days_request_to_refund", "replay_seconds",
                "import_seconds"):
        table.add_row(key, str(summary[key]))
    console.print(table)
    console.print("rows rejected by reason:", summary["rejected_by_reason"])
    console.print("returns by status:", summary["returns_by_status"])
    console.print("top 10 SKUs by units:", [(r["sku"], r["units"]) for r in summary["top_skus_by_units"]])  # type: ignore[union-attr,index]
    console.print("top 10 SKUs by value:", [(r["sku"], r["value"]) for r in summary["top_skus_by_value"]])  # type: ignore[union-attr,index]
    console.print("returns by country:", summary["returns_by_country"])
    console.print("units by disposition:", summary["units_by_disposition"])
    console.print("[yellow]SIMULATED:[/yellow] " + str(summary["simulated"]))


@app.command()
def demo(database_url: DbUrl = "",
         data: Annotated[Path | None, typer.Option(help="UCI file; default ../shared/data/...")] = None,
         json_output: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object")] = False,
         serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
         seed: int = 42, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Fresh database, import the real UCI file, replay every matched credit note, print a summary."""
    path = data or default_uci_path()
    if not path.is_file():
        _fail(f"UCI data not found at {path}; set RETURNFLOW_SHARED_DATA or --data", json_output)
    # The demo's policy (policies/demo.toml) unless one is named; the server started after the demo uses it too.
    policy_file = Path(os.environ.get("RETURNFLOW_POLICY_FILE") or DEMO_POLICY_FILE)
    container = _connected(database_url, json_output)
    container.policy = load_policy_file(policy_file)
    try:
        with _database_errors(container.settings.database_url, json_output):
            setup.reset_database(container.engine)
            with container.uow() as uow:
                centers.ensure_default_centers(uow)
                uow.commit()
            # The demo's policy becomes the database's active stored policy, so any server started on this
            # database later (`returnflow serve`) decides new returns with it, as `make run` does.
            put_policy(container.uow, source=policy_file.read_text(encoding="utf-8"), actor="system:demo")
            started = perf_counter()
            report = _import(container, path, quiet=json_output)
    except (ValueError, OSError) as exc:
        _fail(str(exc), json_output)
    import_seconds = perf_counter() - started
    started = perf_counter()
    with _progress("replay returns", None, json_output) as bar:
        task = bar.add_task("replay", total=int(report["returns_requested"]))  # type: ignore[call-overload]
        replayed = replay.replay_requested_returns(container.uow, policy=container.policy, seed=seed,
                                                   progress=lambda n: bar.update(task, completed=n))
    replay_seconds = perf_counter() - started
    with container.uow() as uow:
        summary = analytics.summarize(uow).as_dict()
        key = access.create_api_key(uow, name="demo-admin", scopes=["admin"])
        staff.ensure_default_reasons(uow)
        demo_users = {role: secrets.token_urlsafe(9) for role in staff.ROLES}  # demo database only
        for role, password in demo_users.items():
            staff.create_user(uow, username=role, password=password, role=role)
        uow.commit()
    summary = {**{k: report[k] for k in ("rows_read", "rows_imported", "rows_rejected", "rejected_by_reason",
                                         "credit_note_lines_matched", "rejects_path")},
               **summary, "import_seconds": round(import_seconds, 2), "replay_seconds": round(replay_seconds, 2),
               "replay": {"reviewed_approved": replayed.reviewed_approved,
                          "reviewed_rejected": replayed.reviewed_rejected,
                          "lost_in_transit": replayed.lost_in_transit, "short_shipped": replayed.short_shipped},
               "simulated": "carrier scans, parcel losses, short shipments, inspection grades and all times after "
                            f"the request are simulated by a seeded model (seed {seed}); see returnflow.services.replay"}
    credentials = container.settings.data_dir / "demo_credentials.json"
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.write_text(json.dumps({"api_key": key, "staff_users": demo_users}, indent=2))
    if json_output:
        typer.echo(json.dumps(summary, default=str))
    else:
        _print_summary(summary)
        err.print(f"staff API key (admin) for this demo database: {key}  (saved in {credentials})")
        err.print("demo staff sign-in at /staff/login (user: password): "
                  + ", ".join(f"{u}: {p}" for u, p in demo_users.items()))
    if serve_after:
        os.environ["RETURNFLOW_POLICY_FILE"] = str(policy_file)
        serve(database_url=container.settings.database_url, host=host, port=port)


@user_app.command("add")
def user_add(name: str, role: Annotated[str, typer.Option(help="warehouse, agent or admin")] = "agent",
             database_url: DbUrl = "") -> None:
    """Create a staff user; the password is asked for (not echoed)."""
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    container = _container(database_url)
    with container.uow() as uow:
        try:
            staff.create_user(uow, username=name, password=password, role=role)
        except (access.InvalidInput, access.Conflict) as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        uow.commit()
    err.print(f"user {name} ({role}) created")


@app.command()
def serve(database_url: DbUrl = "", host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API (OpenAPI at /docs) and pages on the database."""

    import uvicorn

    if database_url:
        os.environ["RETURNFLOW_DATABASE_URL"] = database_url
    _connected(database_url).dispose()  # a bad URL: one error line here, not a traceback from the server
    if Settings().database_url.startswith("sqlite"):  # embedded default: deliver in-process, nothing else to run
        os.environ.setdefault("RETURNFLOW_EMBEDDED_WORKER", "1")
    err.print(f"serving on http://{host}:{port}  (API docs at http://{host}:{port}/docs)")
    uvicorn.run("returnflow.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


outbox_app = typer.Typer(help="Outbox: dead messages and retries.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@app.command()
def worker(database_url: DbUrl = "", batch_size: int = 20, poll_seconds: float = 0.5) -> None:
    """Deliver outbox messages (emails, webhooks) until stopped; with RETURNFLOW_BROKER_URL, relay to Dramatiq."""
    if database_url:
        os.environ["RETURNFLOW_DATABASE_URL"] = database_url
    # The worker is its own top-level entry point (the CLI and the worker do not import each other).
    os.execv(sys.executable, [sys.executable, "-m", "returnflow.worker", "--batch-size", str(batch_size),
                              "--poll-seconds", str(poll_seconds)])


@outbox_app.command("dead")
def outbox_dead(database_url: DbUrl = "", limit: int = 50) -> None:
    """List dead messages with their last error (JSON lines)."""
    for row in _container(database_url).outbox.dead(limit=limit):
        typer.echo(json.dumps(row, default=str))


@outbox_app.command("retry")
def outbox_retry(ids: Annotated[list[int] | None, typer.Argument(help="message ids; none = every dead one")] = None,
                 database_url: DbUrl = "") -> None:
    """Make dead messages due again (fresh attempt count)."""
    count = _container(database_url).outbox.retry_dead(ids or None)
    err.print(f"{count} dead message(s) queued again")


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])
