"""The FastAPI application factory (the engine is built in the lifespan, never at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from returnflow.adapters.jsonlog import configure_logging
from returnflow.bootstrap import Container
from returnflow.bootstrap_production import ProductionSettings
from returnflow.web import api_logistics, api_money, api_production, api_returns, middleware, ops, pages, problems


def create_app(container: Container | None = None) -> FastAPI:
    """Build the app; ``container`` defaults to one made from the environment's settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = container or Container()
        production = app.state.container.settings.production
        if container is None:  # a served app (uvicorn factory), not a test's
            configure_logging(json_output=production.json_logs)
        stop_worker = app.state.container.start_embedded_worker() if production.embedded_worker else None
        yield
        if stop_worker is not None:
            stop_worker.set()
        app.state.container.dispose()

    app = FastAPI(title="Returnflow", version="0.1.0", lifespan=lifespan,
                  description="Returns management: request, authorize, ship, receive, inspect, settle.")
    problems.install(app)
    app.include_router(api_returns.router)
    app.include_router(api_logistics.router)
    app.include_router(api_money.router)
    pages.install(app)
    app.include_router(api_production.router)
    app.include_router(ops.router)
    settings = (container.settings if container else None)
    per_minute = settings.production.order_lookups_per_minute if settings else \
        ProductionSettings.from_environment().order_lookups_per_minute
    # the last added runs first: request context, then the rate limit (a 429 is never stored), then idempotency
    app.add_middleware(middleware.IdempotencyMiddleware)
    app.add_middleware(middleware.OrderLookupRateLimit, per_minute=per_minute)
    app.add_middleware(middleware.ProofFailureRateLimit)
    app.add_middleware(middleware.RequestContextMiddleware)

    return app
