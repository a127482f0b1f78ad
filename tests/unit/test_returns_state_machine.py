"""The RMA aggregate: the transition table is the only authority; an illegal action raises and changes nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from returnflow.domain.errors import IllegalTransition, InvalidInput
from returnflow.domain.returns import (
    TRANSITIONS,
    ReturnAuthorization,
    ReturnLine,
    allowed_actions,
)
from returnflow.domain.statuses import AcceptanceStatus as Acc
from returnflow.domain.statuses import CarrierScan, Disposition, Grade, Resolution
from returnflow.domain.statuses import ReceptionStatus as Rec
from returnflow.domain.statuses import ReturnStatus as S
from tests.unit.rma_builders import T0, act, new_rma, rma_in, snapshot

#: action name in the table -> the builder action that performs it
PERFORM = {"authorize": "authorize", "review": "review", "reject": "reject", "cancel": "cancel",
           "issue_label": "label", "scan": "scan", "expire": "expire", "receive": "receive_all",
           "inspect": "inspect_1", "settle": "settle", "close": "close"}

#: A carrier scan arriving after the goods were counted is a late webhook: ignored, not an error.
LATE_SCAN_IGNORED = {S.PARTIALLY_RECEIVED, S.RECEIVED, S.INSPECTED, S.SETTLED, S.CLOSED}
ILLEGAL = [(status, action) for status in S for action in PERFORM if action not in TRANSITIONS[status]
           and not (action == "scan" and status in LATE_SCAN_IGNORED)]


def test_every_status_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(S)
    assert allowed_actions(S.CLOSED) == [] and allowed_actions(S.CANCELLED) == []
    assert allowed_actions(S.REQUESTED) == ["authorize", "cancel", "reject", "review", "route"]


@pytest.mark.parametrize("status", sorted(LATE_SCAN_IGNORED))
def test_a_scan_after_the_goods_arrived_is_ignored_and_changes_nothing(status: S) -> None:
    rma = rma_in(status)
    before = snapshot(rma)
    assert rma.record_scan(actor="carrier", at=T0, scan=CarrierScan.IN_TRANSIT) is False
    assert snapshot(rma) == before


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_an_illegal_action_raises_illegal_transition_and_changes_nothing(status: S, action: str) -> None:
    rma = rma_in(status)
    before = snapshot(rma)
    with pytest.raises(IllegalTransition) as info:
        act(rma, PERFORM[action])
    assert snapshot(rma) == before
    assert info.value.status == str(status)


def test_a_new_request_records_one_event_and_awaits_every_line() -> None:
    rma = new_rma()
    assert rma.status == S.REQUESTED
    assert [(e.name, e.from_status, e.to_status) for e in rma.events] == [("return.requested", "requested",
                                                                          "requested")]
    assert [(line.reception_status, line.acceptance_status) for line in rma.lines] == [(Rec.AWAITING, Acc.PENDING)] * 2


@pytest.mark.parametrize("lines", [
    [],
    [ReturnLine(order_line_id=1, sku="A", description="", quantity=0, reason="r")],
    [ReturnLine(order_line_id=1, sku="A", description="", quantity=1, reason="r"),
     ReturnLine(order_line_id=1, sku="A", description="", quantity=1, reason="r")],
])
def test_a_request_needs_lines_with_positive_quantities_each_order_line_once(lines: list[ReturnLine]) -> None:
    with pytest.raises(InvalidInput):
        ReturnAuthorization.request(number="RMA-1", order_id=1, order_number="1", customer_id="C", currency="GBP",
                                    lines=lines, actor="c", at=T0)


def test_the_full_happy_path_chains_every_event() -> None:
    rma = rma_in(S.CLOSED)
    names = [e.name for e in rma.events]
    assert names == ["return.requested", "return.authorized", "return.label_issued", "return.received",
                     "return.inspected", "return.inspected", "return.refunded", "return.closed"]
    for earlier, later in zip(rma.events, rma.events[1:]):
        assert later.from_status == earlier.to_status
    assert rma.refund_total == D("45.50")  # 20.00 + 25.50
    assert [line.refunded_amount for line in rma.lines] == [D("20.00"), D("25.50")]


def test_review_holds_every_line_for_an_agent_and_authorizing_releases_them() -> None:
    rma = rma_in(S.IN_REVIEW)
    assert {line.acceptance_status for line in rma.lines} == {Acc.MANUAL_REVIEW}
    act(rma, "authorize")
    assert rma.status == S.AUTHORIZED
    assert {line.acceptance_status for line in rma.lines} == {Acc.PENDING}


def test_rejecting_without_a_reason_is_refused_and_changes_nothing() -> None:
    rma = new_rma()
    before = snapshot(rma)
    with pytest.raises(InvalidInput):
        rma.reject(actor="s", at=T0, reason="  ")
    assert snapshot(rma) == before


def test_a_parcel_in_parts_moves_through_partially_received_to_received() -> None:
    rma = rma_in(S.PARTIALLY_RECEIVED)
    assert [line.quantity_received for line in rma.lines] == [1, 0]
    rma.receive(actor="s", at=T0, quantities={1: 1, 2: 1}, return_center_code="RC-UK-01", complete=False)
    assert rma.status == S.RECEIVED
    assert [line.reception_status for line in rma.lines] == [Rec.RECEIVED, Rec.RECEIVED]


def test_a_complete_parcel_missing_units_marks_the_line_short_shipped() -> None:
    rma = rma_in(S.LABEL_ISSUED)
    rma.receive(actor="s", at=T0, quantities={1: 1, 2: 1}, return_center_code="RC-UK-01")
    assert rma.status == S.RECEIVED
    assert [line.reception_status for line in rma.lines] == [Rec.SHORT_SHIPPED, Rec.RECEIVED]


@pytest.mark.parametrize(("quantities", "center", "complete"), [
    ({1: 3}, "RC-UK-01", True),          # line 1 asked for 2
    ({1: -1}, "RC-UK-01", True),
    ({9: 1}, "RC-UK-01", True),          # no line 9
    ({1: 1}, "", True),                  # no center
    ({1: 0}, "RC-UK-01", False),         # nothing counted
])
def test_a_wrong_count_is_refused_and_changes_nothing(quantities: dict[int, int], center: str,
                                                      complete: bool) -> None:
    rma = rma_in(S.LABEL_ISSUED)
    before = snapshot(rma)
    with pytest.raises(InvalidInput):
        rma.receive(actor="s", at=T0, quantities=quantities, return_center_code=center, complete=complete)
    assert snapshot(rma) == before


def test_a_late_parcel_is_received_after_the_label_expired() -> None:
    rma = rma_in(S.EXPIRED)
    assert {line.reception_status for line in rma.lines} == {Rec.EXPIRED}
    act(rma, "receive_all")
    assert rma.status == S.RECEIVED


def test_scans_move_to_in_transit_and_a_repeat_never_moves_back() -> None:
    rma = rma_in(S.LABEL_ISSUED)
    rma.record_scan(actor="carrier", at=T0, scan=CarrierScan.PRE_TRANSIT)
    assert rma.status == S.LABEL_ISSUED
    rma.record_scan(actor="carrier", at=T0, scan=CarrierScan.IN_TRANSIT)
    rma.record_scan(actor="carrier", at=T0, scan=CarrierScan.PRE_TRANSIT)  # out of order
    assert rma.status == S.IN_TRANSIT
    assert {line.reception_status for line in rma.lines} == {Rec.IN_TRANSIT}
    rma.record_scan(actor="carrier", at=T0, scan=CarrierScan.LOST)
    assert {line.reception_status for line in rma.lines} == {Rec.LOST_IN_TRANSIT}
    assert rma.events[-1].name == "return.lost_in_transit"


def test_settling_twice_is_illegal_and_refunds_once() -> None:
    rma = rma_in(S.SETTLED)
    before = snapshot(rma)
    with pytest.raises(IllegalTransition):
        act(rma, "settle")
    assert snapshot(rma) == before
    assert rma.refund_total == D("45.50")


def test_a_negative_settlement_is_refused_and_changes_nothing() -> None:
    rma = rma_in(S.INSPECTED)
    before = snapshot(rma)
    with pytest.raises(InvalidInput):
        rma.settle(actor="s", at=T0, resolution=Resolution.REFUND, amounts={1: D("1.00"), 2: D("-1.00")})
    assert snapshot(rma) == before


def test_a_settlement_naming_an_unknown_line_is_refused_and_changes_nothing() -> None:
    rma = rma_in(S.INSPECTED)
    before = snapshot(rma)
    with pytest.raises(InvalidInput):
        rma.settle(actor="s", at=T0, resolution=Resolution.REFUND, amounts={1: D("20.00"), 99: D(0)})
    assert snapshot(rma) == before


def test_settling_more_than_was_paid_for_a_line_is_refused_and_changes_nothing() -> None:
    rma = rma_in(S.INSPECTED)
    before = snapshot(rma)
    with pytest.raises(InvalidInput):
        rma.settle(actor="s", at=T0, resolution=Resolution.REFUND, amounts={1: D("20.01")})  # paid 20.00
    assert snapshot(rma) == before


def test_a_rejected_line_cannot_be_paid_for() -> None:
    rma = rma_in(S.RECEIVED)
    act(rma, "inspect_1")
    rma.inspect(actor="s", at=T0, line_id=2, grade="D", disposition="recycle", accept=False)
    before = snapshot(rma)
    with pytest.raises(InvalidInput, match="no accepted units"):
        rma.settle(actor="s", at=T0, resolution=Resolution.REFUND, amounts={2: D("25.50")})
    assert snapshot(rma) == before


def test_store_credit_is_recorded_as_settled_not_refunded() -> None:
    rma = rma_in(S.INSPECTED)
    rma.settle(actor="s", at=T0, resolution=Resolution.STORE_CREDIT, amounts={1: D("20.00"), 2: D("25.50")})
    assert rma.events[-1].name == "return.settled"
    assert rma.events[-1].data["amount"] == "45.50"


def test_an_empty_parcel_can_be_closed_but_a_parcel_with_units_cannot() -> None:
    empty = rma_in(S.AUTHORIZED)
    empty.receive(actor="w", at=T0, quantities={line.id or 0: 0 for line in empty.lines},
                  return_center_code="RC-UK-01", complete=True)
    assert empty.status == S.RECEIVED
    empty.close(actor="w", at=T0)
    assert empty.status == S.CLOSED and empty.events[-1].data == {"empty_parcel": True}

    full = rma_in(S.RECEIVED)
    before = snapshot(full)
    with pytest.raises(IllegalTransition):
        full.close(actor="w", at=T0)
    assert snapshot(full) == before


def test_units_arriving_for_a_line_already_inspected_are_refused_and_change_nothing() -> None:
    rma = rma_in(S.AUTHORIZED)
    first = rma.lines[0]
    rma.receive(actor="w", at=T0, quantities={first.id or 0: 1}, return_center_code="RC-UK-01", complete=False)
    rma.inspect(actor="w", at=T0, line_id=first.id or 0, grade=Grade.A, disposition=Disposition.RESTOCK)
    before = snapshot(rma)
    with pytest.raises(InvalidInput, match="already inspected"):
        rma.receive(actor="w", at=T0, quantities={first.id or 0: 1}, return_center_code="RC-UK-01")
    assert snapshot(rma) == before
