"""Load benchmark: the API on PostgreSQL with the worker, at rising concurrency.

Starts a throw-away PostgreSQL database, seeds orders, runs ``uvicorn returnflow.web.app:create_app``
(``--workers`` processes) and ``returnflow worker``, then for each concurrency level drives, for
``--seconds`` each: ``GET /healthz`` (the trivial endpoint, same app and server settings),
``POST /api/v1/returns`` (create return request) and ``GET /api/v1/returns/{number}`` (get RMA, staff key).
Closed loop: each of N clients sends its next request when the last one answered. Then an open-loop run
at 70 % of the peak create-return throughput (requests started on a fixed schedule) gives the p99 the
target is stated at. Prints throughput, p50/p99 and errors; the load generator shares the machine's cores.

    python benchmarks/load.py [--seconds 10] [--levels 4,16,32] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container, Settings
from returnflow.services import access, centers
from returnflow.services.setup import upgrade_database


def seed(url: str, orders: int) -> str:
    container = Container(Settings(database_url=url))
    upgrade_database(container.engine)
    now = datetime.now(UTC)
    with container.engine.begin() as conn:
        conn.execute(insert(t.customers), [{"id": f"C{i}", "email": f"c{i}@example.com", "country": "United Kingdom",
                                            "postal_code": "", "tier": "standard"} for i in range(orders)])
        conn.execute(insert(t.orders), [{"order_number": f"B{i}", "customer_id": f"C{i}",
                                         "customer_email": f"c{i}@example.com", "country": "United Kingdom",
                                         "currency": "GBP", "placed_at": now, "source": "bench"}
                                        for i in range(orders)])
        ids = dict(conn.execute(text("SELECT order_number, id FROM orders")).all())
        conn.execute(insert(t.order_lines), [{"order_id": ids[f"B{i}"], "line_number": 1, "sku": "SKU-A",
                                              "description": "item", "quantity": 100000,
                                              "unit_price": Decimal("10.00"), "kind": "goods",
                                              "line_discount": 0, "order_discount": 0, "tax_amount": 0}
                                             for i in range(orders)])
    with container.uow() as uow:
        centers.ensure_default_centers(uow)
        key = access.create_api_key(uow, name="bench", scopes=["admin"])
        uow.commit()
    container.dispose()
    return key


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its child processes (Linux /proc), 0 where unreadable."""
    def own(p: int) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        children = []
    return own(pid) + sum(own(c) for c in children)


def child_pids(pid: int) -> set[int]:
    """The process ids of ``pid``'s children (uvicorn's worker processes)."""
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of every ``postgres`` process on the machine, with the CPU of its exited
    children (a backend that ends when its connection closes is reaped by the postmaster, which adds the
    backend's CPU to its own children's times), so the difference over a phase counts every backend."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text.split(" (", 1)[1].startswith("postgres)"):
            fields = text.rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the load generator)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


class Driver:
    def __init__(self, base: str, key: str, orders: int) -> None:
        self.base, self.key, self.orders = base, key, orders
        self.numbers: list[str] = []
        self.counter = itertools.count()

    def request(self, kind: str) -> tuple[str, str, dict]:  # type: ignore[type-arg]
        if kind == "trivial":
            return "GET", "/healthz", {}
        if kind == "create":
            i = next(self.counter) % self.orders
            return "POST", "/api/v1/returns", {"json": {
                "order_number": f"B{i}", "email": f"c{i}@example.com",
                "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "wrong_size"}]}}
        return "GET", f"/api/v1/returns/{random.choice(self.numbers)}", {"headers": {"X-API-Key": self.key}}

    async def one(self, client: httpx.AsyncClient, kind: str, latencies: list[float], errors: list[str]) -> None:
        method, path, extra = self.request(kind)
        started = time.perf_counter()
        error = ""
        try:
            response = await client.request(method, path, **extra)
            if response.status_code >= 400:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
            elif kind == "create":
                self.numbers.append(response.json()["number"])
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        latencies.append(time.perf_counter() - started)
        if error:
            errors.append(error)
            if len(errors) <= 3:
                print(f"  error ({kind}): {error}", file=sys.stderr)

    async def closed_loop(self, kind: str, concurrency: int, seconds: float) -> dict[str, float]:
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=30) as client:
            async def loop() -> None:
                while time.perf_counter() < deadline:
                    await self.one(client, kind, latencies, errors)
            started = time.perf_counter()
            await asyncio.gather(*(loop() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        return {"rps": len(latencies) / elapsed, "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99),
                "requests": len(latencies), "errors": len(errors)}

    async def open_loop(self, kind: str, rate: float, seconds: float) -> dict[str, float]:
        latencies: list[float] = []
        errors: list[str] = []
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=30) as client:
            tasks = []
            started = time.perf_counter()
            for n in range(int(rate * seconds)):
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.one(client, kind, latencies, errors)))
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - started
        return {"rate": rate, "rps": len(latencies) / elapsed, "p50_ms": pct(latencies, 0.5),
                "p99_ms": pct(latencies, 0.99), "requests": len(latencies), "errors": len(errors)}


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(150):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit("API exited")
        time.sleep(0.2)
    raise SystemExit("API did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("RETURNFLOW_TEST_POSTGRES_URL",
                                                            "postgresql+psycopg://postgres@127.0.0.1/postgres"))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--levels", default="4,16,32")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    server = make_url(args.postgres)
    name = f"returnflow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "RETURNFLOW_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src"),
           "RETURNFLOW_ORDER_LOOKUPS_PER_MINUTE": "0", "RETURNFLOW_SECRET_KEY": "bench"}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        key = seed(url, args.orders)
        base = f"http://127.0.0.1:{args.port}"
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "returnflow.web.app:create_app", "--factory", "--port",
             str(args.port), "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes.append(subprocess.Popen([sys.executable, "-m", "returnflow.worker"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_ready(base, processes[0])
        driver = Driver(base, key, args.orders)
        results: dict[str, object] = {"load_average_before": os.getloadavg(), "workers": args.workers, "seconds_per_level": args.seconds,
                                      "cpus": os.cpu_count(), "levels": {}}
        asyncio.run(driver.closed_loop("create", 4, 2))  # warm-up; also gives RMAs to read
        print(f"{'concurrency':>11} {'endpoint':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
              f"{'API CPU ms/req':>14} {'worker ms/req':>13} {'PG ms/req':>9} {'client ms/req':>13}")
        peak = {"trivial": 0.0, "create": 0.0, "get": 0.0}
        for level in [int(x) for x in args.levels.split(",")]:
            for kind in ("trivial", "create", "get"):
                api_cpu, worker_cpu = cpu_seconds(processes[0].pid), cpu_seconds(processes[1].pid)
                pg_cpu, client_cpu = postgres_cpu_seconds(), own_cpu_seconds()
                api_pids = child_pids(processes[0].pid)
                r = asyncio.run(driver.closed_loop(kind, level, args.seconds))
                r["api_processes_replaced"] = len(api_pids - child_pids(processes[0].pid))
                if r["api_processes_replaced"]:
                    print(f"  warning: {r['api_processes_replaced']} API process(es) replaced during this phase "
                          "(uvicorn restarts a worker that misses its health check)", file=sys.stderr)
                n = max(r["requests"], 1)
                r["api_cpu_ms_per_request"] = (cpu_seconds(processes[0].pid) - api_cpu) * 1000 / n
                r["worker_cpu_ms_per_request"] = (cpu_seconds(processes[1].pid) - worker_cpu) * 1000 / n
                r["postgres_cpu_ms_per_request"] = (postgres_cpu_seconds() - pg_cpu) * 1000 / n
                r["client_cpu_ms_per_request"] = (own_cpu_seconds() - client_cpu) * 1000 / n
                results["levels"].setdefault(str(level), {})[kind] = r  # type: ignore[union-attr]
                peak[kind] = max(peak[kind], r["rps"])
                print(f"{level:>11} {kind:>8} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                      f"{r['errors']:>6} {r['api_cpu_ms_per_request']:>14.2f} {r['worker_cpu_ms_per_request']:>13.2f} "
                      f"{r['postgres_cpu_ms_per_request']:>9.2f} {r['client_cpu_ms_per_request']:>13.2f}",
                      flush=True)
        at70 = asyncio.run(driver.open_loop("create", 0.7 * peak["create"], args.seconds))
        results.update(peak=peak, create_at_70_percent=at70, ratio_create_to_trivial=peak["create"] / peak["trivial"])
        print(f"\npeak req/s: trivial {peak['trivial']:.0f}, create {peak['create']:.0f}, get {peak['get']:.0f}")
        print(f"create/trivial throughput ratio: {peak['create'] / peak['trivial']:.2f}  (target >= 0.5)")
        print(f"create at 70% of peak ({at70['rate']:.0f} req/s open loop): p50 {at70['p50_ms']:.1f} ms, "
              f"p99 {at70['p99_ms']:.1f} ms (target < 50), errors {at70['errors']}")
        with httpx.Client(base_url=base) as c:
            depth = [line for line in c.get("/metrics").text.splitlines()
                     if line.startswith("returnflow_outbox_messages{")]
        print("outbox after the run:", "; ".join(depth))
        print(f"load average (1, 5, 15 min) before: {results['load_average_before']}, after: {os.getloadavg()}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
