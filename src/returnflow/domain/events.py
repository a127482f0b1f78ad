"""Events: what happened to an RMA, who did it and when. They form the audit trail.

Each event has a dotted past-tense name (``return.requested``, ``return.authorized``, ...) that is also
the webhook event type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(eq=False)
class ReturnEvent:
    """One entry of an RMA's audit trail.

    Attributes:
        name: dotted event type, e.g. ``return.received``.
        actor: who caused it (``customer:<id>``, ``staff:<user>``, ``system``, ``carrier:<name>``).
        occurred_at: timezone-aware UTC time.
        from_status / to_status: the RMA status before and after (equal when unchanged).
        data: JSON-serialisable details (quantities, amounts as strings, reasons).
    """

    name: str
    actor: str
    occurred_at: datetime
    from_status: str
    to_status: str
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
