"""RFC 9457 problem details for every error the API returns (never a bare 500 for bad input)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from returnflow.domain.errors import (Conflict, DomainError, IllegalTransition, InvalidInput, NotEligible, NotFound,
                                      ProofRejected)

log = logging.getLogger("returnflow.web")
MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def status_for(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, IllegalTransition | Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    return 400


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into problem details."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        extra: dict[str, Any] = {"instance": request.url.path}
        if isinstance(exc, ProofRejected):
            request.state.proof_rejected = True  # counted by middleware.ProofFailureRateLimit
        if isinstance(exc, NotEligible):
            extra["reasons"] = exc.reasons
        if isinstance(exc, IllegalTransition):
            extra.update(current_status=exc.status, action=exc.action)
        return problem(status_for(exc), exc.title, exc.detail, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem(422, "Invalid input", detail, errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
                  429: "Too many requests"}
        response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail),
                           instance=request.url.path)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the schemas let through (a NUL character in text on PostgreSQL, a
        # number out of the column's range): bad input, and the unit of work has rolled back.
        log.info("value refused by the database on %s: %s", request.url.path, exc.orig)
        return problem(422, "Invalid input", "a value in the request cannot be stored (a NUL character or a "
                       "number out of range)", instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged",
                       instance=request.url.path)
