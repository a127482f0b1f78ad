"""Server-rendered pages: customer portal, warehouse console, operations (dashboard, review, admin)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from returnflow.web.pages import console, ops, portal, security

STATIC = Path(__file__).resolve().parents[1] / "static"


def install(app: FastAPI) -> None:
    """Mount the static files, include the page routers and the handlers for denied page requests."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (portal, console, ops):
        app.include_router(module.router)

    @app.exception_handler(security.LoginRequired)
    async def _login(request: Request, exc: security.LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else "/staff/login"
        return RedirectResponse(f"/staff/login?next={target}", status_code=303)

    @app.exception_handler(security.Forbidden)
    async def _forbidden(request: Request, exc: security.Forbidden) -> Response:
        return security.render(request, "error.html", 403, title="Not allowed",
                               message="Your role does not give access to this page.")

    @app.exception_handler(security.CsrfFailed)
    async def _csrf(request: Request, exc: security.CsrfFailed) -> Response:
        return security.render(request, "error.html", 403, title="Form expired",
                               message="This form has expired or did not come from this site. "
                                       "Go back, reload the page and try again.")
