"""Carrier scans on the RMA: repeats, stale and late scans never move it back."""

from datetime import UTC, datetime, timedelta

import pytest

from returnflow.domain.errors import IllegalTransition
from returnflow.domain.returns import ReturnAuthorization, ReturnLine
from returnflow.domain.statuses import CarrierScan, ReceptionStatus, ReturnStatus

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def labelled() -> ReturnAuthorization:
    rma = ReturnAuthorization.request(number="RMA-000001", order_id=1, order_number="100001", customer_id="C1",
                                      currency="GBP", actor="customer:C1", at=T0,
                                      lines=[ReturnLine(order_line_id=1, sku="SKU-A", description="a", quantity=2,
                                                        reason="too_small", id=11)])
    rma.authorize(actor="system", at=T0)
    rma.issue_label(actor="system", at=T0, carrier="returnflow", tracking_code="RF000000000001")
    return rma


def test_first_moving_scan_puts_the_rma_and_its_lines_in_transit() -> None:
    rma = labelled()
    assert rma.record_scan(actor="carrier:x", at=T0 + timedelta(hours=1), scan=CarrierScan.IN_TRANSIT) is True
    assert rma.status == ReturnStatus.IN_TRANSIT
    assert rma.lines[0].reception_status == ReceptionStatus.IN_TRANSIT


def test_pre_transit_keeps_label_issued_and_is_named_pre_transit() -> None:
    rma = labelled()
    assert rma.record_scan(actor="carrier:x", at=T0 + timedelta(hours=1), scan=CarrierScan.PRE_TRANSIT)
    assert rma.status == ReturnStatus.LABEL_ISSUED
    assert rma.events[-1].name == "return.pre_transit"


def test_the_same_scan_at_the_same_time_twice_records_one_event() -> None:
    rma = labelled()
    at = T0 + timedelta(hours=1)
    rma.record_scan(actor="carrier:x", at=at, scan=CarrierScan.IN_TRANSIT)
    count = len(rma.events)
    assert rma.record_scan(actor="carrier:x", at=at, scan=CarrierScan.IN_TRANSIT) is False
    assert len(rma.events) == count


def test_an_older_in_transit_scan_after_delivery_is_ignored() -> None:
    rma = labelled()
    rma.record_scan(actor="carrier:x", at=T0 + timedelta(days=2), scan=CarrierScan.DELIVERED)
    count = len(rma.events)
    assert rma.record_scan(actor="carrier:x", at=T0 + timedelta(days=1), scan=CarrierScan.IN_TRANSIT) is False
    assert (rma.status, len(rma.events), rma.events[-1].name) == (ReturnStatus.IN_TRANSIT, count, "return.delivered")


def test_a_scan_after_the_parcel_was_received_changes_nothing() -> None:
    rma = labelled()
    rma.receive(actor="staff", at=T0 + timedelta(days=3), quantities={11: 2}, return_center_code="RC-UK-01")
    count = len(rma.events)
    assert rma.record_scan(actor="carrier:x", at=T0 + timedelta(days=4), scan=CarrierScan.DELIVERED) is False
    assert (rma.status, len(rma.events)) == (ReturnStatus.RECEIVED, count)
    assert rma.lines[0].reception_status == ReceptionStatus.RECEIVED


def test_a_late_parcels_scan_brings_an_expired_rma_back_in_transit() -> None:
    rma = labelled()
    rma.expire(actor="system:sweep", at=T0 + timedelta(days=15))
    assert rma.record_scan(actor="carrier:x", at=T0 + timedelta(days=16), scan=CarrierScan.IN_TRANSIT)
    assert rma.status == ReturnStatus.IN_TRANSIT
    assert rma.lines[0].reception_status == ReceptionStatus.IN_TRANSIT


def test_lost_marks_lines_lost_in_transit_and_a_later_progress_scan_does_not_unflag_them() -> None:
    rma = labelled()
    rma.record_scan(actor="carrier:x", at=T0 + timedelta(days=1), scan=CarrierScan.IN_TRANSIT)
    rma.record_scan(actor="system:sweep", at=T0 + timedelta(days=12), scan=CarrierScan.LOST)
    assert rma.lines[0].reception_status == ReceptionStatus.LOST_IN_TRANSIT
    assert rma.events[-1].name == "return.lost_in_transit"
    rma.record_scan(actor="carrier:x", at=T0 + timedelta(days=13), scan=CarrierScan.DELIVERED)
    assert rma.status == ReturnStatus.IN_TRANSIT
    assert rma.lines[0].reception_status == ReceptionStatus.LOST_IN_TRANSIT


def test_a_scan_without_a_label_is_an_illegal_transition_and_changes_nothing() -> None:
    rma = ReturnAuthorization.request(number="RMA-000002", order_id=1, order_number="100001", customer_id="C1",
                                      currency="GBP", actor="customer:C1", at=T0,
                                      lines=[ReturnLine(order_line_id=1, sku="SKU-A", description="a", quantity=1,
                                                        reason="too_small", id=12)])
    rma.authorize(actor="system", at=T0)
    count = len(rma.events)
    with pytest.raises(IllegalTransition):
        rma.record_scan(actor="carrier:x", at=T0, scan=CarrierScan.IN_TRANSIT)
    assert (rma.status, len(rma.events)) == (ReturnStatus.AUTHORIZED, count)
