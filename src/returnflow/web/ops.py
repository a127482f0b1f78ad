"""Operations endpoints: ``/healthz`` (the process is up), ``/readyz`` (database reachable and migrated),
``/metrics`` (Prometheus text: HTTP requests and latencies, returns by status, outbox depth, failures)."""

from __future__ import annotations

import os
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, func, select, text

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.migrate import alembic_config
from returnflow.web.deps import ContainerDep

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: answers while the process runs (no database call)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(container: ContainerDep) -> Any:
    """Readiness: 200 when the database answers and its schema is at the migrations' head, else 503."""
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
        heads = set(ScriptDirectory.from_config(alembic_config(str(container.engine.url))).get_heads())
    except Exception as exc:  # noqa: BLE001  (any failure means not ready)
        return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
    if current != heads:
        return JSONResponse({"status": "unavailable", "detail": "database schema is not at the migrations' head",
                             "current": sorted(current), "expected": sorted(heads)}, status_code=503)
    return {"status": "ready"}


class DatabaseCollector:
    """Gauges read from the database at scrape time (shared by every API process)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Any:
        returns = GaugeMetricFamily("returnflow_returns", "RMAs by status", labels=["status"])
        depth = GaugeMetricFamily("returnflow_outbox_messages", "outbox messages by status", labels=["status", "topic"])
        failing = GaugeMetricFamily("returnflow_outbox_failing_messages",
                                    "pending outbox messages whose last delivery failed")
        c = t.outbox.c
        with self.engine.connect() as conn:
            for status, n in conn.execute(select(t.return_authorizations.c.status, func.count())
                                          .group_by(t.return_authorizations.c.status)):
                returns.add_metric([status], n)
            for status, topic, n in conn.execute(select(c.status, c.topic, func.count()).group_by(c.status, c.topic)):
                depth.add_metric([status, topic], n)
            failing.add_metric([], conn.execute(select(func.count()).select_from(t.outbox).where(
                c.status == "pending", c.last_error.is_not(None))).scalar_one())
        yield from (returns, depth, failing)


@router.get("/metrics")
def metrics(container: ContainerDep) -> Response:
    """Prometheus exposition. With ``PROMETHEUS_MULTIPROC_DIR`` set, HTTP metrics of every process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)  # type: ignore[no-untyped-call]
    else:
        process_registry = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(container.engine))
    return Response(generate_latest(process_registry) + generate_latest(database), media_type=CONTENT_TYPE_LATEST)
