"""Refunds issued through the services on SQLite and PostgreSQL; values worked out by hand."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.domain.errors import Conflict, IllegalTransition, QuantityExceedsReturnable
from returnflow.domain.policy_file import parse_policy
from returnflow.domain.policy import ReturnPolicy
from returnflow.services import settlement, store_credit

from tests.money.builders import line, order
from tests.money.store import receive_and_inspect, request, store_order

POLICY = ReturnPolicy()
FEES = parse_policy('''
version = "fees-1"
[fees]
return_shipping_fee = "5.00"
restocking_fee = { percent = "10" }
[refunds]
shipping = "full_return"
[store_credit]
bonus_percent = "10"
[[reasons]]
code = "size"
label = "Does not fit"
[[reasons]]
code = "damaged"
label = "Arrived damaged"
free_return = true
''')


def _count(uow_factory, table) -> int:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        return int(uow.session.execute(select(func.count()).select_from(table)).scalar_one())


def _refunded(uow_factory, order_id: int) -> list[tuple[str, D]]:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        return [(m, D(r)) for m, r in uow.session.execute(select(t.payments.c.method, t.payments.c.refunded)
                .where(t.payments.c.order_id == order_id).order_by(t.payments.c.id))]


def test_only_the_two_received_units_of_three_are_refunded(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "89.99", 3)), [("card", "269.97")])
    rma = request(uow_factory, o, {o.lines[0].id: 3}, policy=POLICY)
    receive_and_inspect(uow_factory, rma, {o.lines[0].id: 2})
    result = settlement.issue_refund(uow_factory, rma.number, idempotency_key="k1", actor="staff:a", policy=POLICY)
    assert result.total == D("179.98")  # 2 x 89.99
    assert _refunded(uow_factory, o.id) == [("card", D("179.98"))]


def test_a_second_return_offers_only_the_units_not_yet_returned(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "10.00", 5)))
    request(uow_factory, o, {o.lines[0].id: 2}, policy=POLICY)
    with pytest.raises(QuantityExceedsReturnable, match="only 3 of the 5"):
        request(uow_factory, o, {o.lines[0].id: 4}, policy=POLICY)
    assert _count(uow_factory, t.return_authorizations) == 1  # the refused request stored nothing
    assert request(uow_factory, o, {o.lines[0].id: 3}, policy=POLICY).lines[0].quantity == 3


def test_a_paid_label_costs_five_unless_the_reason_is_the_merchants_fault(uow_factory) -> None:  # type: ignore[no-untyped-def]
    policy = parse_policy(FEES.source.replace('restocking_fee = { percent = "10" }', ""))
    a = store_order(uow_factory, order(line(1, "100.00"), number="A"), [("card", "100.00")])
    b = store_order(uow_factory, order(line(1, "100.00"), number="B"), [("card", "100.00")])
    rma_a = receive_and_inspect(uow_factory, request(uow_factory, a, {a.lines[0].id: 1}, policy=policy, reason="size"))
    rma_b = receive_and_inspect(uow_factory, request(uow_factory, b, {b.lines[0].id: 1}, policy=policy,
                                                     reason="damaged", photos=1))
    # 100.00 - 5.00 label = 95.00 ; damaged: free return -> 100.00
    assert settlement.issue_refund(uow_factory, rma_a.number, idempotency_key="a", actor="s", policy=policy).total \
        == D("95.00")
    assert settlement.issue_refund(uow_factory, rma_b.number, idempotency_key="b", actor="s", policy=policy).total \
        == D("100.00")


def test_a_retried_refund_request_issues_one_refund(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "40.00")), [("card", "40.00")])
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=POLICY))
    first = settlement.issue_refund(uow_factory, rma.number, idempotency_key="dbl", actor="s", policy=POLICY)
    again = settlement.issue_refund(uow_factory, rma.number, idempotency_key="dbl", actor="s", policy=POLICY)
    assert (first.total, first.replayed, again.total, again.replayed) == (D("40.00"), False, D("40.00"), True)
    assert again.refund_id == first.refund_id
    assert _count(uow_factory, t.refunds) == 1
    assert _refunded(uow_factory, o.id) == [("card", D("40.00"))]
    with pytest.raises(Conflict):  # the same key for another request
        settlement.issue_refund(uow_factory, rma.number, idempotency_key="dbl", actor="s", policy=POLICY,
                                resolution="store_credit")
    with pytest.raises(IllegalTransition):  # a new key cannot refund a settled RMA again
        settlement.issue_refund(uow_factory, rma.number, idempotency_key="other", actor="s", policy=POLICY)
    assert _count(uow_factory, t.refunds) == 1


def test_a_double_click_racing_in_two_threads_issues_one_refund(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "25.00")), [("card", "25.00")])
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=POLICY))
    results, errors = [], []

    def click() -> None:
        try:
            results.append(settlement.issue_refund(uow_factory, rma.number, idempotency_key="click", actor="s",
                                                   policy=POLICY))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(r.replayed for r in results) == [False, True]
    assert {r.total for r in results} == {D("25.00")}
    assert _count(uow_factory, t.refunds) == 1
    assert _refunded(uow_factory, o.id) == [("card", D("25.00"))]


def test_refunds_go_to_card_then_gift_card_then_store_credit(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "70.00"), line(2, "30.00")),
                    [("gift_card", "30.00"), ("store_credit", "20.00"), ("card", "50.00")])
    first = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=POLICY))
    r1 = settlement.issue_refund(uow_factory, first.number, idempotency_key="p1", actor="s", policy=POLICY)
    # 70.00: card 50.00 first, then gift card 20.00
    assert [(p.method, p.amount) for p in r1.payments] == [("card", D("50.00")), ("gift_card", D("20.00"))]
    second = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[1].id: 1}, policy=POLICY))
    r2 = settlement.issue_refund(uow_factory, second.number, idempotency_key="p2", actor="s", policy=POLICY)
    # 30.00: gift card's last 10.00, then 20.00 back to store credit
    assert [(p.method, p.amount) for p in r2.payments] == [("gift_card", D("10.00")), ("store_credit", D("20.00"))]
    assert r2.store_credit == D("20.00")
    assert store_credit.credit_balance(uow_factory, customer_id="C1", currency="GBP") == D("20.00")


def test_store_credit_with_a_ten_percent_bonus_lands_in_the_ledger(uow_factory) -> None:  # type: ignore[no-untyped-def]
    policy = parse_policy(FEES.source.replace('restocking_fee = { percent = "10" }', ""))
    o = store_order(uow_factory, order(line(1, "80.00")), [("card", "80.00")])
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=policy,
                                                   reason="damaged", photos=1))
    result = settlement.issue_refund(uow_factory, rma.number, idempotency_key="sc", actor="s", policy=policy,
                                     resolution="store_credit")
    # free return (damaged): 80.00; bonus 10 % = 8.00; credit 88.00; the card is untouched
    assert (result.total, result.bonus, result.store_credit) == (D("80.00"), D("8.00"), D("88.00"))
    assert store_credit.credit_balance(uow_factory, customer_id="C1", currency="GBP") == D("88.00")
    assert _refunded(uow_factory, o.id)[0][1] == 0


def test_a_restocking_fee_on_a_taxed_item_also_keeps_back_its_share_of_tax(uow_factory) -> None:  # type: ignore[no-untyped-def]
    policy = parse_policy(FEES.source.replace('return_shipping_fee = "5.00"', ""))
    o = store_order(uow_factory, order(line(1, "100.00", tax_rate="0.20"), line(2, "10.00")), [("card", "130.00")])
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=policy))
    quote = settlement.preview_refund(uow_factory, rma.number, policy=policy).quote
    # paid 100 + 20 % = 120.00; fee 10 % of 100 = 10.00; tax refunded 20 x 90/100 = 18.00; refund 90 + 18 = 108.00
    assert (quote.total, quote.tax_refunded, quote.restocking_fees) == (D("108.00"), D("18.00"), D("12.00"))
    assert settlement.issue_refund(uow_factory, rma.number, idempotency_key="r", actor="s", policy=policy).total \
        == D("108.00")


def test_the_shipping_charge_is_refunded_with_the_return_that_brings_everything_back(uow_factory) -> None:  # type: ignore[no-untyped-def]
    from returnflow.domain.orders import LineKind
    policy = parse_policy('version = "s"\n[refunds]\nshipping = "full_return"\n')
    o = store_order(uow_factory, order(line(1, "20.00", 2), line(2, "4.99", kind=LineKind.SHIPPING)),
                    [("card", "44.99")])
    first = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=policy))
    second = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=policy))
    # first unit: 20.00; second unit completes the return: 20.00 + shipping 4.99 = 24.99; total 44.99 paid
    assert settlement.issue_refund(uow_factory, first.number, idempotency_key="1", actor="s", policy=policy).total \
        == D("20.00")
    assert settlement.issue_refund(uow_factory, second.number, idempotency_key="2", actor="s", policy=policy).total \
        == D("24.99")


def test_captured_amounts_with_extra_precision_refund_exactly_what_was_paid(uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = store_order(uow_factory, order(line(1, "100.00")),
                    [("card", "33.333"), ("card", "33.333"), ("card", "33.334")])
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 1}, policy=POLICY))
    result = settlement.issue_refund(uow_factory, rma.number, idempotency_key="x", actor="s", policy=POLICY)
    # captured 33.333 + 33.333 + 33.334 = 100.000; cumulative: round(33.333)=33.33, round(66.666)-33.33=33.34,
    # round(100.000)-66.67=33.33 -> 100.00 all back to the cards, nothing to store credit
    assert [p.amount for p in result.payments] == [D("33.33"), D("33.34"), D("33.33")]
    assert (result.total, result.store_credit) == (D("100.00"), D("0"))


def test_the_original_refund_use_case_goes_through_the_same_calculator_once(uow_factory) -> None:  # type: ignore[no-untyped-def]
    from returnflow.services import returns
    o = store_order(uow_factory, order(line(1, "15.00", 2)), [("card", "30.00")])
    rma = receive_and_inspect(uow_factory, request(uow_factory, o, {o.lines[0].id: 2}, policy=POLICY), {o.lines[0].id: 1})
    settled = returns.refund(uow_factory, rma.number, actor="staff:a")
    assert (settled.status, settled.refund_total) == ("settled", D("15.00"))  # one of two units received
    with pytest.raises(IllegalTransition):
        returns.refund(uow_factory, rma.number, actor="staff:a")
    assert _refunded(uow_factory, o.id) == [("card", D("15.00"))] and _count(uow_factory, t.refunds) == 1
