"""Carrier tracking statuses map onto the RMA's carrier scans (issue 7: in transit, delivered, exception)."""

import pytest

from returnflow.domain.errors import InvalidInput
from returnflow.domain.statuses import CarrierScan
from returnflow.services.tracking import carrier_scan_for


@pytest.mark.parametrize(("status", "scan"), [
    ("pre_transit", CarrierScan.PRE_TRANSIT),
    ("in_transit", CarrierScan.IN_TRANSIT),
    ("IN_TRANSIT", CarrierScan.IN_TRANSIT),
    ("out_for_delivery", CarrierScan.OUT_FOR_DELIVERY),
    ("delivered", CarrierScan.DELIVERED),
    ("failure", CarrierScan.EXCEPTION),
    ("return_to_sender", CarrierScan.EXCEPTION),
    ("exception", CarrierScan.EXCEPTION),
    ("lost", CarrierScan.LOST),
    ("unknown", None),
])
def test_each_tracking_status_maps_to_the_scan_the_issue_names(status: str, scan: CarrierScan | None) -> None:
    assert carrier_scan_for(status) == scan


def test_a_status_outside_the_vocabulary_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        carrier_scan_for("teleported")
