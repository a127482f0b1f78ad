"""Outbox rows as the worker sees them: claim due ones under a lease, then ack, fail or park them dead.

Claiming (PostgreSQL): ``SELECT ... FOR UPDATE SKIP LOCKED`` picks due rows no other worker is claiming,
and the same short transaction pushes their ``next_attempt_at`` a lease ahead and counts the attempt.
The delivery itself happens outside any transaction. A worker that dies (SIGKILL) mid-batch leaves its
rows ``pending``; when the lease runs out they are due again and another worker (or the restarted one)
delivers them: at-least-once, never lost. SQLite has no row locks but serialises writers, which is
enough for the single embedded worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from returnflow.adapters.db import tables as t
from returnflow.adapters.outbox.backoff import RetryPolicy

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True)
class OutboxMessage:
    """One claimed message. ``attempt``: this delivery's number (1 for the first)."""

    id: int
    topic: str
    payload: dict[str, Any]
    attempt: int
    created_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxStore:
    """Claims and settles outbox rows through ``engine`` (each call is its own short transaction)."""

    def __init__(self, engine: Engine, *, retry: RetryPolicy | None = None, lease_seconds: float = 60.0) -> None:
        self.engine = engine
        self.retry = retry or RetryPolicy()
        self.lease = timedelta(seconds=lease_seconds)

    def claim(self, limit: int, *, topics: Sequence[str] | None = None) -> list[OutboxMessage]:
        """Up to ``limit`` due pending messages, oldest first, leased to the caller."""
        now = _now()
        c = t.outbox.c
        stmt = (select(c.id, c.topic, c.payload, c.attempts, c.created_at)
                .where(c.status == PENDING, c.next_attempt_at <= now).order_by(c.id).limit(limit))
        if topics:
            stmt = stmt.where(c.topic.in_(list(topics)))
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = conn.execute(stmt).all()
            if not rows:
                return []
            conn.execute(update(t.outbox).where(c.id.in_([r.id for r in rows]))
                         .values(attempts=c.attempts + 1, next_attempt_at=now + self.lease))
        return [OutboxMessage(id=r.id, topic=r.topic, payload=r.payload, attempt=r.attempts + 1,
                              created_at=r.created_at) for r in rows]

    def ack(self, message_id: int, *, conn: Connection | None = None) -> None:
        """Mark delivered (pass ``conn`` to do it in the caller's transaction)."""
        stmt = update(t.outbox).where(t.outbox.c.id == message_id).values(status=DELIVERED, last_error=None)
        if conn is not None:
            conn.execute(stmt)
            return
        with self.engine.begin() as own:
            own.execute(stmt)

    def ack_batch(self, message_ids: Sequence[int]) -> None:
        """Mark several delivered in one short transaction of their own."""
        with self.engine.begin() as conn:
            self.ack_many(message_ids, conn=conn)

    def ack_many(self, message_ids: Sequence[int], *, conn: Connection) -> None:
        """Mark several delivered in the caller's transaction."""
        conn.execute(update(t.outbox).where(t.outbox.c.id.in_(list(message_ids)))
                     .values(status=DELIVERED, last_error=None))

    def fail(self, message: OutboxMessage, error: str, *, terminal: bool = False) -> str:
        """Record a failed attempt: schedule a retry with backoff, or park it ``dead`` after the last attempt
        (or at once when ``terminal``). Returns the new status."""
        dead = terminal or message.attempt >= self.retry.max_attempts
        values: dict[str, Any] = {"last_error": error[:4000], "status": DEAD if dead else PENDING}
        if not dead:
            values["next_attempt_at"] = _now() + timedelta(seconds=self.retry.delay(message.attempt))
        with self.engine.begin() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == message.id).values(**values))
        return str(values["status"])

    def retry_dead(self, ids: Sequence[int] | None = None) -> int:
        """Make dead messages (all, or those in ``ids``) due again with a fresh attempt count. Returns how many."""
        stmt = update(t.outbox).where(t.outbox.c.status == DEAD).values(
            status=PENDING, attempts=0, next_attempt_at=_now())
        if ids is not None:
            stmt = stmt.where(t.outbox.c.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount or 0)

    def dead(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Dead messages, newest first: id, topic, attempts, last error, created_at."""
        c = t.outbox.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.id, c.topic, c.attempts, c.last_error, c.created_at, c.payload)
                                .where(c.status == DEAD).order_by(c.id.desc()).limit(limit)).all()
        return [{"id": r.id, "topic": r.topic, "attempts": r.attempts, "last_error": r.last_error,
                 "created_at": r.created_at.isoformat(), "payload": r.payload} for r in rows]

    def depth(self) -> dict[str, int]:
        """Row count per status (``pending`` is the backlog)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status)).all()
        return {str(status): int(n) for status, n in rows}
