"""Page security: signed staff sessions, CSRF tokens, role checks, the order-lookup rate limiter and
signed tracking links. Signing uses itsdangerous with ``RETURNFLOW_SECRET_KEY``.

Cookies: ``HttpOnly``, ``SameSite`` (Lax for the session, Strict for the CSRF token) and ``Secure``
whenever the request came over HTTPS or the host is not localhost (plain-HTTP development on
127.0.0.1 would otherwise drop them). CSRF: the synchronizer token is kept in the signed session for
staff and in a cookie for anonymous visitors (double submit); every POST form carries it.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer  # noqa: F401
from starlette.responses import Response

from returnflow.bootstrap import Container
from returnflow.services import staff
from returnflow.services.staff import StaffUser
from returnflow.web.rate_limits import WindowLimiter

log = logging.getLogger("returnflow.web.pages")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))


def readable(value: Any) -> str:
    """Event data as text people read: ``key: value`` pairs joined by `` · `` (nested values the same way)."""
    if isinstance(value, dict):
        return " · ".join(f"{str(k).replace('_', ' ')}: {readable(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ", ".join(readable(v) for v in value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def plural(count: int, singular: str, plural_form: str = "") -> str:
    """``1 unit``, ``2 units``."""
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


TEMPLATES.env.filters["readable"] = readable
TEMPLATES.env.filters["plural"] = plural
SESSION_COOKIE = "rf_staff"
CSRF_COOKIE = "rf_csrf"
PORTAL_COOKIE = "rf_portal"
SESSION_MAX_AGE = 8 * 3600
PORTAL_MAX_AGE = 2 * 3600
_generated_secret: str | None = None


def secret_key(container: Container) -> str:
    """``RETURNFLOW_SECRET_KEY``; without it a random key per process (sessions and links then die with it)."""
    global _generated_secret
    if container.settings.secret_key:
        return container.settings.secret_key
    if _generated_secret is None:
        _generated_secret = secrets.token_urlsafe(32)
        log.warning("RETURNFLOW_SECRET_KEY is not set: using a random key for this process; staff sessions "
                    "and tracking links will stop working when it restarts")
    return _generated_secret


def _container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


def signer(request: Request, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(_container(request)), salt=salt)


def _secure(request: Request) -> bool:
    if os.environ.get("RETURNFLOW_COOKIE_SECURE") in ("0", "1"):
        return os.environ["RETURNFLOW_COOKIE_SECURE"] == "1"
    return request.url.scheme == "https" or request.url.hostname not in ("127.0.0.1", "localhost", "::1")


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None,
               same_site: str = "lax") -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite=same_site,  # type: ignore[arg-type]
                        secure=_secure(request), path="/")


# -- tracking links -----------------------------------------------------------------------------

def tracking_token(request: Request, rma_number: str) -> str:
    """The signed token of a tracking link: it names one RMA and cannot be forged or changed."""
    return URLSafeSerializer(secret_key(_container(request)), salt="tracking").dumps(rma_number)


def rma_from_tracking_token(request: Request, token: str) -> str | None:
    try:
        value = URLSafeSerializer(secret_key(_container(request)), salt="tracking").loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


# -- staff sessions ------------------------------------------------------------------------------

def login(request: Request, response: Response, user: StaffUser) -> None:
    """Start a session: a signed cookie with the user id, session version and a fresh CSRF token."""
    value = signer(request, "staff-session").dumps({"u": user.id, "v": user.session_version,
                                                   "c": secrets.token_urlsafe(24)})
    set_cookie(request, response, SESSION_COOKIE, value, max_age=SESSION_MAX_AGE)


def _session(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = signer(request, "staff-session").loads(raw, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def current_user(request: Request) -> StaffUser | None:
    """The signed-in, still active user whose session version matches, or None."""
    if "staff_user" in request.scope:
        return request.scope["staff_user"]  # type: ignore[no-any-return]
    data = _session(request)
    user = None
    if data:
        with _container(request).uow() as uow:
            user = staff.by_id(uow, int(data.get("u", 0)))
        if user and user.session_version != data.get("v"):
            user = None
    request.scope["staff_user"] = user
    return user


class LoginRequired(Exception):
    """No valid staff session: the page handler redirects to the login page."""


class Forbidden(Exception):
    """Signed in, but the role may not use this area."""


def require_area(area: str):  # type: ignore[no-untyped-def]
    """Dependency: the signed-in user, allowed to use ``area`` (else LoginRequired / Forbidden)."""

    def dependency(request: Request) -> StaffUser:
        user = current_user(request)
        if user is None:
            raise LoginRequired()
        if not user.may(area):
            raise Forbidden()
        return user

    return Depends(dependency)


ConsoleUser = Annotated[StaffUser, require_area("console")]
OpsUser = Annotated[StaffUser, require_area("ops")]
AdminUser = Annotated[StaffUser, require_area("admin")]


# -- CSRF ----------------------------------------------------------------------------------------

class CsrfFailed(Exception):
    """A POST without the right CSRF token."""


def csrf_token(request: Request) -> str:
    """The token forms must carry: the session's for staff, else the visitor's CSRF cookie (made if missing)."""
    data = _session(request)
    if data and data.get("c"):
        return str(data["c"])
    token = request.cookies.get(CSRF_COOKIE) or request.scope.get("new_csrf")
    if not token:
        token = request.scope["new_csrf"] = secrets.token_urlsafe(24)
    return str(token)


def issue_csrf_cookie(request: Request, response: Response) -> None:
    """Send the visitor's CSRF cookie when this request created it."""
    if request.scope.get("new_csrf"):
        set_cookie(request, response, CSRF_COOKIE, request.scope["new_csrf"], max_age=None, same_site="strict")


#: Form limits of the page forms. Starlette's default of 1,000 fields is too few for the portal's return
#: form of a large order (four fields per line; real orders reach ~1,100 lines) or the console's receive
#: form (five fields and up to four checkboxes per line). Files: the photo inputs; the services refuse
#: more than their own maximum with a readable message.
MAX_FORM_FIELDS = 20_000
MAX_FORM_FILES = 50


async def read_form(request: Request):  # type: ignore[no-untyped-def]
    """The request's form with the page limits (Starlette caches it: the first caller sets the limits)."""
    return await request.form(max_fields=MAX_FORM_FIELDS, max_files=MAX_FORM_FILES)


async def verify_csrf(request: Request) -> None:
    """Dependency for every POST page route: the form's ``csrf_token`` must match (constant time)."""
    form = await read_form(request)
    sent = str(form.get("csrf_token") or "")
    data = _session(request)
    expected = [str(data["c"])] if data and data.get("c") else []
    if request.cookies.get(CSRF_COOKIE):
        expected.append(request.cookies[CSRF_COOKIE])
    if not sent or not any(secrets.compare_digest(sent, e) for e in expected):
        raise CsrfFailed()


CsrfChecked = Depends(verify_csrf)


# -- rate limiting of order lookups -------------------------------------------------------------

class LookupLimiter(WindowLimiter):
    """At most ``limit`` failed order lookups per client IP in ``window`` seconds (see
    :mod:`returnflow.web.rate_limits`: in-process memory, each server process counts on its own)."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        super().__init__(limit, window)

    def blocked(self, key: str) -> bool:
        return not self.allowed(key)

    def failed(self, key: str) -> None:
        self.hit(key)


lookup_limiter = LookupLimiter()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render a page with the CSRF token and the signed-in user in its context."""
    context.setdefault("user", current_user(request))
    context["csrf_token"] = csrf_token(request)
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    issue_csrf_cookie(request, response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
