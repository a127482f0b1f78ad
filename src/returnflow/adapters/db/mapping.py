"""Imperative mapping of the pure domain classes onto the tables (the domain never imports SQLAlchemy)."""

from __future__ import annotations

from sqlalchemy.orm import registry, relationship

from returnflow.adapters.db import tables as t
from returnflow.domain.events import ReturnEvent
from returnflow.domain.orders import Order, OrderLine
from returnflow.domain.returns import ReturnAuthorization, ReturnLine

mapper_registry = registry(metadata=t.metadata)
_started = False


def start_mappers() -> None:
    """Map the domain classes once per process (idempotent)."""
    global _started
    if _started:
        return
    _started = True
    mapper_registry.map_imperatively(OrderLine, t.order_lines)
    mapper_registry.map_imperatively(Order, t.orders, properties={
        "lines": relationship(OrderLine, order_by=t.order_lines.c.line_number, lazy="selectin"),
    })
    mapper_registry.map_imperatively(ReturnLine, t.return_lines)
    mapper_registry.map_imperatively(ReturnEvent, t.return_events)
    mapper_registry.map_imperatively(ReturnAuthorization, t.return_authorizations, properties={
        "lines": relationship(ReturnLine, order_by=t.return_lines.c.id, lazy="selectin",
                              cascade="all, delete-orphan"),
        "events": relationship(ReturnEvent, order_by=t.return_events.c.id, lazy="selectin",
                               cascade="all, delete-orphan"),
    })
