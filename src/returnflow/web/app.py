"""The FastAPI application factory (the engine is built in the lifespan, never at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from returnflow.bootstrap import Container
from returnflow.web import api_returns, problems


def create_app(container: Container | None = None) -> FastAPI:
    """Build the app; ``container`` defaults to one made from the environment's settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = container or Container()
        yield
        app.state.container.dispose()

    app = FastAPI(title="Returnflow", version="0.1.0", lifespan=lifespan,
                  description="Returns management: request, authorize, ship, receive, inspect, settle.")
    problems.install(app)
    app.include_router(api_returns.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
