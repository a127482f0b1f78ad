"""Bounded retries of retryable carrier failures (`CarrierUnavailable`) with exponential backoff (tenacity).

Only `CarrierUnavailable` is retried; `CarrierRejected` passes through at once. After the last attempt the
last `CarrierUnavailable` is re-raised, so callers (the outbox worker) can retry later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from returnflow.adapters.carriers.base import CarrierUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; waits grow from `initial_wait_s` doubling up to `max_wait_s`, plus jitter."""

    attempts: int = 3
    initial_wait_s: float = 0.5
    max_wait_s: float = 4.0
    jitter_s: float = 0.25

    def call(self, operation: Callable[[], T]) -> T:
        """Run `operation`, retrying on CarrierUnavailable. Raises the last error when attempts run out."""
        retrying = Retrying(
            retry=retry_if_exception_type(CarrierUnavailable),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.initial_wait_s, max=self.max_wait_s) + wait_random(0, self.jitter_s),
            reraise=True,
        )
        return retrying(operation)


def parse_timestamp(value: str) -> dt.datetime:
    """An ISO 8601 timestamp from a carrier API as aware UTC; a naive one is taken as UTC (EasyPost's rule)."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
