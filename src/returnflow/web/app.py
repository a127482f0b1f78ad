"""The FastAPI application factory (the engine is built in the lifespan, never at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from returnflow.adapters.jsonlog import configure_logging
from returnflow.bootstrap import Container
from returnflow.bootstrap_production import ProductionSettings
from returnflow.web import api_logistics, api_money, api_production, api_returns, middleware, ops, pages, problems



#: Largest request body in general, and for the routes that take photos (portal, warehouse console).
MAX_BODY_BYTES = 2 * 1024 * 1024

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

    # Request bodies: 2 MiB unless a route says otherwise (photo uploads, carrier feeds, 3PL receipts); a larger
    # body is refused with 413 while it streams in, before it is read into memory or spooled to disk.
    app = FastAPI(docs_url=None, redoc_url=None, title="Returnflow", version="0.1.0", lifespan=lifespan,
                  description="Returns management: request, authorize, ship, receive, inspect, settle.",
                  max_body_size=MAX_BODY_BYTES)
    _install_offline_docs(app)
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


def _install_offline_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from the swagger-ui-bundle package: works with no internet (the FastAPI
    default loads it from a CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="Returnflow API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")
