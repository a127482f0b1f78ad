"""Return use cases on SQLite and PostgreSQL: request, the full loop to a refund, and refusals that store nothing.

The default test order (``add_order``): order 100001 for ann@example.com, line 1 = 3 x SKU-A at 10.00 (30.00),
line 2 = 1 x SKU-B at 25.50.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.domain.errors import (
    IllegalTransition,
    InvalidInput,
    NotEligible,
    NotFound,
    QuantityExceedsReturnable,
)
from returnflow.domain.orders import Order
from returnflow.domain.statuses import ReturnStatus as S
from returnflow.services import returns as svc
from tests.conftest import add_order
from tests.db_counts import row_counts

EMAIL = "ann@example.com"


def line_ids(order: Order) -> tuple[int, ...]:
    return tuple(line.id or 0 for line in order.lines)


def request(container: Container, *lines: svc.RequestedLine, order_number: str = "100001", proof: str = EMAIL,
            at: datetime | None = None, staff: bool = False) -> svc.ReturnAuthorization:  # type: ignore[name-defined]
    return svc.request_return(container.uow, order_number=order_number, proof=proof, lines=list(lines),
                              actor="staff:agent" if staff else None, policy=container.policy, at=at, staff=staff)


def test_a_request_within_the_window_is_authorized_by_policy(container: Container) -> None:
    order = add_order(container)
    a, _ = line_ids(order)
    rma = request(container, svc.RequestedLine(quantity=2, reason="damaged", order_line_id=a),
                  svc.RequestedLine(quantity=1, reason="wrong_size", sku="SKU-B"))
    assert rma.number == "RMA-000001"
    assert rma.status == S.AUTHORIZED
    # SKU-A: 2 of 3 units of a 30.00 line -> 30.00 x 2/3 = 20.00; SKU-B: 25.50
    assert [(line.sku, line.quantity, line.paid_amount) for line in rma.lines] == [
        ("SKU-A", 2, D("20.00")), ("SKU-B", 1, D("25.50"))]
    stored = svc.get_rma(container.uow, rma.number)
    assert [e.name for e in stored.events] == ["return.requested", "return.routed", "return.authorized"]
    counts = row_counts(container.engine)
    assert (counts["return_authorizations"], counts["return_lines"], counts["return_events"]) == (1, 2, 3)  # requested, routed, authorized
    assert counts["outbox"] == 3  # one message per event, in the same transaction


def test_a_late_request_goes_to_review_with_the_reason(container: Container) -> None:
    placed = datetime.now(UTC) - timedelta(days=40, hours=1)
    add_order(container, placed_at=placed)
    rma = request(container, svc.RequestedLine(quantity=1, reason="changed_mind", sku="SKU-A"))
    assert rma.status == S.IN_REVIEW
    assert rma.decision == "requested 40 days after purchase; the return window is 30 days"


def test_a_request_more_than_a_year_late_is_not_eligible_and_stores_nothing(container: Container) -> None:
    add_order(container, placed_at=datetime.now(UTC) - timedelta(days=400))
    before = row_counts(container.engine)
    with pytest.raises(NotEligible):
        request(container, svc.RequestedLine(quantity=1, reason="changed_mind", sku="SKU-A"))
    assert row_counts(container.engine) == before


def test_units_on_open_returns_count_against_the_returnable_quantity(container: Container) -> None:
    add_order(container)
    first = request(container, svc.RequestedLine(quantity=2, reason="damaged", sku="SKU-A"))
    before = row_counts(container.engine)
    with pytest.raises(QuantityExceedsReturnable, match="only 1 of the 3 bought"):
        request(container, svc.RequestedLine(quantity=2, reason="damaged", sku="SKU-A"))
    assert row_counts(container.engine) == before
    svc.cancel(container.uow, first.number, actor="customer:C1")  # cancelled units may be asked for again
    again = request(container, svc.RequestedLine(quantity=3, reason="damaged", sku="SKU-A"))
    assert again.lines[0].paid_amount == D("30.00")


@pytest.mark.parametrize("proof", ["bob@example.com", "", "  "])
def test_a_wrong_email_looks_like_an_unknown_order_and_stores_nothing(container: Container, proof: str) -> None:
    add_order(container)
    before = row_counts(container.engine)
    with pytest.raises(NotFound, match="no order matches that order number and email"):
        request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-A"), proof=proof)
    with pytest.raises(NotFound, match="no order matches that order number and email"):
        request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-A"), order_number="999999")
    assert row_counts(container.engine) == before


def test_the_email_check_ignores_case_and_the_customer_id_proves_ownership_for_staff_only(container: Container) -> None:
    add_order(container)
    made = request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-A"), proof="ANN@Example.com")
    assert made.events[0].actor == "customer:C1"  # the order's customer, as proved
    before = row_counts(container.engine)
    with pytest.raises(NotFound):  # a short sequential number is no proof from the public
        request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-A"), proof="C1")
    assert row_counts(container.engine) == before
    made = request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-A"), proof="C1", staff=True)
    assert made.events[0].actor == "staff:agent"


def test_postage_cannot_be_returned_by_line_id_or_by_sku(container: Container) -> None:
    order = add_order(container, lines=[("SKU-A", 1, "5.00"), ("POST", 1, "18.00")])
    _, postage = line_ids(order)
    before = row_counts(container.engine)
    with pytest.raises(NotEligible, match="POST is a shipping charge"):
        request(container, svc.RequestedLine(quantity=1, reason="damaged", order_line_id=postage))
    with pytest.raises(InvalidInput, match="has no line POST"):
        request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="POST"))
    assert row_counts(container.engine) == before


@pytest.mark.parametrize("line", [
    svc.RequestedLine(quantity=0, reason="damaged", sku="SKU-A"),
    svc.RequestedLine(quantity=-1, reason="damaged", sku="SKU-A"),
    svc.RequestedLine(quantity=4, reason="damaged", sku="SKU-A"),
    svc.RequestedLine(quantity=1, reason=" ", sku="SKU-A"),
    svc.RequestedLine(quantity=1, reason="damaged", sku="NOPE"),
    svc.RequestedLine(quantity=1, reason="damaged", order_line_id=987654),
])
def test_bad_lines_are_refused_and_store_nothing(container: Container, line: svc.RequestedLine) -> None:
    add_order(container)
    before = row_counts(container.engine)
    with pytest.raises(InvalidInput):
        request(container, line)
    assert row_counts(container.engine) == before


def test_the_full_loop_refunds_exactly_what_was_paid_and_restocks_at_the_receiving_center(
        container: Container) -> None:
    order = add_order(container)
    a, b = line_ids(order)
    rma = request(container, svc.RequestedLine(quantity=2, reason="damaged", order_line_id=a),
                  svc.RequestedLine(quantity=1, reason="wrong_size", order_line_id=b))
    line_a, line_b = (line.id or 0 for line in rma.lines)
    svc.issue_label(container.uow, rma.number, actor="staff:t", return_center_code="RC-UK-01")
    svc.record_scan(container.uow, rma.number, scan="in_transit", actor="carrier:t")
    # the parcel is redirected: it arrives at Venlo, not at the center on the label
    svc.receive(container.uow, rma.number, quantities={line_a: 2, line_b: 1}, return_center_code="RC-EU-01",
                actor="staff:t")
    svc.inspect_line(container.uow, rma.number, line_id=line_a, grade="A", actor="staff:t")
    done = svc.inspect_line(container.uow, rma.number, line_id=line_b, grade="C", actor="staff:t")
    assert done.status == S.INSPECTED
    refunded = svc.refund(container.uow, rma.number, actor="staff:t", reference="PSP-1")
    assert refunded.status == S.SETTLED
    assert refunded.refund_total == D("45.50")  # 20.00 + 25.50
    with container.uow() as uow:
        assert uow.repo.stock_level("SKU-A", "RC-EU-01") == 2
        assert uow.repo.stock_level("SKU-A", "RC-UK-01") == 0
        assert uow.repo.stock_level("SKU-B", "RC-EU-01") == 0  # graded C: liquidated, not restocked
    stored = svc.get_rma(container.uow, rma.number)
    assert [(line.refunded_amount, str(line.disposition)) for line in stored.lines] == [
        (D("20.00"), "restock"), (D("25.50"), "liquidate")]
    assert stored.refund_total == D("45.50")
    for earlier, later in zip(stored.events, stored.events[1:]):
        assert later.from_status == earlier.to_status


def test_refunding_twice_is_illegal_and_refunds_once(container: Container) -> None:
    order = add_order(container)
    rma = request(container, svc.RequestedLine(quantity=1, reason="damaged", order_line_id=line_ids(order)[1]))
    line = rma.lines[0].id or 0
    svc.receive(container.uow, rma.number, quantities={line: 1}, return_center_code="RC-UK-01", actor="s")
    svc.inspect_line(container.uow, rma.number, line_id=line, grade="B", actor="s")
    svc.refund(container.uow, rma.number, actor="s")
    before = row_counts(container.engine)
    with pytest.raises(IllegalTransition):
        svc.refund(container.uow, rma.number, actor="s")
    assert row_counts(container.engine) == before
    with container.engine.connect() as conn:
        names = list(conn.execute(select(t.return_events.c.name)).scalars())
    assert names.count("return.refunded") == 1
    assert svc.get_rma(container.uow, rma.number).refund_total == D("25.50")


def test_partial_returns_of_one_line_refund_exactly_the_line_total(container: Container) -> None:
    # 3 x 33.33 = 99.99. First RMA 1 unit: 33.33; second RMA 2 units: 99.99 - 33.33 = 66.66.
    add_order(container, lines=[("SKU-A", 3, "33.33")])
    totals = []
    for quantity in (1, 2):
        rma = request(container, svc.RequestedLine(quantity=quantity, reason="damaged", sku="SKU-A"))
        line = rma.lines[0].id or 0
        svc.receive(container.uow, rma.number, quantities={line: quantity}, return_center_code="RC-UK-01",
                    actor="s")
        svc.inspect_line(container.uow, rma.number, line_id=line, grade="A", actor="s")
        totals.append(svc.refund(container.uow, rma.number, actor="s").refund_total)
    assert totals == [D("33.33"), D("66.66")]
    assert sum(totals) == D("99.99")


def test_an_unknown_return_center_is_refused_and_changes_nothing(container: Container) -> None:
    add_order(container)
    rma = request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-B"))
    before = row_counts(container.engine)
    with pytest.raises(InvalidInput, match="unknown return center"):
        svc.receive(container.uow, rma.number, quantities={rma.lines[0].id or 0: 1}, return_center_code="RC-XX-99",
                    actor="s")
    with pytest.raises(InvalidInput, match="unknown return center"):
        svc.issue_label(container.uow, rma.number, actor="s", return_center_code="RC-XX-99")
    assert row_counts(container.engine) == before
    assert svc.get_rma(container.uow, rma.number).status == S.AUTHORIZED


def test_an_illegal_action_through_the_service_changes_nothing(container: Container) -> None:
    add_order(container)
    rma = request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-B"))
    before = row_counts(container.engine)
    with pytest.raises(IllegalTransition):
        svc.close(container.uow, rma.number, actor="s")
    with pytest.raises(IllegalTransition):
        svc.inspect_line(container.uow, rma.number, line_id=rma.lines[0].id or 0, grade="A", actor="s")
    assert row_counts(container.engine) == before
    assert svc.get_rma(container.uow, rma.number).status == S.AUTHORIZED


def test_rma_numbers_are_unique_and_sequential_and_a_refused_request_uses_none(container: Container) -> None:
    add_order(container)
    add_order(container, order_number="100002")
    numbers = [request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-A")).number]
    with pytest.raises(QuantityExceedsReturnable):
        request(container, svc.RequestedLine(quantity=5, reason="damaged", sku="SKU-A"))
    numbers.append(request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-A"),
                           order_number="100002").number)
    numbers.append(request(container, svc.RequestedLine(quantity=1, reason="damaged", sku="SKU-B")).number)
    assert numbers == ["RMA-000001", "RMA-000002", "RMA-000003"]


def test_units_that_never_came_back_can_be_returned_again_once_the_rma_is_settled(container: Container) -> None:
    order = add_order(container, lines=[("SKU-A", 5, "10.00")])
    (line_id,) = line_ids(order)
    rma = request(container, svc.RequestedLine(order_line_id=line_id, quantity=3, reason="wrong_size"))
    svc.issue_label(container.uow, rma.number, actor="staff:t")
    rma = svc.receive(container.uow, rma.number, quantities={rma.lines[0].id or 0: 2},
                      return_center_code="RC-UK-01", actor="staff:t")  # complete parcel, one unit short
    svc.inspect_line(container.uow, rma.number, line_id=rma.lines[0].id or 0, grade="A", actor="staff:t")
    assert svc.refund(container.uow, rma.number, actor="staff:t").refund_total == D("20.00")  # 2 x 10.00
    _, returned = svc.find_order(container.uow, order_number="100001", proof=EMAIL)
    # 5 bought, 2 came back and were refunded: 3 can still be returned (the short unit is the customer's)
    assert 5 - returned[line_id] == 3
    again = request(container, svc.RequestedLine(order_line_id=line_id, quantity=3, reason="wrong_size"))
    assert again.lines[0].quantity == 3


def test_the_new_rma_written_with_core_reads_back_field_for_field(container: Container) -> None:
    """``Repository.insert_new_rma`` writes the RMA, lines and events with Core: what the request returned (ids
    included) is what the ORM reads back, every column (defaults as the tables declare them)."""
    add_order(container)
    made = request(container, svc.RequestedLine(quantity=2, reason="damaged", sku="SKU-A", reason_detail="cracked"),
                   svc.RequestedLine(quantity=1, reason="wrong_size", sku="SKU-B"))
    stored = svc.get_rma(container.uow, made.number)
    assert made.id == stored.id and made.id is not None
    assert [line.id for line in made.lines] == [line.id for line in stored.lines]
    assert [e.id for e in made.events] == [e.id for e in stored.events]
    assert sorted(e.id for e in made.events) == [e.id for e in made.events]  # ids in the order recorded
    assert (stored.status, stored.order_number, stored.customer_id, stored.currency, stored.channel) == (
        S.AUTHORIZED, "100001", "C1", "GBP", "api")
    assert stored.refund_total == D("0") and stored.resolution is None and stored.updated_at is not None
    # 2 of 3 units of a 30.00 line = 20.00; the 25.50 line whole
    assert [(l.sku, l.quantity, l.paid_amount, l.reason, l.reason_detail, str(l.reception_status),
             str(l.acceptance_status), l.quantity_received, l.grade, l.restock, l.refunded_amount)
            for l in stored.lines] == [
        ("SKU-A", 2, D("20.00"), "damaged", "cracked", "awaiting", "pending", 0, None, False, D("0")),
        ("SKU-B", 1, D("25.50"), "wrong_size", "", "awaiting", "pending", 0, None, False, D("0"))]
    routed = next(e for e in stored.events if e.name == "return.routed")
    assert routed.data == next(e for e in made.events if e.name == "return.routed").data
    assert routed.data["return_center"] == stored.return_center_code is not None
    with container.engine.connect() as conn:
        rma_ids = set(conn.execute(select(t.return_lines.c.rma_id)).scalars())
        rma_ids |= set(conn.execute(select(t.return_events.c.rma_id)).scalars())
    assert rma_ids == {made.id}


def test_the_core_order_read_matches_the_orm_load(container: Container) -> None:
    """``order_with_customer`` (Core, detached objects) gives the same order and lines as the ORM load."""
    import dataclasses

    add_order(container, lines=[("SKU-B", 1, "25.50"), ("SKU-A", 3, "10.00"), ("POST", 1, "4.95")])
    with container.uow() as uow:
        core, email, tier = uow.repo.order_with_customer("100001")
        orm = uow.repo.order_by_number("100001")
        assert orm is not None and core is not None
        fields = [f.name for f in dataclasses.fields(type(orm)) if f.name != "lines"]
        assert {f: getattr(core, f) for f in fields} == {f: getattr(orm, f) for f in fields}
        line_fields = [f.name for f in dataclasses.fields(type(orm.lines[0]))]
        assert [[getattr(l, f) for f in line_fields] for l in core.lines] == [
            [getattr(l, f) for f in line_fields] for l in orm.lines]
    assert [l.sku for l in core.lines] == ["SKU-B", "SKU-A", "POST"]  # line-number order
    assert (email, tier) == ("ann@example.com", "standard")
    with container.uow() as uow:
        assert uow.repo.order_with_customer("no-such-order") == (None, None, None)
