"""The refund properties through the services and a real database (SQLite and PostgreSQL): random orders
with several payments, returned in random batches, refund exactly what was paid in the end."""

from __future__ import annotations

import itertools
from decimal import ROUND_CEILING, Decimal as D

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from returnflow.adapters.db import tables as t
from returnflow.domain.money import quantum, round_money
from returnflow.domain.policy_file import parse_policy
from returnflow.domain.pricing import order_total
from returnflow.services import settlement

from tests.money.store import receive_and_inspect, request, store_order
from tests.money.test_refund_properties import orders, sequences

POLICY = parse_policy('version = "prop"\n[window]\ndays = 3650\n[refunds]\nshipping = "full_return"\n'
                      'payment_order = ["card", "gift_card", "store_credit"]\n')
_numbers = itertools.count(1)
METHODS = ["card", "gift_card", "store_credit"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(data=st.data())
def test_random_orders_returned_in_random_batches_refund_what_was_paid(uow_factory, data) -> None:  # type: ignore[no-untyped-def]
    o, payments = data.draw(orders())
    batches = data.draw(sequences(o))
    o.order_number = f"P-{next(_numbers)}"
    old_ids = [l.id for l in o.lines]
    o = store_order(uow_factory, o, [(METHODS[i % 3], str(p)) for i, p in enumerate(payments)])
    new_id = dict(zip(old_ids, (l.id for l in o.lines)))
    total = D(0)
    for n, batch in enumerate(batches):
        rma = receive_and_inspect(uow_factory, request(uow_factory, o, {new_id[i]: u for i, u in batch},
                                                       policy=POLICY))
        result = settlement.issue_refund(uow_factory, rma.number, idempotency_key=f"{o.order_number}-{n}",
                                         actor="s", policy=POLICY)
        assert result.total >= 0 and result.total == round_money(result.total, o.currency)
        assert sum((p.amount for p in result.payments), D(0)) + result.store_credit - sum(
            (p.amount for p in result.payments if p.method == "store_credit"), D(0)) == result.total
        total += result.total
        assert total <= round_money(sum(payments, D(0)), o.currency)
    assert total == order_total(o) == round_money(sum(payments, D(0)), o.currency)
    with uow_factory() as uow:
        rows = uow.session.execute(select(t.payments.c.amount, t.payments.c.refunded)
                                   .where(t.payments.c.order_id == o.id)).all()
    # a capture with extra precision (33.334) may take back its amount rounded up (33.34), never more
    assert all(D(refunded) <= D(amount).quantize(quantum(o.currency), rounding=ROUND_CEILING)
               for amount, refunded in rows)
    assert sum((D(r) for _, r in rows), D(0)) == total  # every unit back: all of it to the payments
