"""Exponential backoff with jitter for outbox redelivery.

Formula ("equal jitter", M. Brooker, *Exponential Backoff And Jitter*, AWS Architecture Blog, 2015):
``ceiling = min(cap, base * 2 ** (attempt - 1))``; ``delay = ceiling / 2 + uniform(0, ceiling / 2)``.
Half of the ceiling is kept so a retry never comes back almost at once; the random half spreads the
retries of many messages that failed together (a receiver that was down) so they do not return in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` deliveries in all, then the message is dead. Delays in seconds."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 3600.0

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), within [ceiling/2, ceiling]."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** max(attempt - 1, 0))
        uniform = rng.uniform if rng is not None else random.uniform
        return ceiling / 2 + uniform(0, ceiling / 2)
