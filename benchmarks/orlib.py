"""Benchmark the planner on Beasley's OR-Library CFLP instances against the proven optima in optima.csv.

Usage:  PYTHONPATH=src python benchmarks/orlib.py [--only small|large|uflp | --large-only] [--instances capb_6000,cap41]
                                               [--plain-time-limit 60] [--time-limit 60] [--skip-plain]

For every capacitated instance (37 small + capa/capb/capc at 4 capacities) it solves the splittable CFLP, and for
the 15 uncapacitated rows of optima.csv (cap71-74, cap101-104, cap131-134, capa/b/c; shown as NAME/U) the UFLP,
with the default method (Lagrangian + reduced MILP) and with the plain textbook MILP, and prints our objective, the
known optimum, |difference|, status, proven gap and seconds of each. Data: ../shared/data beside the repository
root, or $RETURNFLOW_SHARED_DATA. Exit status 1 if any default-method objective misses its optimum by > 1e-3.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

from returnflow.planning import plan_network, read_orlib

ROOT = Path(__file__).resolve().parents[1]


def data_directory() -> Path:
    override = os.environ.get("RETURNFLOW_SHARED_DATA")
    candidates = [Path(override)] if override else [ROOT / ".." / "shared" / "data", ROOT / ".." / ".." / "shared" / "data"]
    return next((path for path in candidates if path.is_dir()), candidates[0]) / "orlib_facility_location"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["small", "large", "uflp"])
    parser.add_argument("--large-only", action="store_true", help="same as --only large")
    parser.add_argument("--instances", help="comma-separated instance names from optima.csv (e.g. capb_6000,cap41)")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--plain-time-limit", type=float, default=60.0)
    parser.add_argument("--skip-plain", action="store_true")
    arguments = parser.parse_args()
    directory = data_directory()
    with (directory / "optima.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["problem"] in ("CFLP", "UFLP")]
    if arguments.large_only:
        arguments.only = "large"
    if arguments.instances:
        wanted = {name.strip() for name in arguments.instances.split(",") if name.strip()}
        unknown = wanted - {row["instance"] for row in rows}
        if unknown:
            parser.error(f"unknown instance(s): {', '.join(sorted(unknown))}")
        rows = [row for row in rows if row["instance"] in wanted]
    if arguments.only == "uflp":
        rows = [row for row in rows if row["problem"] == "UFLP"]
    elif arguments.only:
        rows = [row for row in rows if row["problem"] == "CFLP"
                and (row["capacity"] == "(in file)") == (arguments.only == "small")]
    header = f"{'instance':<12} {'optimum':>16} {'ours':>16} {'|diff|':>8} {'status':<8} {'gap':>8} {'s':>6}   {'plain':>16} {'status':<10} {'gap':>8} {'s':>6}"
    print(header)
    print("-" * len(header))
    totals = {"small": [0.0, 0.0], "large": [0.0, 0.0], "uflp": [0.0, 0.0]}
    failures = 0
    for row in rows:
        uncapacitated = row["problem"] == "UFLP"
        capacity = None if row["capacity"] in ("(in file)", "ignored") else float(row["capacity"])
        if uncapacitated:  # capa/b/c say "capacity" in the file: any value, it is ignored
            symbolic = Path(row["file"]).stem in ("capa", "capb", "capc")
            problem = read_orlib(directory / row["file"], capacity=1.0 if symbolic else None
                                 ).with_options(capacitated=False)
        else:
            problem = read_orlib(directory / row["file"], capacity=capacity)
        optimum = float(row["optimum"])
        plan = plan_network(problem, time_limit=arguments.time_limit)
        difference = abs(plan.objective - optimum)
        size = "uflp" if uncapacitated else "small" if capacity is None else "large"
        totals[size][0] += plan.seconds
        ok = difference <= 1e-3 and plan.status == "optimal"
        failures += not ok
        name = row["instance"] + ("/U" if uncapacitated else "")
        line = (f"{name:<12} {optimum:>16.3f} {plan.objective:>16.4f} {difference:>8.1e} "
                f"{plan.status if ok else plan.status.upper():<8} {plan.gap:>8.1e} {plan.seconds:>6.1f}")
        if not arguments.skip_plain:
            limit = arguments.plain_time_limit if size != "small" else 60.0
            plain = plan_network(problem, method="plain", time_limit=limit)
            totals[size][1] += plain.seconds
            line += f"   {plain.objective:>16.4f} {plain.status:<10} {plain.gap:>8.1e} {plain.seconds:>6.1f}"
        print(line, flush=True)
    for size, (ours, plain) in totals.items():
        if ours:
            print(f"total {size}: ours {ours:.1f} s" + ("" if arguments.skip_plain else f", plain {plain:.1f} s"))
    print(f"{failures} instance(s) not reproduced")
    return 1 if failures else 0


if __name__ == "__main__":
    started = time.perf_counter()
    status = main()
    print(f"wall {time.perf_counter() - started:.0f} s")
    sys.exit(status)
