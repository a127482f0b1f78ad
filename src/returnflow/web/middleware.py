"""ASGI middleware: request id + JSON access log + Prometheus metrics; Idempotency-Key; public rate limit.

Idempotency (after the IETF draft *The Idempotency-Key HTTP Header Field* and Stripe's practice): a POST
with ``Idempotency-Key`` stores, per caller (a hash of its credential) and key, a fingerprint of the request
(method, path, canonical JSON body) and, once answered, the answer. The same key with the same request
replays the first answer (header ``Idempotent-Replayed: true``); with another request it is refused with
422; while the first is still running, a repeat waits for it (up to ``wait_seconds``), then gets 409.
5xx answers are not stored, so the client may retry them. A key left ``in_progress`` by a crashed process
is taken over after ``stale_seconds``; the services' row locks still forbid acting twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from anyio import to_thread
from prometheus_client import Counter, Histogram
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from returnflow.web.rate_limits import WindowLimiter

from returnflow.adapters.db import tables as t
from returnflow.adapters.jsonlog import request_id

log = logging.getLogger("returnflow.web.access")
REQUESTS = Counter("returnflow_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("returnflow_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _problem(status: int, title: str, detail: str) -> tuple[int, bytes, str]:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return status, body, "application/problem+json"


async def _respond(send: Send, status: int, body: bytes, content_type: str,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Sets ``X-Request-ID`` (kept from the request if given), logs one JSON line per request, counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = (_header(scope, b"x-request-id") or "")[:64] or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info("request", extra={"method": scope["method"], "path": scope["path"], "route": route,
                                       "status": status, "ms": round(elapsed * 1000, 2),
                                       "query": scope.get("query_string", b"").decode("latin-1")})
            request_id.reset(token)


class IdempotencyMiddleware:
    """``Idempotency-Key`` on POST: replay, refuse (422) or wait; see the module docstring."""

    def __init__(self, app: ASGIApp, *, wait_seconds: float = 10.0, stale_seconds: float = 60.0) -> None:
        self.app = app
        self.wait_seconds, self.stale = wait_seconds, timedelta(seconds=stale_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" and scope["method"] == "POST" else None
        if not key:
            await self.app(scope, receive, send)
            return
        if len(key) > 255:
            await _respond(send, *_problem(422, "Invalid input", "Idempotency-Key is longer than 255 characters"))
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        engine: Engine = scope["app"].state.container.engine
        credential = (_header(scope, b"x-api-key") or _header(scope, b"authorization")
                      or _header(scope, b"x-customer-token") or "public")
        caller = hashlib.sha256(credential.encode()).hexdigest()
        fingerprint = hashlib.sha256(f"{scope['method']} {scope['path']} ".encode() + _canonical(body)).hexdigest()
        deadline = time.monotonic() + self.wait_seconds
        while True:
            outcome = await to_thread.run_sync(self._begin, engine, caller, key, scope, fingerprint)
            if outcome[0] != "busy" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        kind = outcome[0]
        if kind == "mismatch":
            await _respond(send, *_problem(422, "Idempotency key reused",
                                           "this Idempotency-Key was used with a different request"))
            return
        if kind == "busy":
            await _respond(send, *_problem(409, "Request in progress",
                                           "a request with this Idempotency-Key is still being processed"))
            return
        if kind == "replay":
            _, status, stored, content_type = outcome
            await _respond(send, status, stored, content_type, [(b"idempotent-replayed", b"true")])
            return
        await self._run_and_store(scope, body, send, engine, caller, key)

    async def _run_and_store(self, scope: Scope, body: bytes, send: Send, engine: Engine, caller: str,
                             key: str) -> None:
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            status = int(start.get("status", 500))
            content_type = dict(start.get("headers", [])).get(b"content-type", b"application/json").decode()
            await to_thread.run_sync(self._finish, engine, caller, key, status, b"".join(chunks), content_type)

    # -- database steps (run in a thread) ------------------------------------------------------
    def _begin(self, engine: Engine, caller: str, key: str, scope: Scope, fingerprint: str) -> tuple[Any, ...]:
        now = datetime.now(UTC)
        c = t.idempotency_keys.c
        try:
            with engine.begin() as conn:
                conn.execute(insert(t.idempotency_keys).values(
                    caller=caller, key=key, method=scope["method"], path=scope["path"][:512],
                    request_hash=fingerprint, state="in_progress", created_at=now))
            return ("new",)
        except IntegrityError:
            pass
        with engine.begin() as conn:
            row = conn.execute(select(t.idempotency_keys).where(c.caller == caller, c.key == key)).first()
            if row is None:
                return ("busy",)  # deleted meanwhile (a 5xx): try again
            if row.request_hash != fingerprint:
                return ("mismatch",)
            if row.state == "done":
                return ("replay", row.response_status, (row.response_body or "").encode(), row.response_type)
            if row.created_at < now - self.stale and conn.execute(
                    update(t.idempotency_keys).where(c.id == row.id, c.created_at == row.created_at)
                    .values(created_at=now)).rowcount:
                return ("new",)
            return ("busy",)

    def _finish(self, engine: Engine, caller: str, key: str, status: int, body: bytes, content_type: str) -> None:
        c = t.idempotency_keys.c
        where = (c.caller == caller) & (c.key == key)
        with engine.begin() as conn:
            if status >= 500:
                conn.execute(delete(t.idempotency_keys).where(where))
            else:
                conn.execute(update(t.idempotency_keys).where(where).values(
                    state="done", response_status=status, response_body=body.decode("utf-8", "replace"),
                    response_type=content_type[:128]))


def _canonical(body: bytes) -> bytes:
    """JSON bodies with keys sorted and spacing removed (the same request however it was spelled)."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return body


def _staff_credential(scope: Scope) -> bool:
    """Whether the request carries a staff API key the way the API reads one (``X-API-Key`` or
    ``Authorization: Bearer``; ``web.deps.optional_principal``). Any other ``Authorization`` is anonymous. A
    wrong key is answered 401 before any order is looked at, so these requests cannot guess proofs."""
    if _header(scope, b"x-api-key"):
        return True
    authorization = _header(scope, b"authorization") or ""
    return authorization.lower().startswith("bearer ") and bool(authorization[7:].strip())


class OrderLookupRateLimit:
    """At most ``per_minute`` public order lookups (``GET /api/v1/orders/...`` and customer-token requests)
    per client address in any 60 s window, per API process; over it: 429 with ``Retry-After``."""

    def __init__(self, app: ASGIApp, *, per_minute: int = 30,
                 prefixes: tuple[str, ...] = ("/api/v1/orders/",)) -> None:
        self.app, self.per_minute, self.prefixes = app, per_minute, prefixes
        self.window = WindowLimiter(max(per_minute, 1), 60)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.per_minute <= 0 or not scope["path"].startswith(self.prefixes)
                or _staff_credential(scope)):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if not self.window.hit(client):
            await _respond(send, *_problem(429, "Too many requests", "too many order lookups; try again later"),
                           [(b"retry-after", str(self.window.retry_after(client)).encode())])
            return
        await self.app(scope, receive, send)


class ProofFailureRateLimit:
    """Stops guessing of customer proofs on the public API.

    A public request (no staff key, see :func:`_staff_credential`) to any ``/api/v1/`` endpoint whose proof of
    ownership is rejected (``domain.errors.ProofRejected``: an unknown order or RMA, or an email that does not
    match; returns, previews, claims, order lookups, customer tokens, labels) counts as a failed proof; other
    404s (an unknown route, a label not issued yet) do not. After ``max_failures`` failures from one client address in
    ``window_seconds``, further public API requests get 429 with ``Retry-After`` until the window has moved
    on. Successful requests are not counted, so a busy shop is not slowed down. Per API process (rate-limit
    at the proxy as well).
    """

    def __init__(self, app: ASGIApp, *, max_failures: int = 10, window_seconds: float = 900.0) -> None:
        self.app = app
        self.failures = WindowLimiter(max_failures, window_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        guarded = scope["type"] == "http" and path.startswith("/api/v1/")
        if not guarded or _staff_credential(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if not self.failures.allowed(client):
            await _respond(send, *_problem(429, "Too many requests",
                                           "too many failed attempts to prove an order; try again later"),
                           [(b"retry-after", str(self.failures.retry_after(client)).encode())])
            return

        async def counting_send(message: Message) -> None:
            if (message["type"] == "http.response.start" and message["status"] == 404
                    and scope.get("state", {}).get("proof_rejected")):
                self.failures.hit(client)
            await send(message)

        await self.app(scope, receive, counting_send)
