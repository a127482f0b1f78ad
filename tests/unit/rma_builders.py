"""Builders for RMA aggregates in every status, walked there through legal actions only."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

from returnflow.domain.returns import ReturnAuthorization, ReturnLine
from returnflow.domain.statuses import CarrierScan, Disposition, Grade, Resolution
from returnflow.domain.statuses import ReturnStatus as S

T0 = datetime(2011, 3, 1, 12, 0, tzinfo=UTC)


def new_rma() -> ReturnAuthorization:
    """RMA-000001: line 1 = 2 units paid 20.00, line 2 = 1 unit paid 25.50 (ids set as the DB would)."""
    lines = [ReturnLine(order_line_id=11, sku="SKU-A", description="a", quantity=2, reason="damaged",
                        paid_amount=D("20.00"), id=1),
             ReturnLine(order_line_id=12, sku="SKU-B", description="b", quantity=1, reason="too_small",
                        paid_amount=D("25.50"), id=2)]
    return ReturnAuthorization.request(number="RMA-000001", order_id=1, order_number="100001", customer_id="C1",
                                       currency="GBP", lines=lines, actor="customer:C1", at=T0)


_PATHS: dict[S, list[str]] = {
    S.REQUESTED: [],
    S.IN_REVIEW: ["review"],
    S.AUTHORIZED: ["authorize"],
    S.REJECTED: ["reject"],
    S.CANCELLED: ["cancel"],
    S.LABEL_ISSUED: ["authorize", "label"],
    S.IN_TRANSIT: ["authorize", "label", "scan"],
    S.EXPIRED: ["authorize", "label", "expire"],
    S.PARTIALLY_RECEIVED: ["authorize", "label", "receive_some"],
    S.RECEIVED: ["authorize", "label", "receive_all"],
    S.INSPECTED: ["authorize", "label", "receive_all", "inspect_1", "inspect_2"],
    S.SETTLED: ["authorize", "label", "receive_all", "inspect_1", "inspect_2", "settle"],
    S.CLOSED: ["authorize", "label", "receive_all", "inspect_1", "inspect_2", "settle", "close"],
}


def act(rma: ReturnAuthorization, action: str) -> None:
    """Perform one named action with typical arguments."""
    a = {"actor": "staff:test", "at": T0}
    match action:
        case "authorize":
            rma.authorize(**a)
        case "review":
            rma.send_to_review(**a, reasons=["late"])
        case "reject":
            rma.reject(**a, reason="too late")
        case "cancel":
            rma.cancel(**a)
        case "label":
            rma.issue_label(**a, carrier="returnflow", tracking_code="RF000000000001", return_center_code="RC-UK-01")
        case "scan":
            rma.record_scan(**a, scan=CarrierScan.IN_TRANSIT)
        case "expire":
            rma.expire(**a)
        case "receive_some":
            rma.receive(**a, quantities={1: 1}, return_center_code="RC-UK-01", complete=False)
        case "receive_all":
            rma.receive(**a, quantities={1: 2, 2: 1}, return_center_code="RC-UK-01")
        case "inspect_1":
            rma.inspect(**a, line_id=1, grade=Grade.A, disposition=Disposition.RESTOCK)
        case "inspect_2":
            rma.inspect(**a, line_id=2, grade=Grade.B, disposition=Disposition.REFURBISH)
        case "settle":
            rma.settle(**a, resolution=Resolution.REFUND, amounts={1: D("20.00"), 2: D("25.50")})
        case "close":
            rma.close(**a)
        case _:
            raise AssertionError(action)


def rma_in(status: S) -> ReturnAuthorization:
    rma = new_rma()
    for action in _PATHS[status]:
        act(rma, action)
    assert rma.status == status
    return rma


def snapshot(rma: ReturnAuthorization) -> dict[str, Any]:
    """A deep, comparable copy of everything an action may change."""
    def plain(obj: Any) -> dict[str, Any]:  # leave out SQLAlchemy's state once the classes are mapped
        return copy.deepcopy({k: v for k, v in vars(obj).items()
                              if not k.startswith("_sa_") and k not in ("lines", "events")})
    out = plain(rma)
    out["lines"] = [plain(line) for line in rma.lines]
    out["events"] = [plain(event) for event in rma.events]
    return out


def quote_line(line: Any, *, currency: str, units: int, units_already_refunded: int) -> Any:
    """The refund of ``units`` more units of one goods line, by the one calculator
    (``domain.settlement.quote_line_units``) on a one-line order in ``currency`` (tax exclusive)."""
    from types import SimpleNamespace

    from returnflow.domain.settlement import RefundItem, quote_line_units

    # A plain stand-in for the order: the line may be a module-level object made before the ORM mapped
    # OrderLine, which a mapped Order would refuse to hold.
    order = SimpleNamespace(order_number="T", currency=currency, prices_include_tax=False, lines=[line])
    return quote_line_units(order, RefundItem(order_line_id=line.id, units=units,
                                              units_before=units_already_refunded))
