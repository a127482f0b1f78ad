"""The return authorization (RMA) aggregate, its lines, and the one transition table.

Every action checks ``TRANSITIONS`` *before* it changes anything, so an illegal action raises
:class:`~returnflow.domain.errors.IllegalTransition` and leaves the RMA exactly as it was. Every
successful action appends a :class:`~returnflow.domain.events.ReturnEvent` (the audit trail).

The status flow follows the field (Solidus, Adobe Commerce RMA, Spree 6 "Return"):
requested -> (in_review ->) authorized | rejected -> label_issued -> in_transit -> partially_received |
received -> inspected -> settled -> closed; cancel while nothing has arrived; expire when a label got
no carrier scan in time (a late parcel can still be received).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from returnflow.domain.errors import IllegalTransition, InvalidInput
from returnflow.domain.events import ReturnEvent
from returnflow.domain.statuses import (
    AcceptanceStatus as Acc,
    CarrierScan,
    Disposition,
    Grade,
    ReceptionStatus as Rec,
    Resolution,
    ReturnStatus as S,
)

_RECEIVABLE = {S.AUTHORIZED, S.LABEL_ISSUED, S.IN_TRANSIT, S.PARTIALLY_RECEIVED, S.EXPIRED}
#: Statuses in which the goods have arrived: carrier scans no longer matter.
_PAST_TRANSIT = {S.PARTIALLY_RECEIVED, S.RECEIVED, S.INSPECTED, S.SETTLED, S.CLOSED}
#: Order of the progress scans; exception and lost are side states, not ranked.
_SCAN_PROGRESS = {CarrierScan.PRE_TRANSIT: 0, CarrierScan.IN_TRANSIT: 1, CarrierScan.OUT_FOR_DELIVERY: 2,
                  CarrierScan.DELIVERED: 3}

#: status -> action -> statuses the action may lead to. The only place that says what is allowed.
TRANSITIONS: dict[S, dict[str, frozenset[S]]] = {
    S.REQUESTED: {
        "route": frozenset({S.REQUESTED}),
        "authorize": frozenset({S.AUTHORIZED}),
        "review": frozenset({S.IN_REVIEW}),
        "reject": frozenset({S.REJECTED}),
        "cancel": frozenset({S.CANCELLED}),
    },
    S.IN_REVIEW: {
        "route": frozenset({S.IN_REVIEW}),
        "authorize": frozenset({S.AUTHORIZED}),
        "reject": frozenset({S.REJECTED}),
        "cancel": frozenset({S.CANCELLED}),
    },
    S.AUTHORIZED: {
        "route": frozenset({S.AUTHORIZED}),
        "issue_label": frozenset({S.LABEL_ISSUED}),
        "receive": frozenset({S.RECEIVED, S.PARTIALLY_RECEIVED}),
        "cancel": frozenset({S.CANCELLED}),
        "settle": frozenset({S.SETTLED}),  # keep-it / claims: settle with nothing coming back
    },
    S.LABEL_ISSUED: {
        "issue_label": frozenset({S.LABEL_ISSUED}),
        "scan": frozenset({S.LABEL_ISSUED, S.IN_TRANSIT}),
        "receive": frozenset({S.RECEIVED, S.PARTIALLY_RECEIVED}),
        "cancel": frozenset({S.CANCELLED}),
        "expire": frozenset({S.EXPIRED}),
    },
    S.IN_TRANSIT: {
        "scan": frozenset({S.IN_TRANSIT}),
        "receive": frozenset({S.RECEIVED, S.PARTIALLY_RECEIVED}),
    },
    S.PARTIALLY_RECEIVED: {
        "receive": frozenset({S.RECEIVED, S.PARTIALLY_RECEIVED}),
        "inspect": frozenset({S.PARTIALLY_RECEIVED, S.INSPECTED}),
    },
    # "close" from received: only an empty parcel (nothing counted), which has nothing to inspect or settle.
    S.RECEIVED: {"inspect": frozenset({S.RECEIVED, S.INSPECTED}), "close": frozenset({S.CLOSED})},
    S.INSPECTED: {"settle": frozenset({S.SETTLED})},
    S.SETTLED: {"close": frozenset({S.CLOSED})},
    S.REJECTED: {"close": frozenset({S.CLOSED})},
    S.EXPIRED: {
        "scan": frozenset({S.EXPIRED, S.IN_TRANSIT}),  # a late parcel's first scan
        "receive": frozenset({S.RECEIVED, S.PARTIALLY_RECEIVED}),
        "close": frozenset({S.CLOSED}),
    },
    S.CANCELLED: {},
    S.CLOSED: {},
}


def allowed_actions(status: S) -> list[str]:
    """Actions allowed from ``status`` (for UIs and error messages)."""
    return sorted(TRANSITIONS[S(status)])


@dataclass(eq=False)
class ReturnLine:
    """One order line's units asked back on an RMA.

    Money: ``paid_amount`` is what the customer paid for the ``quantity`` units asked back (order
    currency, rounded); ``refunded_amount`` what was settled for this line.
    """

    order_line_id: int
    sku: str
    description: str
    quantity: int
    reason: str
    paid_amount: Decimal = Decimal(0)
    reason_detail: str = ""
    reception_status: Rec = Rec.AWAITING
    acceptance_status: Acc = Acc.PENDING
    quantity_received: int = 0
    grade: Grade | None = None
    disposition: Disposition | None = None
    restock: bool = False
    inspection_note: str = ""
    refunded_amount: Decimal = Decimal(0)
    id: int | None = None

    @property
    def inspected(self) -> bool:
        return self.grade is not None

    @property
    def quantity_accepted(self) -> int:
        """Units received and accepted: the only units that may be refunded."""
        return self.quantity_received if self.acceptance_status == Acc.ACCEPTED else 0


@dataclass(eq=False)
class ReturnAuthorization:
    """The RMA: one customer's request to send back units of one order.

    Attributes: ``number`` (human-friendly, unique, e.g. ``RMA-000123``), ``order_id``,
    ``customer_id``, ``currency`` (the order's), ``status``, ``lines``, ``events`` (audit trail),
    ``requested_at`` (UTC), ``return_center_code`` (where the parcel goes / was received),
    ``decision`` (why the policy decided what it did), ``refund_total`` (settled amount),
    ``claim_remedy`` (a claim's chosen remedy, used when an agent settles it after review), ``claim_key`` (the
    idempotency key the claim was filed with).
    """

    number: str
    order_id: int
    order_number: str
    customer_id: str
    currency: str
    requested_at: datetime
    lines: list[ReturnLine] = field(default_factory=list)
    events: list[ReturnEvent] = field(default_factory=list)
    status: S = S.REQUESTED
    resolution: Resolution | None = None
    channel: str = "api"
    return_center_code: str | None = None
    carrier: str | None = None
    tracking_code: str | None = None
    decision: str = ""
    policy_version: str | None = None
    refund_total: Decimal = Decimal(0)
    claim_remedy: str | None = None
    claim_key: str | None = None
    updated_at: datetime | None = None
    id: int | None = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def request(
        cls,
        *,
        number: str,
        order_id: int,
        order_number: str,
        customer_id: str,
        currency: str,
        lines: list[ReturnLine],
        actor: str,
        at: datetime,
        channel: str = "api",
    ) -> ReturnAuthorization:
        """Open a new RMA in status ``requested`` and record ``return.requested``.

        Raises:
            InvalidInput: no lines, a quantity below 1, or the same order line twice.
        """
        if not lines:
            raise InvalidInput("a return needs at least one line")
        seen: set[int] = set()
        for line in lines:
            if line.quantity < 1:
                raise InvalidInput(f"quantity for {line.sku} must be at least 1, got {line.quantity}")
            if line.order_line_id in seen:
                raise InvalidInput(f"order line {line.order_line_id} appears twice")
            seen.add(line.order_line_id)
        rma = cls(number=number, order_id=order_id, order_number=order_number, customer_id=customer_id,
                  currency=currency, requested_at=at, lines=lines, channel=channel, updated_at=at)
        rma._record("return.requested", actor, at, S.REQUESTED, {
            "lines": [{"sku": l.sku, "quantity": l.quantity, "reason": l.reason} for l in lines]})
        return rma

    def require(self, action: str) -> None:
        """Raise ``IllegalTransition`` unless the current status allows ``action`` at all (to any status).

        Use it before work that only makes sense for an allowed action (a refund calculation before
        ``settle``), so the caller gets the 409, not an error from that work.
        """
        if action not in TRANSITIONS[S(self.status)]:
            raise IllegalTransition(status=str(self.status), action=action, rma_number=self.number)

    # -- internals ----------------------------------------------------------------------------
    def _check(self, action: str, target: S) -> None:
        allowed = TRANSITIONS[S(self.status)].get(action, frozenset())
        if target not in allowed:
            raise IllegalTransition(status=str(self.status), action=action, rma_number=self.number)

    def _record(self, name: str, actor: str, at: datetime, target: S, data: dict[str, Any] | None = None) -> None:
        self.events.append(ReturnEvent(name=name, actor=actor, occurred_at=at, from_status=str(self.status),
                                       to_status=str(target), data=data or {}))
        self.status = target
        self.updated_at = at

    def line(self, line_id: int) -> ReturnLine:
        """The line with ``line_id``; raises ``InvalidInput`` if the RMA has no such line."""
        for line in self.lines:
            if line.id == line_id:
                return line
        raise InvalidInput(f"RMA {self.number} has no line {line_id}")

    # -- actions ------------------------------------------------------------------------------
    def authorize(self, *, actor: str, at: datetime, note: str = "") -> None:
        """Approve the request (automatically by policy or by an agent)."""
        self._check("authorize", S.AUTHORIZED)
        for line in self.lines:
            if line.acceptance_status == Acc.MANUAL_REVIEW:
                line.acceptance_status = Acc.PENDING
        self._record("return.authorized", actor, at, S.AUTHORIZED, {"note": note} if note else {})

    def route_to(self, *, actor: str, at: datetime, return_center_code: str, reason: str) -> None:
        """Record where the parcel should go and why (before any label); the status does not change."""
        if not return_center_code:
            raise InvalidInput("routing needs a return center")
        self._check("route", S(self.status))
        self.return_center_code = return_center_code
        self._record("return.routed", actor, at, S(self.status),
                     {"return_center": return_center_code, "reason": reason})

    def send_to_review(self, *, actor: str, at: datetime, reasons: list[str]) -> None:
        """Hold the request for an agent; ``reasons`` say why (shown on the RMA)."""
        self._check("review", S.IN_REVIEW)
        for line in self.lines:
            line.acceptance_status = Acc.MANUAL_REVIEW
        self._record("return.review_requested", actor, at, S.IN_REVIEW, {"reasons": reasons})

    def reject(self, *, actor: str, at: datetime, reason: str) -> None:
        """Refuse the request; every line becomes rejected and cancelled."""
        if not reason.strip():
            raise InvalidInput("a rejection needs a reason")
        self._check("reject", S.REJECTED)
        for line in self.lines:
            line.acceptance_status = Acc.REJECTED
            line.reception_status = Rec.CANCELLED
        self._record("return.rejected", actor, at, S.REJECTED, {"reason": reason})

    def cancel(self, *, actor: str, at: datetime, reason: str = "") -> None:
        """Withdraw the return before anything has arrived."""
        self._check("cancel", S.CANCELLED)
        for line in self.lines:
            line.reception_status = Rec.CANCELLED
        self._record("return.cancelled", actor, at, S.CANCELLED, {"reason": reason} if reason else {})

    def issue_label(self, *, actor: str, at: datetime, carrier: str, tracking_code: str,
                    return_center_code: str | None = None) -> None:
        """Record the shipping label bought for the parcel (re-issuing replaces the tracking code)."""
        if not tracking_code:
            raise InvalidInput("a label needs a tracking code")
        self._check("issue_label", S.LABEL_ISSUED)
        self.carrier, self.tracking_code = carrier, tracking_code
        if return_center_code:
            self.return_center_code = return_center_code
        self._record("return.label_issued", actor, at, S.LABEL_ISSUED,
                     {"carrier": carrier, "tracking_code": tracking_code, "return_center": self.return_center_code})

    def record_scan(self, *, actor: str, at: datetime, scan: CarrierScan, location: str = "") -> bool:
        """Apply one carrier tracking event; return whether it changed the RMA.

        Repeats and out-of-order scans never move status back and are ignored (``False``, no event): the
        same scan at the same time again; a progress scan (pre_transit < in_transit < out_for_delivery <
        delivered) ranked below one already applied; any scan once goods have been received (a late
        webhook). A moving scan on an ``expired`` RMA brings it back ``in_transit`` (the late parcel is on
        its way, as the module docstring allows). ``delivered`` means delivered to the return center and
        awaiting receipt: the status stays ``in_transit`` until the center counts the parcel.

        Raises:
            IllegalTransition: no label yet (or cancelled / rejected): there is no parcel to scan.
            InvalidInput: the scan is dated before the return was requested.
        """
        scan = CarrierScan(scan)
        if at < self.requested_at:
            raise InvalidInput(f"scan time {at.isoformat()} is before the return was requested "
                               f"({self.requested_at.isoformat()})")
        if S(self.status) in _PAST_TRANSIT or self._scan_adds_nothing(scan, at):
            return False
        moving = scan in (CarrierScan.IN_TRANSIT, CarrierScan.OUT_FOR_DELIVERY, CarrierScan.DELIVERED,
                          CarrierScan.LOST, CarrierScan.EXCEPTION)
        target = S.IN_TRANSIT if moving or self.status == S.IN_TRANSIT else S(self.status)
        self._check("scan", target)
        for line in self.lines:
            if scan == CarrierScan.LOST and line.reception_status in (Rec.AWAITING, Rec.IN_TRANSIT):
                line.reception_status = Rec.LOST_IN_TRANSIT
            elif moving and line.reception_status in (Rec.AWAITING, Rec.EXPIRED):
                line.reception_status = Rec.IN_TRANSIT
        name = {CarrierScan.DELIVERED: "return.delivered", CarrierScan.LOST: "return.lost_in_transit",
                CarrierScan.EXCEPTION: "return.carrier_exception",
                CarrierScan.PRE_TRANSIT: "return.pre_transit"}.get(scan, "return.in_transit")
        self._record(name, actor, at, target, {"scan": str(scan), "location": location})
        return True

    def _scan_adds_nothing(self, scan: CarrierScan, at: datetime) -> bool:
        applied = [(e.data.get("scan"), e.occurred_at) for e in self.events if "scan" in e.data]
        if (str(scan), at) in applied:
            return True
        rank = _SCAN_PROGRESS.get(scan)
        return rank is not None and any(_SCAN_PROGRESS.get(CarrierScan(s), -1) > rank
                                        for s, _ in applied if s in CarrierScan._value2member_map_)

    def expire(self, *, actor: str, at: datetime) -> None:
        """No carrier scan in time after the label: the lines expire (a late parcel may still come)."""
        self._check("expire", S.EXPIRED)
        for line in self.lines:
            line.reception_status = Rec.EXPIRED
        self._record("return.expired", actor, at, S.EXPIRED)

    def receive(self, *, actor: str, at: datetime, quantities: dict[int, int], return_center_code: str,
                complete: bool = True) -> None:
        """Count units arrived at ``return_center_code``. ``quantities``: line id -> units in this parcel.

        With ``complete`` (the parcel is all that will come) lines still short become
        ``short_shipped`` and the RMA ``received``; otherwise the RMA may be ``partially_received``.

        Raises:
            InvalidInput: unknown line, a negative count, more units than asked for, nothing counted.
            IllegalTransition: the RMA is not expecting goods.
        """
        if S(self.status) not in _RECEIVABLE:
            raise IllegalTransition(status=str(self.status), action="receive", rma_number=self.number)
        if not return_center_code:
            raise InvalidInput("receiving needs the return center")
        for line_id, units in quantities.items():
            line = self.line(line_id)
            if units < 0:
                raise InvalidInput(f"received quantity for line {line_id} must not be negative, got {units}")
            if units and line.inspected:
                # Its grade covers only the units counted before; refunding later units unseen would pay
                # for goods nobody inspected. They come in as a late parcel (no refund) instead.
                raise InvalidInput(f"line {line_id} ({line.sku}) was already inspected; record these units "
                                   "as a late parcel")
            if line.quantity_received + units > line.quantity:
                raise InvalidInput(f"line {line_id} ({line.sku}) expects {line.quantity - line.quantity_received} "
                                   f"more unit(s), {units} counted")
        if sum(quantities.values()) == 0 and not complete:
            raise InvalidInput("no units counted")
        for line_id, units in quantities.items():
            self.line(line_id).quantity_received += units
        for line in self.lines:
            if line.quantity_received == line.quantity:
                line.reception_status = Rec.RECEIVED
            elif complete:
                line.reception_status = Rec.SHORT_SHIPPED if line.quantity_received else (
                    line.reception_status if line.reception_status == Rec.LOST_IN_TRANSIT else Rec.SHORT_SHIPPED)
        all_done = complete or all(l.quantity_received == l.quantity for l in self.lines)
        target = S.RECEIVED if all_done else S.PARTIALLY_RECEIVED
        self._check("receive", target)
        self.return_center_code = return_center_code
        self._record("return.received", actor, at, target,
                     {"return_center": return_center_code, "quantities": {str(k): v for k, v in quantities.items()}})

    def inspect(self, *, actor: str, at: datetime, line_id: int, grade: Grade, disposition: Disposition,
                accept: bool = True, restock: bool | None = None, note: str = "") -> None:
        """Grade one received line and decide its disposition; when every line with units is graded the
        RMA becomes ``inspected``. ``restock`` defaults to ``disposition == restock``.

        Raises:
            InvalidInput: the line has no received units, or restock chosen with another disposition.
            IllegalTransition: nothing has been received yet.
        """
        self.require("inspect")
        line = self.line(line_id)
        grade, disposition = Grade(grade), Disposition(disposition)
        restock = (disposition == Disposition.RESTOCK) if restock is None else restock
        if restock and disposition != Disposition.RESTOCK:
            raise InvalidInput("only the 'restock' disposition puts units back into inventory")
        if line.quantity_received == 0:
            raise InvalidInput(f"line {line_id} ({line.sku}) has no received units to inspect")
        pending = [l for l in self.lines if l.quantity_received and not l.inspected and l is not line]
        target = S.INSPECTED if not pending and S(self.status) == S.RECEIVED else S(self.status)
        self._check("inspect", target)
        line.grade, line.disposition, line.restock, line.inspection_note = grade, disposition, restock, note
        line.acceptance_status = Acc.ACCEPTED if accept else Acc.REJECTED
        self._record("return.inspected", actor, at, target, {
            "line_id": line_id, "sku": line.sku, "grade": str(grade), "disposition": str(disposition),
            "accepted": accept, "restock": restock})

    def settle(self, *, actor: str, at: datetime, resolution: Resolution, amounts: dict[int, Decimal],
               reference: str = "", refund_total: Decimal | None = None) -> None:
        """Record the settlement: ``amounts`` maps line id -> amount refunded or credited for it;
        ``refund_total`` (default: their sum) also counts money not tied to a line (shipping refunded).

        Raises:
            InvalidInput: an unknown line, a negative amount, an amount for a line with nothing accepted to pay
                for, or more than was paid for the line and not yet refunded.
            IllegalTransition: not inspected yet, or already settled (never a double refund).
        """
        self._check("settle", S.SETTLED)
        for line_id, amount in amounts.items():
            line = self.line(line_id)
            if amount < 0:
                raise InvalidInput(f"settlement for line {line_id} must not be negative")
            if amount > 0 and line.quantity_accepted == 0 and self.status != S.AUTHORIZED:
                raise InvalidInput(f"line {line_id} has no accepted units to settle")
            if line.refunded_amount + amount > line.paid_amount:
                raise InvalidInput(f"settlement of {amount} for line {line_id} exceeds the "
                                   f"{line.paid_amount - line.refunded_amount} paid and not yet refunded")
        for line_id, amount in amounts.items():
            self.line(line_id).refunded_amount += amount
        self.resolution = Resolution(resolution)
        self.refund_total = sum(amounts.values(), Decimal(0)) if refund_total is None else refund_total
        self._record(f"return.{'refunded' if self.resolution == Resolution.REFUND else 'settled'}", actor, at,
                     S.SETTLED, {"resolution": str(self.resolution), "amount": str(self.refund_total),
                                 "currency": self.currency, "reference": reference})

    def receive_late(self, *, actor: str, at: datetime, quantities: dict[int, int], return_center_code: str) -> None:
        """A parcel arriving after the RMA was settled without it (claim, keep-it, lost parcel): count the
        units for restocking; the status and the money stay as they are (no second refund).

        Raises:
            IllegalTransition: the RMA is not settled or closed. InvalidInput: bad line or count.
        """
        if S(self.status) not in (S.SETTLED, S.CLOSED):
            raise IllegalTransition(status=str(self.status), action="receive_late", rma_number=self.number)
        for line_id, units in quantities.items():
            line = self.line(line_id)
            if units < 1 or line.quantity_received + units > line.quantity:
                raise InvalidInput(f"line {line_id} ({line.sku}) can take 1..{line.quantity - line.quantity_received}"
                                   f" more unit(s), {units} counted")
        for line_id, units in quantities.items():
            self.line(line_id).quantity_received += units
        self._record("return.late_parcel_received", actor, at, S(self.status),
                     {"return_center": return_center_code, "quantities": {str(k): v for k, v in quantities.items()},
                      "refund": "none"})

    def close(self, *, actor: str, at: datetime) -> None:
        """Archive a settled, rejected or expired return, or one whose parcel arrived empty.

        Raises:
            IllegalTransition: any other status, or received units still waiting for inspection.
        """
        self._check("close", S.CLOSED)
        if self.status == S.RECEIVED and any(line.quantity_received for line in self.lines):
            raise IllegalTransition(status=str(self.status), action="close", rma_number=self.number)
        self._record("return.closed", actor, at, S.CLOSED, {"empty_parcel": True} if self.status == S.RECEIVED else {})
