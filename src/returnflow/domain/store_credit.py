"""Store credit: a ledger per customer and currency of entries ``issued``, ``spent`` and ``expired``.

Amounts are positive whole minor units; the kind gives the sign. The balance is
``issued - spent - expired``. Spending uses the credit that expires first (FIFO by expiry date, then
by issue order; credit without expiry last), so a customer never loses credit they could have spent.
An ``expired`` entry names the issue it expires (``source_entry_id``), once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class CreditKind(StrEnum):
    ISSUED = "issued"
    SPENT = "spent"
    EXPIRED = "expired"


@dataclass(frozen=True)
class CreditEntry:
    """One ledger entry: ``amount`` > 0 in ``currency``; ``expires_at`` only on issues (UTC or None)."""

    id: int
    kind: CreditKind
    amount: Decimal
    currency: str
    created_at: datetime
    expires_at: datetime | None = None
    source_entry_id: int | None = None


def balance(entries: Sequence[CreditEntry]) -> Decimal:
    """``issued - spent - expired`` of ``entries`` (one customer, one currency)."""
    sign = {CreditKind.ISSUED: 1, CreditKind.SPENT: -1, CreditKind.EXPIRED: -1}
    return sum((entry.amount * sign[CreditKind(entry.kind)] for entry in entries), ZERO)


def remaining_by_issue(entries: Sequence[CreditEntry]) -> dict[int, Decimal]:
    """Issue id -> credit still unspent and unexpired, spending first-expiring credit first."""
    issues = sorted((e for e in entries if e.kind == CreditKind.ISSUED),
                    key=lambda e: (e.expires_at is None, e.expires_at or e.created_at, e.id))
    left = {e.id: e.amount for e in issues}
    for entry in entries:
        if entry.kind == CreditKind.EXPIRED and entry.source_entry_id in left:
            left[entry.source_entry_id] -= entry.amount
    spent = sum((e.amount for e in entries if e.kind == CreditKind.SPENT), ZERO)
    for issue in issues:
        take = min(spent, left[issue.id])
        left[issue.id] -= take
        spent -= take
    return left


def due_to_expire(entries: Sequence[CreditEntry], *, at: datetime) -> list[tuple[int, Decimal]]:
    """(issue id, amount) of credit whose ``expires_at`` is at or before ``at`` and is still unspent."""
    expiry = {e.id: e.expires_at for e in entries}
    due = []
    for issue_id, amount in remaining_by_issue(entries).items():
        expires_at = expiry[issue_id]
        if amount > 0 and expires_at is not None and expires_at <= at:
            due.append((issue_id, amount))
    return due
