"""Typed domain errors.

The web layer maps them to RFC 9457 problem details: ``NotFound`` -> 404, ``IllegalTransition`` and
``Conflict`` -> 409, ``InvalidInput`` (and its subclasses) -> 422.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""

    title = "Domain error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """An order, RMA, line or other record named by the caller does not exist."""

    title = "Not found"


class ProofRejected(NotFound):
    """The caller's proof of ownership (order number + email, or an RMA number + email) does not match, or names
    nothing: answered as a plain 404 (the same words whether the order exists or not), and counted by the
    web layer's limit on guessing."""


class InvalidInput(DomainError):
    """The request is well formed but its values break a rule (negative quantity, unknown SKU...)."""

    title = "Invalid input"


class NotEligible(InvalidInput):
    """A return request fails the return policy; ``reasons`` lists each failed check in customer words."""

    title = "Not eligible for return"

    def __init__(self, detail: str, reasons: list[str] | None = None) -> None:
        super().__init__(detail)
        self.reasons = reasons or [detail]


class QuantityExceedsReturnable(InvalidInput):
    """More units were asked for than were bought and not yet returned."""

    title = "Quantity exceeds returnable quantity"


class IllegalTransition(DomainError):
    """An action that the RMA's current status does not allow (see ``returns.TRANSITIONS``)."""

    title = "Illegal state transition"

    def __init__(self, *, status: str, action: str, rma_number: str | None = None) -> None:
        who = f"RMA {rma_number}" if rma_number else "The return"
        super().__init__(f"{who} is '{status}'; '{action}' is not allowed from that status")
        self.status = status
        self.action = action


class Conflict(DomainError):
    """The request clashes with stored state (a replayed key with another body, a duplicate...)."""

    title = "Conflict"


class UnknownCurrency(InvalidInput):
    """A currency code that ISO 4217 does not define."""

    title = "Unknown currency"
