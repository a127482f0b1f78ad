"""A tester's findings on money (exchanges vs refunds, returnless, claims, previews, policy versions), on
SQLite and PostgreSQL. Every refusal is checked to change nothing (:func:`snapshot`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from returnflow.adapters.db import tables as t
from returnflow.domain.errors import Conflict, InvalidInput
from returnflow.domain.policy import ReturnPolicy
from returnflow.domain.policy_file import parse_policy
from returnflow.domain.statuses import ReturnStatus
from returnflow.services import exchanges, policies, returns, settlement

from tests.money.builders import line, order
from tests.money.store import receive_and_inspect, request, store_order

POLICY = ReturnPolicy()
NO_KEEP_IT = parse_policy('version = "no-keep"\n[fees]\nreturn_shipping_cost = "6.50"\n')
KEEP_IT = parse_policy('version = "keep"\n[fees]\nreturn_shipping_cost = "6.50"\n[keep_it]\nenabled = true\n')


def snapshot(uow_factory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Everything a refused request must leave as it was: row counts, RMA states, money on payments."""
    with uow_factory() as uow:
        s = uow.session
        counts = {table.name: s.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in (t.refunds, t.exchanges, t.stock_movements, t.store_credit_entries, t.outbox,
                                t.return_authorizations, t.return_lines, t.policy_versions)}
        ra = t.return_authorizations.c
        rmas = s.execute(select(ra.number, ra.status, ra.resolution, ra.refund_total).order_by(ra.number)).all()
        paid = s.execute(select(t.payments.c.id, t.payments.c.refunded).order_by(t.payments.c.id)).all()
        return {"counts": counts, "rmas": [tuple(r) for r in rmas], "payments": [tuple(p) for p in paid]}


def catalogue(uow_factory, *rows) -> None:  # type: ignore[no-untyped-def]
    """Products (sku, product group, price, stock at RC1)."""
    with uow_factory() as uow:
        for sku, group, price, stock in rows:
            uow.session.execute(insert(t.products).values(sku=sku, name=sku, product_group=group, price=D(price),
                                                          currency="GBP"))
            if stock:
                uow.session.execute(insert(t.stock_movements).values(sku=sku, location_code="RC1", quantity=stock,
                                                                     reason="initial",
                                                                     occurred_at=datetime.now(UTC)))
        uow.commit()


def stock(uow_factory, sku: str) -> int:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        return int(uow.session.execute(select(func.coalesce(func.sum(t.stock_movements.c.quantity), 0))
                                       .where(t.stock_movements.c.sku == sku)).scalar_one())


def exchange(uow_factory, rma, key: str, sku: str = "TEE-L", quantity: int | None = None):  # type: ignore[no-untyped-def]
    return exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku=sku,
                                      quantity=quantity, idempotency_key=key, actor="staff:a", policy=POLICY)


# -- 1. exchange + refund must not pay twice ------------------------------------------------------
def test_exchanged_units_are_left_out_of_the_refund(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "50.00", 2, sku="TEE-M")), [("card", "100.00")])
    catalogue(uow_factory, ("TEE-M", "TEE", "50.00", 0), ("TEE-L", "TEE", "50.00", 5))
    rma = request(uow_factory, o, {o.lines[0].id: 2}, policy=POLICY)
    exchange(uow_factory, rma, "x1", quantity=1)
    rma = receive_and_inspect(uow_factory, rma)  # both units come back and are accepted
    # 2 units accepted, 1 exchanged -> 1 unit refunded: round(100.00 x 1/2) - round(100.00 x 0/2) = 50.00
    result = settlement.issue_refund(uow_factory, rma.number, idempotency_key="r1", actor="staff:a", policy=POLICY)
    assert (result.total, result.breakdown["units"]) == (D("50.00"), {str(o.lines[0].id): 1})
    assert returns.get_rma(uow_factory, rma.number).refund_total == D("50.00")


def test_a_refund_of_an_rma_whose_units_are_all_exchanged_is_refused_and_settles_as_exchange(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "50.00", 1, sku="TEE-M")), [("card", "50.00")])
    catalogue(uow_factory, ("TEE-M", "TEE", "50.00", 0), ("HOODIE", "HOODIE", "64.99", 5))
    rma = request(uow_factory, o, {o.lines[0].id: 1}, policy=POLICY)
    ex = exchange(uow_factory, rma, "x1", sku="HOODIE")
    assert ex.price_difference == D("14.99")  # 64.99 - 50.00: the customer pays the difference
    rma = receive_and_inspect(uow_factory, rma)
    before = snapshot(uow_factory)
    for resolution in ("refund", "store_credit"):
        with pytest.raises(Conflict, match="given in exchange"):
            settlement.issue_refund(uow_factory, rma.number, idempotency_key=f"r-{resolution}", actor="staff:a",
                                    policy=POLICY, resolution=resolution)
        assert snapshot(uow_factory) == before
    # Settling it (the workflow's settle) records an exchange with no money back: 0.00
    settled = returns.refund(uow_factory, rma.number, actor="staff:a", resolution="refund")
    assert (settled.status, settled.resolution, settled.refund_total) == (ReturnStatus.SETTLED, "exchange", D("0"))
    after = snapshot(uow_factory)
    assert after["counts"]["refunds"] == 0 and after["counts"]["store_credit_entries"] == 0
    assert after["payments"] == before["payments"]  # nothing refunded to the card


# -- 2. one line exchanged again and again --------------------------------------------------------
def test_a_line_is_exchanged_at_most_once_per_unit(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "50.00", 2, sku="TEE-M")), [("card", "100.00")])
    catalogue(uow_factory, ("TEE-M", "TEE", "50.00", 0), ("TEE-L", "TEE", "50.00", 10))
    rma = request(uow_factory, o, {o.lines[0].id: 2}, policy=POLICY)
    first = exchange(uow_factory, rma, "a", quantity=1)
    second = exchange(uow_factory, rma, "b")  # default: the units not yet exchanged, i.e. 1
    assert (first.quantity, second.quantity, stock(uow_factory, "TEE-L")) == (1, 1, 8)  # 10 - 1 - 1
    # value returned per unit: cumulative shares of 100.00 -> 50.00 then 50.00
    assert (first.returned_value, second.returned_value) == (D("50.00"), D("50.00"))
    before = snapshot(uow_factory)
    for key, quantity in (("c", None), ("d", 1)):
        with pytest.raises(Conflict, match="already exchanged"):
            exchange(uow_factory, rma, key, quantity=quantity)
        assert snapshot(uow_factory) == before
    assert exchange(uow_factory, rma, "a", quantity=1).replayed  # a retry of the first is still its answer


def test_an_exchange_of_more_units_than_are_left_is_refused(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "30.00", 3, sku="TEE-M")), [("card", "90.00")])
    catalogue(uow_factory, ("TEE-M", "TEE", "30.00", 0), ("TEE-L", "TEE", "30.00", 10))
    rma = request(uow_factory, o, {o.lines[0].id: 3}, policy=POLICY)
    exchange(uow_factory, rma, "a", quantity=2)
    before = snapshot(uow_factory)
    with pytest.raises(Conflict, match="1 left to exchange"):
        exchange(uow_factory, rma, "b", quantity=2)  # 2 of 3 exchanged: 1 left
    assert snapshot(uow_factory) == before


# -- 4. returnless refund only with keep-it or for a claim ----------------------------------------
def test_a_returnless_refund_without_keep_it_is_refused_and_changes_nothing(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "4.00")), [("card", "4.00")])
    rma = request(uow_factory, o, {o.lines[0].id: 1}, policy=NO_KEEP_IT)
    assert rma.status == ReturnStatus.AUTHORIZED
    before = snapshot(uow_factory)
    with pytest.raises(Conflict, match="keep-it"):
        settlement.issue_refund(uow_factory, rma.number, idempotency_key="k", actor="staff:a", policy=NO_KEEP_IT,
                                returnless=True)
    with pytest.raises(Conflict, match="keep-it"):
        settlement.preview_refund(uow_factory, rma.number, policy=NO_KEEP_IT, returnless=True)
    assert snapshot(uow_factory) == before


def test_a_returnless_refund_follows_the_policy_of_the_rma_not_the_one_passed(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "4.00"), line(2, "40.00")), [("card", "44.00")])
    cheap = request(uow_factory, o, {o.lines[0].id: 1}, policy=KEEP_IT)
    dear = request(uow_factory, o, {o.lines[1].id: 1}, policy=KEEP_IT)
    before = snapshot(uow_factory)
    # 40.00 > 6.50 (label cost): keep-it does not apply, the item must come back
    with pytest.raises(Conflict, match="keep-it"):
        settlement.issue_refund(uow_factory, dear.number, idempotency_key="d", actor="staff:a", policy=POLICY,
                                returnless=True)
    assert snapshot(uow_factory) == before
    # 4.00 <= 6.50: kept, refunded in full without coming back = 4.00
    assert settlement.issue_refund(uow_factory, cheap.number, idempotency_key="c", actor="staff:a", policy=POLICY,
                                   returnless=True).total == D("4.00")


# -- 6. the same order line named twice -----------------------------------------------------------
def test_a_draft_or_a_return_naming_a_line_twice_is_refused(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "10.00", 1)), [("card", "10.00")])
    twice = [policies.DraftLine(order_line_id=o.lines[0].id, quantity=1, reason="size")] * 2
    with pytest.raises(InvalidInput, match="more than once"):
        policies.preview_draft_return(uow_factory, order_number=o.order_number, proof=o.customer_email,
                                      lines=twice, policy=POLICY, at=o.placed_at + timedelta(days=2))
    before = snapshot(uow_factory)
    with pytest.raises(InvalidInput, match="more than once"):
        returns.request_return(uow_factory, order_number=o.order_number, proof=o.customer_email, actor="c",
                               policy=POLICY, at=o.placed_at + timedelta(days=2),
                               lines=[returns.RequestedLine(quantity=1, reason="size", order_line_id=o.lines[0].id),
                                      returns.RequestedLine(quantity=1, reason="size", sku="SKU-1")])
    assert snapshot(uow_factory) == before
