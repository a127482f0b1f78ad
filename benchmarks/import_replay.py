"""Benchmark: import the whole UCI Online Retail file, then replay every matched return through the full loop.

Usage::

    PYTHONPATH=src python benchmarks/import_replay.py                       # fresh SQLite DB in a temp dir
    PYTHONPATH=src python benchmarks/import_replay.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    PYTHONPATH=src python benchmarks/import_replay.py --profile              # cProfile top functions per phase

Target (issue 2): import + replay under 20 s on 2 cores. A PostgreSQL database given with --database-url is
RESET (every Returnflow table dropped): point it at a throw-away database.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path
from time import perf_counter

from returnflow.adapters.importers.uci import import_uci
from returnflow.bootstrap import Container, Settings, default_uci_path
from returnflow.services import centers, replay, setup

TARGET_SECONDS = 20.0


def run(database_url: str, data: Path, workdir: Path, profile: bool) -> int:
    container = Container(Settings(database_url=database_url, data_dir=workdir))
    setup.reset_database(container.engine)
    with container.uow() as uow:
        centers.ensure_default_centers(uow)
        uow.commit()

    profiler = cProfile.Profile() if profile else None
    started = perf_counter()
    if profiler:
        profiler.enable()
    report = import_uci(container.engine, data, rejects_path=workdir / "rejects.csv")
    if profiler:
        profiler.disable()
    import_seconds = perf_counter() - started
    if profiler:
        print("--- import profile (top 15 by cumulative time) ---")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)
        profiler = cProfile.Profile()

    started = perf_counter()
    if profiler:
        profiler.enable()
    replayed = replay.replay_requested_returns(container.uow, policy=container.policy, seed=42)
    if profiler:
        profiler.disable()
    replay_seconds = perf_counter() - started
    if profiler:
        print("--- replay profile (top 25 by internal time) ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

    total = import_seconds + replay_seconds
    print(f"database         {container.engine.url.render_as_string(hide_password=True)}")
    print(f"rows             read {report.rows_read:,} = imported {report.rows_imported:,} "
          f"+ rejected {report.rows_rejected:,}")
    print(f"orders           {report.orders:,} ({report.order_lines:,} lines, {report.customers:,} customers)")
    print(f"returns          {report.returns_requested:,} RMAs ({report.return_lines:,} lines) from "
          f"{report.credit_note_lines_matched:,} matched credit-note lines")
    print(f"import           {import_seconds:6.2f} s  {report.rows_read / import_seconds:10,.0f} rows/s")
    print(f"replay           {replay_seconds:6.2f} s  {replayed.replayed / replay_seconds:10,.0f} returns/s  "
          f"{dict(sorted(replayed.by_status.items()))}")
    print(f"total            {total:6.2f} s  (target < {TARGET_SECONDS:.0f} s: {'met' if total < TARGET_SECONDS else 'MISSED'})")
    container.dispose()
    return 0 if report.rows_imported + report.rows_rejected == report.rows_read else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="", help="default: SQLite in a fresh temp dir")
    parser.add_argument("--data", type=Path, default=None, help="UCI file (default: the shared copy)")
    parser.add_argument("--profile", action="store_true", help="print cProfile statistics per phase")
    args = parser.parse_args(argv)
    data = args.data or default_uci_path()
    with tempfile.TemporaryDirectory(prefix="returnflow-bench-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        return run(url, data, workdir, args.profile)


if __name__ == "__main__":
    sys.exit(main())
