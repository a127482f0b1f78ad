"""Per-client rate limits on a moving window, by the ``limits`` library (in-process memory storage).

Each server process counts on its own; with several processes, rate-limit at the proxy as well (or give
``limits`` a shared Redis storage).
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class WindowLimiter:
    """At most ``count`` events per key in any ``window_seconds``: ``hit`` counts an event and says whether it
    was allowed; ``allowed`` checks without counting (for limits that count only failures)."""

    def __init__(self, count: int, window_seconds: float) -> None:
        self.item = RateLimitItemPerSecond(count, max(1, int(window_seconds)))
        self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    def hit(self, key: str) -> bool:
        return self.limiter.hit(self.item, key)

    def allowed(self, key: str) -> bool:
        return self.limiter.test(self.item, key)

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may act again (at least 1)."""
        reset_at, _ = self.limiter.get_window_stats(self.item, key)
        return max(1, int(reset_at - time.time()) + 1)

    def reset(self) -> None:
        self.storage.reset()
