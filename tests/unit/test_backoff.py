"""Exponential backoff with equal jitter: delays within [ceiling/2, ceiling], ceiling doubling to a cap."""

import random

from returnflow.adapters.outbox.backoff import RetryPolicy


def test_each_delay_lies_between_half_and_all_of_a_doubling_capped_ceiling() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (10, 60)]:
        delays = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling


def test_jitter_spreads_retries_that_failed_together() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60)
    rng = random.Random(1)
    assert len({round(policy.delay(4, rng=rng), 3) for _ in range(50)}) > 40
