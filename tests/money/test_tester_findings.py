"""A tester's findings on money (exchanges vs refunds, returnless, claims, previews, policy versions), on
SQLite and PostgreSQL. Every refusal is checked to change nothing (:func:`snapshot`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.domain.errors import Conflict, InvalidInput, NotFound
from returnflow.domain.policy import ReturnPolicy
from returnflow.domain.policy_file import parse_policy
from returnflow.domain.statuses import ReturnStatus
from returnflow.services import exchanges, policies, returns, settlement
from tests.money.builders import line, order
from tests.money.store import catalogue, receive_and_inspect, request, stock, store_order

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
    assert (settled.status, settled.resolution, settled.refund_total) == (ReturnStatus.SETTLED, "exchange", D(0))
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
    twice = [policies.DraftLine(order_line_id=o.lines[0].id, quantity=1, reason="wrong_size")] * 2
    with pytest.raises(InvalidInput, match="more than once"):
        policies.preview_draft_return(uow_factory, order_number=o.order_number, proof=o.customer_email,
                                      lines=twice, policy=POLICY, at=o.placed_at + timedelta(days=2))
    before = snapshot(uow_factory)
    with pytest.raises(InvalidInput, match="more than once"):
        returns.request_return(uow_factory, order_number=o.order_number, proof=o.customer_email, actor="c",
                               policy=POLICY, at=o.placed_at + timedelta(days=2),
                               lines=[returns.RequestedLine(quantity=1, reason="wrong_size", order_line_id=o.lines[0].id),
                                      returns.RequestedLine(quantity=1, reason="wrong_size", sku="SKU-1")])
    assert snapshot(uow_factory) == before


# -- over HTTP: claims (3, 5), the draft preview (6), the active policy (7) -------------------------
ADMIN = {"X-API-Key": "rf_test_admin"}
TEXT = {**ADMIN, "Content-Type": "text/plain"}
CLAIMS_POLICY = ('version = "claims-1"\n'
                 '[[reasons]]\ncode = "damaged"\nlabel = "Arrived damaged"\nphoto_required = true\nfree_return = true\n'
                 '[[reasons]]\ncode = "missing"\nlabel = "Never arrived"\n'
                 '[[reasons]]\ncode = "size"\nlabel = "Does not fit"\n')


@pytest.fixture
def client(engine, uow_factory):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from returnflow.bootstrap import Container, Settings
    from returnflow.services import access
    from returnflow.web import api_money
    from returnflow.web.app import create_app

    container = Container(Settings(database_url=engine.url.render_as_string(hide_password=False)))
    with uow_factory() as uow:
        access.create_api_key(uow, name="admin", scopes=["admin"], key="rf_test_admin")
        uow.commit()
    app = create_app(container)
    app.include_router(api_money.router)
    with TestClient(app) as test_client:
        yield test_client


def recent_order(uow_factory, *lines, payments=(), days_ago: int = 3):  # type: ignore[no-untyped-def]
    draft = order(*lines)
    draft.placed_at = datetime.now(UTC) - timedelta(days=days_ago)  # requests are dated now: inside the window
    return store_order(uow_factory, draft, payments)


def test_a_public_claims_photo_count_is_not_trusted_and_a_reviewed_claim_is_settled_with_its_remedy(
        client, uow_factory) -> None:  # type: ignore[no-untyped-def]
    assert client.put("/api/v1/policy", content=CLAIMS_POLICY, headers=TEXT).status_code == 200
    o = recent_order(uow_factory, line(1, "30.00", 2), payments=[("card", "60.00")])
    body = {"order_number": o.order_number, "email": o.customer_email, "lines": {str(o.lines[0].id): 1},
            "kind": "damaged", "remedy": "refund", "photos": 3}
    # A customer says "3 photos" but cannot upload any: the photo check counts 0 -> review, no money.
    filed = client.post("/api/v1/claims", json=body, headers={"Idempotency-Key": "c1"})
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    assert (claim["status"], claim["remedy"], claim["refund"]) == ("in_review", "refund", None)
    assert "a photo is needed" in claim["decision"]
    number = claim["rma_number"]
    settle = f"/api/v1/claims/{number}/settle"
    before = snapshot(uow_factory)
    # Still in review: settling is refused (409) and changes nothing.
    refused = client.post(settle, headers={**ADMIN, "Idempotency-Key": "s0"})
    assert refused.status_code == 409
    assert snapshot(uow_factory) == before
    assert client.post(settle, headers={"Idempotency-Key": "s-anon"}).status_code == 401
    assert client.post(f"/api/v1/returns/{number}/authorize", json={"note": "photo received by email"},
                       headers=ADMIN).status_code == 200
    done = client.post(settle, headers={**ADMIN, "Idempotency-Key": "s1"})
    assert done.status_code == 200, done.text
    # 1 of 2 units at 30.00 each: round(60.00 x 1/2) = 30.00; damaged is a free return: no fee -> 30.00 to the card
    assert (done.json()["status"], done.json()["refund"]["total"]) == ("settled", "30.00")
    assert done.json()["refund"]["payments"][0]["amount"] == "30.00"
    rma = client.get(f"/api/v1/returns/{number}", headers=ADMIN).json()
    assert [l["acceptance_status"] for l in rma["lines"]] == ["accepted"]
    assert client.post(settle, headers={**ADMIN, "Idempotency-Key": "s1"}).json() == done.json()  # a retry
    after = snapshot(uow_factory)
    assert client.post(settle, headers={**ADMIN, "Idempotency-Key": "s2"}).status_code == 409  # settled once
    assert snapshot(uow_factory) == after
    # Staff who saw the photos may state them: approved at once, refunded: 30.00 (the other unit)
    staff = client.post("/api/v1/claims", json={**body, "photos": 1}, headers={**ADMIN, "Idempotency-Key": "c2"})
    assert (staff.json()["status"], staff.json()["refund"]["total"]) == ("settled", "30.00")


def test_a_reviewed_replacement_claim_is_settled_as_an_exchange(uow_factory) -> None:  # type: ignore[no-untyped-def]
    from returnflow.services import claims

    policy = parse_policy(CLAIMS_POLICY)
    o = store_order(uow_factory, order(line(1, "30.00", sku="MUG")), [("card", "30.00")])
    catalogue(uow_factory, ("MUG", "MUG", "30.00", 4))
    filed = claims.file_claim(uow_factory, order_number=o.order_number, proof=o.customer_email,
                              lines={o.lines[0].id: 1}, kind="damaged", remedy="replacement", idempotency_key="c",
                              actor="customer:c1", policy=policy, at=o.placed_at + timedelta(days=2))
    assert (filed.rma.status, filed.rma.claim_remedy) == (ReturnStatus.IN_REVIEW, "replacement")
    before = snapshot(uow_factory)
    with pytest.raises(Exception, match="in_review"):
        claims.settle_reviewed_claim(uow_factory, filed.rma.number, idempotency_key="s", actor="staff:a",
                                     policy=policy)
    assert snapshot(uow_factory) == before
    returns.authorize(uow_factory, filed.rma.number, actor="staff:a")
    done = claims.settle_reviewed_claim(uow_factory, filed.rma.number, idempotency_key="s", actor="staff:a",
                                        policy=policy)
    # same SKU: price difference 0.00, one mug reserved (4 -> 3), no money moves
    assert (done.rma.status, done.rma.resolution, done.rma.refund_total) == (ReturnStatus.SETTLED, "exchange", D(0))
    assert (done.replacement.price_difference, stock(uow_factory, "MUG")) == (D(0), 3)
    assert done.rma.lines[0].acceptance_status == "accepted"
    again = claims.settle_reviewed_claim(uow_factory, filed.rma.number, idempotency_key="s", actor="staff:a",
                                         policy=policy)
    assert again.replacement.replayed and stock(uow_factory, "MUG") == 3


def test_the_draft_preview_refuses_a_line_named_twice(client, uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = recent_order(uow_factory, line(1, "10.00", 1), payments=[("card", "10.00")])
    one = {"order_line_id": o.lines[0].id, "quantity": 1, "reason": "wrong_size"}
    body = {"order_number": o.order_number, "email": o.customer_email, "lines": [one, one]}
    answer = client.post("/api/v1/returns/preview", json=body)
    # 1 bought; asked twice as 1 + 1 it quoted 20.00 before
    assert answer.status_code == 422 and "more than once" in answer.text
    assert client.post("/api/v1/returns/preview", json={**body, "lines": [one]}).json()["refund"]["total"] == "10.00"
    before = snapshot(uow_factory)
    created = client.post("/api/v1/returns", json={"order_number": o.order_number, "email": o.customer_email,
                                                   "lines": [one, one]})
    assert created.status_code == 422 and snapshot(uow_factory) == before


def test_new_returns_use_the_active_stored_policy_and_an_old_version_can_be_put_back(client, uow_factory) -> None:  # type: ignore[no-untyped-def]
    o = recent_order(uow_factory, line(1, "20.00"), line(2, "20.00"), line(3, "20.00"),
                     payments=[("card", "60.00")])
    v1 = 'version = "v1"\n[fees]\nreturn_shipping_fee = "1.00"\n'
    v2 = 'version = "v2"\n[fees]\nreturn_shipping_fee = "5.00"\n'

    def create(line_id: int) -> dict[str, Any]:
        answer = client.post("/api/v1/returns", json={"order_number": o.order_number, "email": o.customer_email,
                                                      "lines": [{"order_line_id": line_id, "quantity": 1,
                                                                 "reason": "wrong_size"}]})
        assert answer.status_code == 201, answer.text
        return answer.json()

    for text in (v1, v2):
        assert client.put("/api/v1/policy", content=text, headers=TEXT).json() == {
            "version": text[11:13], "active": True}
    assert create(o.lines[0].id)["policy_version"] == "v2"
    # Rollback: the text of v1 again makes v1 active (no new row, one more activation)
    assert client.put("/api/v1/policy", content=v1, headers=TEXT).status_code == 200
    assert client.get("/api/v1/policy").json()["version"] == "v1"
    versions = client.get("/api/v1/policy/versions", headers=ADMIN).json()
    assert [(v["version"], v["active"]) for v in versions] == [("v1", True), ("v2", False)]
    second = create(o.lines[1].id)
    assert second["policy_version"] == "v1"
    # v1's other rules under the same label are still refused (409) and change nothing
    before = snapshot(uow_factory)
    assert client.put("/api/v1/policy", content=v1 + "[window]\ndays = 10\n", headers=TEXT).status_code == 409
    assert snapshot(uow_factory) == before
    # the refund fallback follows the RMA's version: v1 deducts 1.00 -> 20.00 - 1.00 = 19.00
    receive_and_inspect(uow_factory, returns.get_rma(uow_factory, second["number"]))
    preview = client.get(f"/api/v1/returns/{second['number']}/refund-preview", headers=ADMIN).json()
    assert (preview["quote"]["return_shipping_fee"], preview["total"]) == ("1.00", "19.00")


def test_a_claim_key_never_replays_anothers_rma_and_a_read_key_cannot_file_claims(
        client, uow_factory) -> None:  # type: ignore[no-untyped-def]
    from returnflow.services import access, claims

    assert client.put("/api/v1/policy", content=CLAIMS_POLICY, headers=TEXT).status_code == 200
    ann = recent_order(uow_factory, line(1, "30.00", 2), payments=[("card", "60.00")])
    draft = order(line(1, "12.00", 1), number="ORD-2")
    draft.id, draft.customer_id, draft.customer_email = None, "C2", "c2@example.com"
    draft.placed_at = datetime.now(UTC) - timedelta(days=3)
    bob = store_order(uow_factory, draft, [("card", "12.00")])
    body = {"order_number": ann.order_number, "email": ann.customer_email, "lines": {str(ann.lines[0].id): 1},
            "kind": "missing", "remedy": "refund"}
    # an agent files ann's claim with key K (the HTTP replay store keeps answers per caller: staff here)
    first = client.post("/api/v1/claims", json=body, headers={**ADMIN, "Idempotency-Key": "K"})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "settled"  # "missing" needs no photo under this policy: refunded at once
    number = first.json()["rma_number"]
    before = snapshot(uow_factory)
    # other callers (the HTTP replay store tells callers apart by their credential header), with the same key,
    # for another order or a made-up one: refused by the claim service, ann's RMA not revealed
    # (a stranger's made-up order: the proof is checked first, 404; bob proves his own order: the key is refused)
    for caller, other, status in (
            ("bob", {"order_number": bob.order_number, "email": bob.customer_email,
                     "lines": {str(bob.lines[0].id): 1}, "kind": "missing", "remedy": "refund"}, 422),
            ("eve", {**body, "order_number": "x", "email": "a@b.c"}, 404)):
        answer = client.post("/api/v1/claims", json=other,
                             headers={"Idempotency-Key": "K", "X-Customer-Token": caller})
        assert answer.status_code == status and number not in answer.text, answer.text
    # ann's order with a wrong email and the same key (service level): not found, nothing revealed
    with pytest.raises(NotFound):
        claims.file_claim(uow_factory, order_number=ann.order_number, proof="eve@example.com",
                          lines={ann.lines[0].id: 1}, kind="missing", remedy="refund", idempotency_key="K",
                          actor=None, policy=parse_policy(CLAIMS_POLICY))
    assert snapshot(uow_factory) == before
    # ann herself, same key: the first claim's answer; the same key for another claim of hers: refused
    again = client.post("/api/v1/claims", json=body, headers={"Idempotency-Key": "K"})
    assert (again.json()["replayed"], again.json()["rma_number"]) == (True, number)
    other_claim = client.post("/api/v1/claims", json={**body, "kind": "damaged", "remedy": "store_credit"},
                              headers={"Idempotency-Key": "K", "X-Customer-Token": "ann-phone"})
    assert other_claim.status_code == 422 and "different claim" in other_claim.text
    assert client.post("/api/v1/claims", json={**body, "lines": {str(ann.lines[0].id): True}},
                       headers={"Idempotency-Key": "K-bool"}).status_code == 422  # units are JSON integers
    # a key with only the read scope may not file (its photo count would be trusted)
    with uow_factory() as uow:
        reader = access.create_api_key(uow, name="reader", scopes=["read"])
        uow.commit()
    denied = client.post("/api/v1/claims", json={**body, "kind": "damaged", "photos": 1},
                         headers={"X-API-Key": reader, "Idempotency-Key": "k-read"})
    assert denied.status_code == 403
    assert snapshot(uow_factory) == before


def test_a_claim_retried_or_sent_twice_at_once_makes_one_rma(uow_factory) -> None:  # type: ignore[no-untyped-def]
    """A claim that goes to review (no photo) has no refund yet to replay: its key, stored unique on the RMA,
    is what makes retries (and two racing requests) find the first RMA."""
    import threading

    from returnflow.services import claims

    policy = parse_policy(CLAIMS_POLICY)
    o = recent_order(uow_factory, line(1, "30.00", 2), payments=[("card", "60.00")])

    def file() -> claims.ClaimResult:
        return claims.file_claim(uow_factory, order_number=o.order_number, proof=o.customer_email,
                                 lines={o.lines[0].id: 1}, kind="damaged", remedy="refund", idempotency_key="twice",
                                 actor=None, policy=policy)

    first = file()
    assert (first.rma.status, first.replayed) == (ReturnStatus.IN_REVIEW, False)
    again = file()
    assert (again.rma.number, again.replayed) == (first.rma.number, True)
    results: list[claims.ClaimResult] = []
    racers = [threading.Thread(target=lambda: results.append(claims.file_claim(
        uow_factory, order_number=o.order_number, proof=o.customer_email, lines={o.lines[0].id: 1}, kind="damaged",
        remedy="refund", idempotency_key="race", actor=None, policy=policy))) for _ in range(4)]
    for thread in racers:
        thread.start()
    for thread in racers:
        thread.join()
    assert len(results) == 4 and len({r.rma.number for r in results}) == 1  # one RMA for the racing key
    with uow_factory() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.return_authorizations)).scalar_one() == 2


def test_a_replacement_claim_for_an_item_not_stocked_is_refused_before_any_rma(uow_factory) -> None:  # type: ignore[no-untyped-def]
    from returnflow.services import claims
    from returnflow.services.exchanges import OutOfStock

    policy = parse_policy(CLAIMS_POLICY)
    o = recent_order(uow_factory, line(1, "30.00", 2, sku="MUG"), payments=[("card", "60.00")])

    def file(key: str) -> claims.ClaimResult:
        return claims.file_claim(uow_factory, order_number=o.order_number, proof=o.customer_email,
                                 lines={o.lines[0].id: 1}, kind="missing", remedy="replacement", idempotency_key=key,
                                 actor=None, policy=policy)

    with pytest.raises(InvalidInput, match="MUG is not in the product catalogue"):
        file("r1")
    catalogue(uow_factory, ("MUG", "MUG", "30.00", 0))
    after_catalogue = snapshot(uow_factory)
    with pytest.raises(OutOfStock, match=r"1 unit\(s\) needed, 0 in stock"):
        file("r2")
    assert snapshot(uow_factory) == after_catalogue
    with uow_factory() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.return_authorizations)).scalar_one() == 0
