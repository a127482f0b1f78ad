"""Random action sequences on the RMA aggregate keep its invariants (hypothesis stateful testing).

Invariants after every step: never more refunded than paid (per line and in total), never more received
than requested, every successful action appends exactly one event whose ``from_status`` is the previous
status and whose ``to_status`` is the new one, and a refused action (IllegalTransition or InvalidInput)
changes nothing at all.
"""

from __future__ import annotations

from decimal import Decimal as D
from itertools import pairwise

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from returnflow.domain.errors import IllegalTransition, InvalidInput
from returnflow.domain.orders import OrderLine
from tests.unit.rma_builders import quote_line
from returnflow.domain.returns import ReturnAuthorization, ReturnLine
from returnflow.domain.statuses import CarrierScan, Disposition, Grade, Resolution
from tests.unit.rma_builders import T0, snapshot

# The order: line 11 = 3 x 33.33 = 99.99; line 12 = 2 x 12.50 = 25.00; line 13 = 7 x 0.99 = 6.93
ORDER_LINES = {11: OrderLine(1, "SKU-A", "a", 3, D("33.33"), id=11), 12: OrderLine(2, "SKU-B", "b", 2, D("12.50"), id=12),
               13: OrderLine(3, "SKU-C", "c", 7, D("0.99"), id=13)}
LINE_IDS = st.sampled_from([1, 2, 3])


class RmaMachine(RuleBasedStateMachine):
    rma: ReturnAuthorization

    @initialize(quantities=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 7)))
    def open_request(self, quantities: tuple[int, int, int]) -> None:
        lines = []
        for line_id, (order_line_id, qty) in enumerate(zip(ORDER_LINES, quantities), start=1):
            paid = quote_line(ORDER_LINES[order_line_id], currency="GBP", units=qty, units_already_refunded=0).amount
            lines.append(ReturnLine(order_line_id=order_line_id, sku=ORDER_LINES[order_line_id].sku, description="",
                                    quantity=qty, reason="r", paid_amount=paid, id=line_id))
        self.rma = ReturnAuthorization.request(number="RMA-000001", order_id=1, order_number="1", customer_id="C1",
                                               currency="GBP", lines=lines, actor="customer:C1", at=T0)

    def attempt(self, action, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        """Run ``action``; on success exactly one event is added, on refusal nothing changes."""
        before, events_before, status_before = snapshot(self.rma), len(self.rma.events), str(self.rma.status)
        try:
            changed = action(*args, actor="test", at=T0, **kwargs)
        except (IllegalTransition, InvalidInput):
            assert snapshot(self.rma) == before
            return
        if changed is False:  # a repeated or late carrier scan: ignored on purpose
            assert snapshot(self.rma) == before
            return
        assert len(self.rma.events) == events_before + 1
        event = self.rma.events[-1]
        assert (event.from_status, event.to_status) == (status_before, str(self.rma.status))

    @rule()
    def authorize(self) -> None:
        self.attempt(self.rma.authorize)

    @rule()
    def review(self) -> None:
        self.attempt(self.rma.send_to_review, reasons=["late"])

    @rule(how=st.sampled_from(["reject without reason", "reject", "cancel"]))
    def refuse_or_withdraw(self, how: str) -> None:
        """One rule for the three dead ends, so random runs more often get as far as a refund."""
        if how == "cancel":
            self.attempt(self.rma.cancel)
        else:
            self.attempt(self.rma.reject, reason="" if how == "reject without reason" else "too late")

    @rule()
    def label(self) -> None:
        self.attempt(self.rma.issue_label, carrier="returnflow", tracking_code="RF1", return_center_code="RC-UK-01")

    @rule(scan=st.sampled_from(list(CarrierScan)))
    def scan(self, scan: CarrierScan) -> None:
        self.attempt(self.rma.record_scan, scan=scan)

    @rule()
    def expire(self) -> None:
        self.attempt(self.rma.expire)

    @rule(quantities=st.dictionaries(st.integers(0, 4), st.integers(-1, 4), max_size=3), complete=st.booleans())
    def receive(self, quantities: dict[int, int], complete: bool) -> None:
        self.attempt(self.rma.receive, quantities=quantities, return_center_code="RC-UK-01", complete=complete)

    @rule(short=st.booleans())
    def receive_the_rest(self, short: bool) -> None:
        """Everything still expected arrives (one unit short of the first line when ``short``)."""
        quantities = {line.id or 0: line.quantity - line.quantity_received for line in self.rma.lines}
        if short and quantities[1] > 0:
            quantities[1] -= 1
        self.attempt(self.rma.receive, quantities=quantities, return_center_code="RC-UK-01", complete=True)

    @rule(grade=st.sampled_from(list(Grade)))
    def inspect_every_received_line(self, grade: Grade) -> None:
        for line in list(self.rma.lines):
            if line.quantity_received:
                self.attempt(self.rma.inspect, line_id=line.id or 0, grade=grade,
                             disposition=Disposition.RESTOCK if grade == Grade.A else Disposition.LIQUIDATE,
                             accept=grade != Grade.D)

    @rule(line_id=LINE_IDS, grade=st.sampled_from(list(Grade)), disposition=st.sampled_from(list(Disposition)),
          accept=st.booleans())
    def inspect(self, line_id: int, grade: Grade, disposition: Disposition, accept: bool) -> None:
        self.attempt(self.rma.inspect, line_id=line_id, grade=grade, disposition=disposition, accept=accept)

    @rule(extra=st.sampled_from([D(0), D(0), D("0.01"), D("-0.01")]))
    def settle(self, extra: D) -> None:
        """Refund every accepted unit at its quoted share, sometimes off by a penny (must then be refused)."""
        amounts = {}
        for line in self.rma.lines:
            amounts[line.id or 0] = quote_line(ORDER_LINES[line.order_line_id], currency="GBP",
                                               units=line.quantity_accepted, units_already_refunded=0).amount
        first = self.rma.lines[0].id or 0
        amounts[first] += extra
        self.attempt(self.rma.settle, resolution=Resolution.REFUND, amounts=amounts)

    @rule()
    def close(self) -> None:
        self.attempt(self.rma.close)

    @invariant()
    def never_refunded_more_than_paid(self) -> None:
        lines = self.rma.lines
        assert all(line.refunded_amount <= line.paid_amount for line in lines)
        assert sum((line.refunded_amount for line in lines), D(0)) <= sum((line.paid_amount for line in lines), D(0))
        assert self.rma.refund_total == sum((line.refunded_amount for line in lines), D(0))

    @invariant()
    def never_received_more_than_requested(self) -> None:
        assert all(0 <= line.quantity_received <= line.quantity for line in self.rma.lines)

    @invariant()
    def events_chain_from_status_to_status(self) -> None:
        events = self.rma.events
        assert events[0].name == "return.requested"
        for earlier, later in pairwise(events):
            assert later.from_status == earlier.to_status
        assert events[-1].to_status == str(self.rma.status)


RmaMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=25, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
test_rma_keeps_its_invariants_under_random_actions = RmaMachine.TestCase
