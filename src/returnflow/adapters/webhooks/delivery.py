"""Sign and POST one webhook (Standard Webhooks, https://www.standardwebhooks.com, spec v1).

Headers: ``webhook-id`` (the event's unique id, the same on every redelivery so receivers drop repeats),
``webhook-timestamp`` (Unix seconds), ``webhook-signature`` ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``
keyed with the subscription's ``whsec_`` secret. Signing is the ``standardwebhooks`` reference library's.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook


class WebhookRejected(Exception):
    """The receiver answered with a non-2xx status. ``retryable`` is False for 4xx other than 408/409/429."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"receiver answered HTTP {status}: {body[:200]}")
        self.status = status
        self.retryable = status >= 500 or status in (408, 409, 425, 429)


def new_secret() -> str:
    """A fresh ``whsec_`` secret: 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(*, secret: str, message_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers plus the content type."""
    at = (at or datetime.now(UTC)).replace(microsecond=0)
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


def body_for(event: dict[str, Any]) -> str:
    """The JSON body: ``{"type": ..., "timestamp": ..., "data": {...}}`` (the spec's recommended shape)."""
    return json.dumps({"type": event["type"], "timestamp": event["occurred_at"], "data": event},
                      separators=(",", ":"), sort_keys=True)


def deliver(*, url: str, secret: str, message_id: str, event: dict[str, Any], client: httpx.Client) -> int:
    """POST the signed event; returns the HTTP status. Raises ``WebhookRejected`` or ``httpx.HTTPError``."""
    body = body_for(event)
    response = client.post(url, content=body.encode(),
                           headers=signed_headers(secret=secret, message_id=message_id, body=body))
    if not 200 <= response.status_code < 300:
        raise WebhookRejected(response.status_code, response.text)
    return response.status_code
