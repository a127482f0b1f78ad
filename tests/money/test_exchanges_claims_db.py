"""Exchanges, claims, keep-it, store credit and policy versions through the services (SQLite + PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.domain.errors import Conflict, InvalidInput
from returnflow.domain.policy import ReturnPolicy
from returnflow.domain.policy_file import parse_policy
from returnflow.domain.statuses import ReturnStatus
from returnflow.services import claims, exchanges, policies, settlement, store_credit

from tests.money.builders import line, order
from tests.money.store import catalogue, receive_and_inspect, request, stock, store_order

POLICY = ReturnPolicy()
INSTANT = parse_policy('version = "i"\n[exchanges]\ninstant = true\nhold_days = 14\n')




def test_another_size_of_the_same_product_costs_nothing_and_reservesstock(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "50.00", sku="TEE-M")), [("card", "50.00")])
    catalogue(uow_factory, ("TEE-M", "TEE", "50.00", 0), ("TEE-L", "TEE", "55.00", 3))
    rma = request(uow_factory, o, {o.lines[0].id: 1}, policy=POLICY)
    result = exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku="TEE-L",
                                        idempotency_key="x1", actor="customer:C1", policy=POLICY)
    assert (result.price_difference, result.status, result.location_code) == (D("0"), "reserved", "RC1")
    assert stock(uow_factory, "TEE-L") == 2  # 3 - 1 reserved
    again = exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku="TEE-L",
                                       idempotency_key="x1", actor="customer:C1", policy=POLICY)
    assert again.replayed and again.exchange_id == result.exchange_id and stock(uow_factory, "TEE-L") == 2


def test_a_different_product_charges_or_refunds_the_price_difference(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "50.00", 2, sku="TEE-M")), [("card", "100.00")])
    catalogue(uow_factory, ("TEE-M", "TEE", "50.00", 0), ("HOODIE", "HOODIE", "64.99", 5), ("CAP", "CAP", "12.50", 5))
    rma = request(uow_factory, o, {o.lines[0].id: 2}, policy=POLICY)
    up = exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku="HOODIE",
                                    quantity=1, idempotency_key="up", actor="c", policy=POLICY)
    down = exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku="CAP",
                                      quantity=1, idempotency_key="down", actor="c", policy=POLICY)
    # 64.99 - 50.00 = 14.99 to pay; 12.50 - 50.00 = -37.50 refunded
    assert (up.price_difference, down.price_difference) == (D("14.99"), D("-37.50"))


def test_an_exchange_for_an_item_out_of_stock_is_refused_and_changes_nothing(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "50.00", sku="TEE-M")))
    catalogue(uow_factory, ("TEE-M", "TEE", "50.00", 0), ("TEE-S", "TEE", "50.00", 0))
    rma = request(uow_factory, o, {o.lines[0].id: 1}, policy=POLICY)
    with pytest.raises(exchanges.OutOfStock, match="TEE-S is out of stock"):
        exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku="TEE-S",
                                   idempotency_key="oos", actor="c", policy=POLICY)
    with uow_factory() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.exchanges)).scalar_one() == 0
        assert uow.session.execute(select(func.count()).select_from(t.outbox)
                                   .where(t.outbox.c.topic == "exchange.requested")).scalar_one() == 0
    assert stock(uow_factory, "TEE-S") == 0


def test_an_instant_exchange_hold_is_charged_when_the_item_never_comes_back(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "50.00", sku="TEE-M")))
    catalogue(uow_factory, ("TEE-M", "TEE", "50.00", 0), ("TEE-L", "TEE", "50.00", 1))
    rma = request(uow_factory, o, {o.lines[0].id: 1}, policy=INSTANT)
    with pytest.raises(InvalidInput, match="not offered"):
        exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku="TEE-L",
                                   idempotency_key="no", actor="c", policy=POLICY, instant=True)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ex = exchanges.request_exchange(uow_factory, rma.number, return_line_id=rma.lines[0].id, new_sku="TEE-L",
                                    idempotency_key="inst", actor="c", policy=INSTANT, instant=True, at=start)
    assert (ex.status, ex.hold_amount, ex.hold_due_at) == ("shipped", D("50.00"), start + timedelta(days=14))
    assert exchanges.charge_overdue_holds(uow_factory, at=start + timedelta(days=13)) == []
    assert exchanges.charge_overdue_holds(uow_factory, at=start + timedelta(days=14)) == [ex.exchange_id]
    assert exchanges.charge_overdue_holds(uow_factory, at=start + timedelta(days=15)) == []  # charged once


def test_a_missing_item_claim_is_refunded_without_a_return_and_a_late_parcel_is_restocked(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "30.00", 2)), [("card", "60.00")])
    result = claims.file_claim(uow_factory, order_number=o.order_number, proof=o.customer_email,
                               lines={o.lines[0].id: 1}, kind="missing", remedy="refund", idempotency_key="c1",
                               actor="customer:C1", policy=POLICY, at=o.placed_at + timedelta(days=3))
    assert (result.rma.status, result.refund.total) == (ReturnStatus.SETTLED, D("30.00"))
    again = claims.file_claim(uow_factory, order_number=o.order_number, proof=o.customer_email,
                              lines={o.lines[0].id: 1}, kind="missing", remedy="refund", idempotency_key="c1",
                              actor="customer:C1", policy=POLICY)
    assert again.replayed and again.rma.number == result.rma.number
    late = claims.receive_late_parcel(uow_factory, result.rma.number, quantities={result.rma.lines[0].id: 1},
                                      return_center_code="RC1", actor="staff:w")
    assert (late.status, late.refund_total, late.lines[0].quantity_received) == (ReturnStatus.SETTLED, D("30.00"), 1)
    assert stock(uow_factory, "SKU-1") == 1
    with uow_factory() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.refunds)).scalar_one() == 1


def test_a_damaged_item_can_be_replaced(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "30.00", sku="MUG")))
    catalogue(uow_factory, ("MUG", "MUG", "30.00", 4))
    result = claims.file_claim(uow_factory, order_number=o.order_number, proof=o.customer_email,
                               lines={o.lines[0].id: 1}, kind="damaged", remedy="replacement", idempotency_key="rep",
                               actor="c", policy=POLICY, photos=1, at=o.placed_at + timedelta(days=2))
    assert (result.rma.status, result.rma.resolution, result.replacement.price_difference) == \
        (ReturnStatus.SETTLED, "exchange", D("0"))
    assert stock(uow_factory, "MUG") == 3


def test_keep_it_refunds_a_cheap_item_without_it_coming_back(uow_factory) -> None:  # type: ignore[no-untyped-def]
    policy = parse_policy('version = "k"\n[fees]\nreturn_shipping_fee = "3.00"\nreturn_shipping_cost = "6.50"\n'
                          '[keep_it]\nenabled = true\n')
    o = store_order(uow_factory, order(line(1, "4.00")), [("card", "4.00")])
    rma = request(uow_factory, o, {o.lines[0].id: 1}, policy=policy)
    assert "keep the item" in rma.decision
    # 4.00 <= 6.50: returnless, no label fee -> 4.00
    result = settlement.issue_refund(uow_factory, rma.number, idempotency_key="keep", actor="system", policy=policy,
                                     returnless=True)
    assert result.total == D("4.00")


def test_store_credit_is_spent_and_expires_by_the_ledger(uow_factory) -> None:  # type: ignore[no-untyped-def]
    store_order(uow_factory, order(line(1, "1.00")))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    store_credit.issue_credit(uow_factory, customer_id="C1", currency="GBP", amount=D("20.00"), idempotency_key="g1",
                              expires_in_days=30, at=t0)
    store_credit.issue_credit(uow_factory, customer_id="C1", currency="GBP", amount=D("10.00"), idempotency_key="g2",
                              at=t0)
    assert store_credit.issue_credit(uow_factory, customer_id="C1", currency="GBP", amount=D("20.00"),
                                     idempotency_key="g1", at=t0).replayed
    with pytest.raises(Conflict):
        store_credit.issue_credit(uow_factory, customer_id="C1", currency="GBP", amount=D("5.00"),
                                  idempotency_key="g1")
    store_credit.spend_credit(uow_factory, customer_id="C1", currency="GBP", amount=D("15.00"), reference="ORD-9",
                              at=t0 + timedelta(days=1))
    with pytest.raises(InvalidInput, match="balance is 15.00"):
        store_credit.spend_credit(uow_factory, customer_id="C1", currency="GBP", amount=D("15.01"), reference="x")
    # the 15.00 spent came from the expiring 20.00 first: 5.00 of it expires on day 30, the 10.00 stays
    assert store_credit.expire_credit(uow_factory, at=t0 + timedelta(days=31)) == 1
    assert store_credit.expire_credit(uow_factory, at=t0 + timedelta(days=32)) == 0
    assert store_credit.credit_balance(uow_factory, customer_id="C1", currency="GBP") == D("10.00")


def test_a_new_policy_version_decides_new_returns_and_old_ones_keep_theirs(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "100.00"), line(2, "100.00")), [("card", "200.00")])
    start = policies.load_policy_file()  # the file loaded at start decides the first return
    first = request(uow_factory, o, {o.lines[0].id: 1}, policy=start)
    text = 'version = "2026-12"\n[fees]\nreturn_shipping_fee = "7.00"\n'
    policies.put_policy(uow_factory, source=text, actor="staff:admin")
    assert policies.put_policy(uow_factory, source=text, actor="staff:admin").version == "2026-12"  # idempotent
    with pytest.raises(Conflict):
        policies.put_policy(uow_factory, source=text + "[window]\ndays = 10\n", actor="staff:admin")
    active = policies.active_policy(uow_factory, default=POLICY)
    second = request(uow_factory, o, {o.lines[1].id: 1}, policy=active)
    assert (first.policy_version, second.policy_version) == ("default-1", "2026-12")
    for rma in (first, second):
        receive_and_inspect(uow_factory, rma)
    # the first RMA was decided by default-1 (free returns): 100.00; the second by 2026-12: 100.00 - 7.00
    assert settlement.issue_refund(uow_factory, first.number, idempotency_key="f", actor="s", policy=active).total \
        == D("100.00")
    assert settlement.issue_refund(uow_factory, second.number, idempotency_key="s", actor="s", policy=active).total \
        == D("93.00")


def test_a_draft_return_previews_eligibility_and_the_same_refund_that_is_issued(uow_factory) -> None:  # type: ignore[no-untyped-def]
    policy = parse_policy('version = "p"\n[fees]\nreturn_shipping_fee = "2.50"\nrestocking_fee = { percent = "10" }\n'
                          '[store_credit]\nbonus_percent = "5"\n')
    o = store_order(uow_factory, order(line(1, "40.00", 2, tax_rate="0.20")), [("card", "96.00")])
    preview = policies.preview_draft_return(
        uow_factory, order_number=o.order_number, proof=o.customer_email, policy=policy,
        lines=[policies.DraftLine(order_line_id=o.lines[0].id, quantity=1, reason="wrong_size")],
        at=o.placed_at + timedelta(days=3))
    # one unit: 48.00 paid (40 + 8 tax); fee 4.00 + tax kept 0.80; label 2.50 -> 48 - 4.80 - 2.50 = 40.70
    # store credit bonus 5 % of 40.70 = 2.035 -> 2.04
    assert (preview.decision.verdict, preview.quote.total, preview.store_credit_bonus) == \
        ("eligible", D("40.70"), D("2.04"))
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=policy, days_after=3))
    assert settlement.issue_refund(uow_factory, rma.number, idempotency_key="i", actor="s", policy=policy).total \
        == preview.quote.total
