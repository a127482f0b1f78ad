"""Server-rendered pages: customer portal, warehouse console, operations (dashboard, review, admin)."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import escape
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from returnflow.domain.errors import DomainError
from returnflow.web import problems
from returnflow.web.pages import console, ops, portal, security

STATIC = Path(__file__).resolve().parents[1] / "static"
log = logging.getLogger("returnflow.web.pages")

#: status -> (title, message) of the HTML error page.
ERROR_PAGES = {
    400: ("Bad request", "The page could not understand what was sent. Go back and try again."),
    403: ("Not allowed", "You may not use this page."),
    404: ("Page not found", "There is no page at this address. Check the link, or start again from the links below."),
    405: ("Not available", "This page cannot be used that way. Go back and try again."),
    409: ("Not possible now", "This cannot be done in the current state. Go back, reload the page and try again."),
    422: ("Check what you entered", "Part of the request is not valid. Go back, correct it and try again."),
    429: ("Too many requests", "Please wait a moment before trying again."),
    500: ("Something went wrong", "An unexpected error occurred on our side; it has been logged. Please try later."),
}


def wants_html(request: Request) -> bool:
    """A browser asking for a page: not an /api path, and ``Accept`` names text/html."""
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")


def back_link(path: str) -> tuple[str, str]:
    """Where the error page's link leads: the start of the area the failed page belongs to."""
    for prefix, href, label in (("/ops", "/ops/returns", "Back to the returns list"),
                                ("/console", "/console", "Back to receiving"),
                                ("/staff", "/staff/login", "Back to sign in"),
                                ("/returns", "/returns", "Back to returning an item")):
        if path.startswith(prefix):
            return href, label
    return "/", "Back to the start"


def error_page(request: Request, status: int, detail: str = "") -> Response:
    """The friendly HTML error page for ``status`` (the generic message; ``detail`` for 4xx only)."""
    title, message = ERROR_PAGES.get(status, ERROR_PAGES[500 if status >= 500 else 400])
    href, label = back_link(request.url.path)
    context: dict[str, Any] = {"title": title, "message": message, "detail": detail if status < 500 else "",
                               "back_href": href, "back_label": label}
    try:
        if status >= 500:
            context["user"] = None  # the database may be what failed: do not look the user up
        return security.render(request, "error.html", status, **context)
    except Exception:  # the error page itself must not fail
        log.exception("the error page could not be rendered")
        return HTMLResponse(f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
                            f"<p>{escape(message)}</p><p><a href=\"{href}\">{escape(label)}</a></p>",
                            status_code=status)


def _validation_detail(exc: RequestValidationError) -> str:
    fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
    return ("Not valid: " + ", ".join(fields) + ".") if fields else ""


def install(app: FastAPI) -> None:
    """Mount the static files, include the page routers and the handlers for denied page requests.

    Errors of browser requests (see :func:`wants_html`) get an HTML page with a link back; /api and
    other clients keep the problem details of :mod:`returnflow.web.problems` (installed before this)."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (portal, console, ops):
        app.include_router(module.router)

    def html_first(exc_class: type[Exception], status_of) -> None:  # type: ignore[no-untyped-def]
        original = app.exception_handlers.get(exc_class)

        async def handler(request: Request, exc: Exception) -> Response:
            if wants_html(request) or original is None:
                status, detail = status_of(exc)
                if status >= 500:
                    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
                return error_page(request, status, detail)
            result = original(request, exc)
            return await result if inspect.isawaitable(result) else result  # type: ignore[no-any-return]

        app.add_exception_handler(exc_class, handler)

    html_first(StarletteHTTPException, lambda exc: (exc.status_code, ""))
    html_first(RequestValidationError, lambda exc: (422, _validation_detail(exc)))
    html_first(DomainError, lambda exc: (problems.status_for(exc), exc.detail))
    html_first(DataError, lambda exc: (422, "A value cannot be stored (a NUL character or a number out of range)."))
    html_first(Exception, lambda exc: (500, ""))

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
