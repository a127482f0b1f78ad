"""The JSON API end to end (FastAPI TestClient) on SQLite and PostgreSQL.

Every refused request answers with RFC 9457 problem details and leaves every table's row count unchanged.
Order 100001 (``add_order``): line 1 = 3 x SKU-A at 10.00, line 2 = 1 x SKU-B at 25.50, ann@example.com.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from returnflow.bootstrap import Container
from returnflow.services import access
from returnflow.web.app import create_app
from tests.conftest import PHOTO_AND_SIZE_POLICY, add_order
from tests.db_counts import row_counts

EMAIL = "ann@example.com"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def staff(staff_key: str) -> dict[str, str]:
    return {"X-API-Key": staff_key}


@pytest.fixture
def reader(container: Container) -> dict[str, str]:
    with container.uow() as uow:
        key = access.create_api_key(uow, name="read-only", scopes=["read"])
        uow.commit()
    return {"Authorization": f"Bearer {key}"}


def create(client: TestClient, *, sku: str = "SKU-A", quantity: int = 1, order_number: str = "100001",
           email: str = EMAIL) -> dict[str, Any]:
    response = client.post("/api/v1/returns", json={"order_number": order_number, "email": email,
                                                      "lines": [{"sku": sku, "quantity": quantity, "reason": "damaged"}]})
    assert response.status_code == 201, response.text
    return response.json()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and "detail" in body
    return body


def test_a_customer_creates_a_return_and_reads_it_with_their_email(container: Container, client: TestClient) -> None:
    add_order(container)
    created = create(client, sku="SKU-A", quantity=2)
    assert (created["number"], created["status"], created["currency"]) == ("RMA-000001", "authorized", "GBP")
    # 2 of 3 units of a 30.00 line: 20.00
    assert [(l["sku"], l["quantity"], l["paid_amount"]) for l in created["lines"]] == [("SKU-A", 2, "20.00")]
    got = client.get("/api/v1/returns/RMA-000001", params={"email": "Ann@Example.com"})
    assert got.status_code == 200
    assert [e["name"] for e in got.json()["events"]] == ["return.requested", "return.routed", "return.authorized"]


def test_the_order_lookup_shows_what_can_still_be_returned(container: Container, client: TestClient) -> None:
    add_order(container, lines=[("SKU-A", 3, "10.00"), ("POST", 1, "18.00")])
    create(client, sku="SKU-A", quantity=2)
    body = client.get("/api/v1/orders/100001", params={"email": EMAIL}).json()
    assert [(l["sku"], l["returnable_quantity"]) for l in body["lines"]] == [("SKU-A", 1), ("POST", 0)]
    assert_problem(client.get("/api/v1/orders/100001", params={"email": "eve@example.com"}), 404)


def test_staff_read_any_return_with_a_key(container: Container, client: TestClient, staff: dict[str, str],
                                         reader: dict[str, str]) -> None:
    add_order(container)
    create(client)
    assert client.get("/api/v1/returns/RMA-000001", headers=staff).status_code == 200
    assert client.get("/api/v1/returns/RMA-000001", headers=reader).status_code == 200


@pytest.mark.parametrize("params", [{"email": "eve@example.com"}, {}, {"email": ""}])
def test_a_wrong_or_missing_email_is_a_404_problem(container: Container, client: TestClient,
                                                    params: dict[str, str]) -> None:
    add_order(container)
    create(client)
    body = assert_problem(client.get("/api/v1/returns/RMA-000001", params=params), 404)
    assert body["detail"] == "no return authorization RMA-000001"
    assert_problem(client.get("/api/v1/returns/RMA-999999", params={"email": EMAIL}), 404)


def test_creating_a_return_with_a_wrong_email_is_a_404_and_stores_nothing(container: Container,
                                                                          client: TestClient) -> None:
    add_order(container)
    before = row_counts(container.engine)
    response = client.post("/api/v1/returns", json={"order_number": "100001", "email": "eve@example.com",
                                                      "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "damaged"}]})
    assert_problem(response, 404)
    assert row_counts(container.engine) == before


def test_staff_list_filter_and_page_returns_newest_first(container: Container, client: TestClient,
                                                        staff: dict[str, str]) -> None:
    add_order(container)
    add_order(container, order_number="100002")
    create(client, sku="SKU-A")
    create(client, sku="SKU-B")
    create(client, sku="SKU-A", order_number="100002")
    assert client.post("/api/v1/returns/RMA-000002/cancel", json={"note": "changed mind"}, headers=staff).status_code == 200
    page1 = client.get("/api/v1/returns", params={"page_size": 2}, headers=staff).json()
    page2 = client.get("/api/v1/returns", params={"page_size": 2, "page": 2}, headers=staff).json()
    assert page1["total"] == page2["total"] == 3
    assert [r["number"] for r in page1["items"] + page2["items"]] == ["RMA-000003", "RMA-000002", "RMA-000001"]
    assert "events" not in page1["items"][0]

    def numbers(**params: Any) -> list[str]:
        body = client.get("/api/v1/returns", params=params, headers=staff).json()
        assert body["total"] == len(body["items"])
        return [r["number"] for r in body["items"]]

    assert numbers(status="cancelled") == ["RMA-000002"]
    assert numbers(sku="SKU-A") == ["RMA-000003", "RMA-000001"]
    assert numbers(order_number="100002") == ["RMA-000003"]
    assert numbers(q="RMA-000001") == ["RMA-000001"]
    assert numbers(customer_id="C1") == ["RMA-000003", "RMA-000002", "RMA-000001"]
    assert numbers(requested_from=(datetime.now(UTC) + timedelta(days=1)).isoformat()) == []
    assert_problem(client.get("/api/v1/returns", params={"page_size": 0}, headers=staff), 422)
    assert_problem(client.get("/api/v1/returns", params={"page": "x"}, headers=staff), 422)


def test_staff_take_a_return_through_every_action_to_a_refund(container: Container, client: TestClient,
                                                              staff: dict[str, str]) -> None:
    add_order(container)
    rma = create(client, sku="SKU-A", quantity=3)
    n, line = rma["number"], rma["lines"][0]["id"]

    def post(action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.post(f"/api/v1/returns/{n}/{action}", json=body or {}, headers=staff)
        assert response.status_code == 200, response.text
        return response.json()

    assert post("label", {"return_center_code": "RC-UK-01"})["tracking_code"].startswith("RF")
    assert post("scans", {"scan": "in_transit", "location": "Northampton"})["status"] == "in_transit"
    assert post("receive", {"return_center_code": "RC-UK-01", "quantities": {str(line): 3}})["status"] == "received"
    inspected = post("inspect", {"line_id": line, "grade": "A"})
    assert (inspected["status"], inspected["lines"][0]["disposition"]) == ("inspected", "restock")
    refunded = post("refund", {"reference": "PSP-1"})
    # 3 x 10.00 = 30.00
    assert (refunded["status"], refunded["refund_total"], refunded["lines"][0]["refunded_amount"]) == (
        "settled", "30.00", "30.00")
    assert post("close")["status"] == "closed"


def test_staff_authorize_or_reject_a_return_held_for_review(container: Container, client: TestClient,
                                                            staff: dict[str, str]) -> None:
    add_order(container, placed_at=datetime.now(UTC) - timedelta(days=45))
    first, second = create(client, sku="SKU-A"), create(client, sku="SKU-B")
    assert first["status"] == second["status"] == "in_review"
    ok = client.post(f"/api/v1/returns/{first['number']}/authorize", json={"note": "goodwill"}, headers=staff)
    no = client.post(f"/api/v1/returns/{second['number']}/reject", json={"reason": "late"}, headers=staff)
    assert (ok.json()["status"], no.json()["status"]) == ("authorized", "rejected")


def test_staff_actions_need_a_key_and_the_right_scope(container: Container, client: TestClient,
                                                      reader: dict[str, str]) -> None:
    add_order(container)
    create(client)
    before = row_counts(container.engine)
    body = assert_problem(client.post("/api/v1/returns/RMA-000001/cancel", json={}), 401)
    assert body["title"] == "Unauthorized"
    assert_problem(client.post("/api/v1/returns/RMA-000001/cancel", json={}, headers={"X-API-Key": "rf_nope"}), 401)
    assert_problem(client.get("/api/v1/returns"), 401)
    assert_problem(client.post("/api/v1/returns/RMA-000001/cancel", json={}, headers=reader), 403)
    assert_problem(client.post("/api/v1/returns/RMA-000001/refund", json={}, headers=reader), 403)
    assert client.get("/api/v1/returns", headers=reader).status_code == 200
    assert row_counts(container.engine) == before


def test_an_illegal_transition_is_a_409_and_changes_nothing(container: Container, client: TestClient,
                                                            staff: dict[str, str]) -> None:
    add_order(container)
    create(client)
    before, rma_before = row_counts(container.engine), client.get("/api/v1/returns/RMA-000001", headers=staff).json()
    body = assert_problem(client.post("/api/v1/returns/RMA-000001/close", json={}, headers=staff), 409)
    assert (body["current_status"], body["action"]) == ("authorized", "close")
    assert_problem(client.post("/api/v1/returns/RMA-000001/refund", json={}, headers=staff), 409)
    assert_problem(client.post("/api/v1/returns/RMA-000001/inspect", json={"line_id": 1, "grade": "A"},
                               headers=staff), 409)
    assert row_counts(container.engine) == before
    assert client.get("/api/v1/returns/RMA-000001", headers=staff).json() == rma_before


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/returns", {"order_number": "100001", "email": EMAIL,
                         "lines": [{"sku": "SKU-A", "quantity": -1, "reason": "damaged"}]}),
    ("/api/v1/returns", {"order_number": "100001", "email": EMAIL,
                         "lines": [{"sku": "SKU-A", "quantity": 4, "reason": "damaged"}]}),   # only 3 bought
    ("/api/v1/returns", {"order_number": "100001", "email": EMAIL, "lines": []}),
    ("/api/v1/returns", {"order_number": "100001", "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "damaged"}]}),
    ("/api/v1/returns", {"email": EMAIL, "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "damaged"}]}),
    ("/api/v1/returns", {"order_number": "100001", "email": EMAIL, "lines": [{"quantity": 1, "reason": "damaged"}]}),
    ("/api/v1/returns/RMA-000001/inspect", {"line_id": 1, "grade": "E"}),
    ("/api/v1/returns/RMA-000001/inspect", {"line_id": 1}),
    ("/api/v1/returns/RMA-000001/receive", {"return_center_code": "RC-XX-99", "quantities": {"1": 1}}),
    ("/api/v1/returns/RMA-000001/receive", {"return_center_code": "RC-UK-01", "quantities": {"1": -1}}),
    ("/api/v1/returns/RMA-000001/receive", {"return_center_code": "RC-UK-01", "quantities": {"1": 2}}),
    ("/api/v1/returns/RMA-000001/label", {"return_center_code": "RC-XX-99"}),
    ("/api/v1/returns/RMA-000001/scans", {"scan": "teleported"}),
    ("/api/v1/returns/RMA-000001/reject", {"reason": ""}),
    ("/api/v1/returns/RMA-000001/refund", {"resolution": "cash"}),
])
def test_invalid_input_is_a_422_problem_and_changes_nothing(container: Container, client: TestClient,
                                                            staff: dict[str, str], path: str,
                                                            body: dict[str, Any]) -> None:
    add_order(container)
    create(client, sku="SKU-B")  # RMA-000001, line 1: 1 unit of SKU-B
    before = row_counts(container.engine)
    assert_problem(client.post(path, json=body, headers=staff), 422)
    assert row_counts(container.engine) == before


WEIRD_BODIES: list[Any] = [
    {}, [], None, "text", 42, {"order_number": 100001, "email": EMAIL, "lines": "SKU-A"},
    {"order_number": "100001", "email": EMAIL, "lines": [{"sku": "SKU-A", "quantity": 10**30, "reason": "damaged"}]},
    {"order_number": "100001", "email": EMAIL, "lines": [{"order_line_id": 2**70, "quantity": 1, "reason": "damaged"}]},
    {"order_number": "100001", "email": EMAIL, "lines": [{"sku": "SKU-A", "quantity": 1.5, "reason": "damaged"}]},
    {"order_number": "100001", "email": EMAIL, "lines": [{"sku": "SKU-A", "quantity": "1e3", "reason": "damaged"}]},
    {"order_number": "１００００１", "email": "änné@例え.jp", "lines": [{"sku": "ＳＫＵ", "quantity": 1, "reason": "🙂"}]},
    {"order_number": "100001\x00", "email": EMAIL, "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "damaged"}]},
    {"order_number": "100001", "email": EMAIL * 100, "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "damaged"}]},
    {"order_number": "100001", "email": EMAIL, "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "damaged",
                                                          "unexpected": True}]},
]


@pytest.mark.parametrize("body", WEIRD_BODIES, ids=range(len(WEIRD_BODIES)))
def test_weird_return_requests_never_give_a_500_and_store_nothing(container: Container, client: TestClient,
                                                                  body: Any) -> None:
    add_order(container)
    before = row_counts(container.engine)
    response = client.post("/api/v1/returns", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert row_counts(container.engine) == before


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/v1/returns/RMA-000001/receive", {"return_center_code": "RC-UK-01", "quantities": {str(2**70): 1}}),
    ("post", "/api/v1/returns/RMA-000001/receive", {"return_center_code": "RC-UK-01", "quantities": {"x": 1}}),
    ("post", "/api/v1/returns/RMA-000001/inspect", {"line_id": 2**70, "grade": "A"}),
    ("post", "/api/v1/returns/RMA-000001/scans", {"scan": "in_transit", "occurred_at": "2011-01-01T00:00:00"}),
    ("post", "/api/v1/returns/RMA-000001/scans", {"scan": "in_transit", "occurred_at": "yesterday"}),
    ("post", "/api/v1/returns/RMA%00/cancel", {}),
    ("post", "/api/v1/returns/RMA-000001/cancel", {"note": 5}),
    ("get", "/api/v1/returns?requested_from=2011-01-01T00:00:00", None),
    ("get", "/api/v1/returns?q=%00", None),
    ("get", "/api/v1/returns?status=%00", None),
    ("get", "/api/v1/returns/%F0%9F%99%82?email=x", None),
    ("get", "/api/v1/orders/%00?email=ann@example.com", None),
])
def test_weird_staff_requests_never_give_a_500_and_change_nothing(container: Container, client: TestClient,
                                                                  staff: dict[str, str], method: str, path: str,
                                                                  body: Any) -> None:
    add_order(container)
    create(client, sku="SKU-B")
    before = row_counts(container.engine)
    response = client.request(method, path, json=body, headers=staff)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM)
        assert row_counts(container.engine) == before


def test_a_public_request_must_prove_the_order_with_its_email_not_the_guessable_customer_id(
        container: Container) -> None:
    add_order(container)
    with TestClient(create_app(container)) as client:
        before = row_counts(container.engine)
        got = client.post("/api/v1/returns", json={"order_number": "100001", "customer_id": "C1", "lines": [
            {"sku": "SKU-A", "quantity": 1, "reason": "wrong_size"}]})
        assert got.status_code == 422 and "email" in got.json()["detail"]
        assert row_counts(container.engine) == before


def test_repeated_failed_proofs_from_one_client_are_stopped_with_429(container: Container) -> None:
    add_order(container)
    body = {"order_number": "100001", "email": "guess@example.com",
            "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "wrong_size"}]}
    with TestClient(create_app(container)) as client:
        answers = [client.post("/api/v1/returns", json=body).status_code for _ in range(11)]
        # ten wrong emails answer 404; the eleventh attempt is refused before it is checked
        assert answers == [404] * 10 + [429]
        right = {**body, "email": "ann@example.com"}
        assert client.post("/api/v1/returns", json=right).status_code == 429  # even the right pair, for now


def test_failed_proofs_count_on_every_public_endpoint_and_a_non_bearer_authorization_is_still_public(
        container: Container) -> None:
    order = add_order(container)
    guess = "guess@example.com"
    line = {"order_line_id": order.lines[0].id, "quantity": 1, "reason": "damaged"}
    tries = [(method, path, extra) for n in range(2) for method, path, extra in (
        # ten wrong proofs spread over the endpoints that check one, each 404
        ("POST", "/api/v1/returns/preview", {"json": {"order_number": "100001", "email": guess, "lines": [line]}}),
        ("POST", "/api/v1/claims", {"json": {"order_number": "100001", "email": guess,
                                             "lines": {str(order.lines[0].id): 1}, "kind": "damaged",
                                             "remedy": "refund"}, "headers": {"Idempotency-Key": f"g{n}"}}),
        ("GET", f"/api/v1/orders/100001?email={guess}", {}),
        ("POST", "/api/v1/orders/100001/token", {"json": {"email": guess}}),
        ("GET", f"/api/v1/returns/RMA-00000{n}?email={guess}", {}),  # an RMA number that does not exist
    )]
    with TestClient(create_app(container)) as client:
        # 404s that are not a rejected proof are not counted: an unknown route, a label not issued yet
        for _ in range(12):
            assert client.get("/api/v1/no-such-route").status_code == 404
        made = client.post("/api/v1/returns", json={"order_number": "100001", "email": EMAIL, "lines": [LINE]})
        assert made.status_code == 201
        for _ in range(12):
            assert client.get(f"/api/v1/returns/{made.json()['number']}/label.pdf?email={EMAIL}").status_code == 404
        basic = {"Authorization": "Basic eDp4"}  # not a staff key: the API reads only Bearer or X-API-Key
        answers = [client.request(method, path, **{**extra, "headers": {**extra.get("headers", {}), **basic}}
                                  ).status_code for method, path, extra in tries]
        assert answers == [404] * 10
        assert client.post("/api/v1/returns/preview", json=tries[0][2]["json"], headers=basic).status_code == 429
        # a made-up staff key is refused (401) by every API endpoint, the order lookup included
        fake = {"X-API-Key": "rf_junk"}
        assert client.get(f"/api/v1/orders/100001?email={EMAIL}", headers=fake).status_code == 401
        assert client.post("/api/v1/orders/100001/token", json={"email": EMAIL}, headers=fake).status_code == 401


def test_a_line_named_by_id_and_another_sku_is_refused(container: Container) -> None:
    order = add_order(container)
    with TestClient(create_app(container)) as client:
        got = client.post("/api/v1/returns", json={"order_number": "100001", "email": "ann@example.com", "lines": [
            {"order_line_id": order.lines[0].id, "sku": "SKU-B", "quantity": 1, "reason": "wrong_size"}]})
        assert got.status_code == 422 and "SKU-A, not SKU-B" in got.json()["detail"]


def test_an_unknown_status_filter_is_refused(container: Container, staff_key: str) -> None:
    with TestClient(create_app(container)) as client:
        got = client.get("/api/v1/returns?status=bogus", headers={"X-API-Key": staff_key})
        assert got.status_code == 422 and "bogus" in got.json()["detail"]


def test_the_api_docs_load_their_assets_from_this_server_not_a_cdn(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "cdn" not in page.text
        assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200


LINE = {"sku": "SKU-A", "quantity": 1, "reason": "damaged"}


@pytest.mark.parametrize("body, headers_kind, status, words", [
    # the customer id (a short sequential number) is no proof from the public, in either field
    ({"order_number": "100001", "email": "C1", "lines": [LINE]}, "public", 404, "no order matches"),
    ({"order_number": "100001", "customer_id": "C1", "lines": [LINE]}, "public", 422, "staff"),
    ({"order_number": "100001", "email": EMAIL, "customer_id": "C999", "lines": [LINE]}, "public", 422, "staff"),
    # a key without returns:write may not create, whatever the proof
    ({"order_number": "100001", "customer_id": "C1", "lines": [LINE]}, "reader", 403, "returns:write"),
    # text with a NUL character: the same 422 on SQLite and PostgreSQL, before anything is written
    ({"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "reason": "damaged\u0000"}]}, "public", 422, "NUL"),
    ({"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "comment": "a\u0000b"}]}, "public", 422, "NUL"),
    # quantities are JSON integers, not strings or booleans; SKUs fit their column
    ({"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "quantity": "1"}]}, "public", 422, "integer"),
    ({"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "quantity": True}]}, "public", 422, "integer"),
    ({"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "sku": "S" * 65}]}, "public", 422, "64"),
    # a reason that is not on the managed list (the default policy has no [[reasons]] of its own)
    ({"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "reason": "zzz_bogus"}]}, "public", 422,
     "'zzz_bogus' is not one of the return reasons: changed_mind, damaged, damaged_item"),
])
def test_create_refuses_weak_proof_missing_scope_and_bad_text_and_stores_nothing(
        container: Container, client: TestClient, reader: dict[str, str], body: dict[str, Any], headers_kind: str,
        status: int, words: str) -> None:
    add_order(container)
    before = row_counts(container.engine)
    response = client.post("/api/v1/returns", json=body, headers=reader if headers_kind == "reader" else {})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert words in response.text
    assert row_counts(container.engine) == before


def test_staff_may_prove_with_the_customer_id_and_customers_are_recorded_as_the_orders_customer(
        container: Container, client: TestClient, staff: dict[str, str]) -> None:
    add_order(container)
    by_staff = client.post("/api/v1/returns", json={"order_number": "100001", "customer_id": "C1", "lines": [LINE]},
                           headers=staff)
    assert by_staff.status_code == 201, by_staff.text
    assert by_staff.json()["events"][0]["actor"] == "staff:test-admin"
    by_customer = client.post("/api/v1/returns", json={"order_number": "100001", "email": "ANN@example.com",
                                                       "lines": [LINE]})
    assert by_customer.status_code == 201, by_customer.text
    assert by_customer.json()["events"][0]["actor"] == "customer:C1"


def test_a_reason_added_by_an_admin_is_accepted_at_once_and_sub_reasons_count(container: Container,
                                                                            client: TestClient) -> None:
    from returnflow.services import staff as staff_service

    add_order(container)
    body = {"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "reason": "smells"}]}
    assert client.post("/api/v1/returns", json=body).status_code == 422
    with container.uow() as uow:
        staff_service.add_reason(uow, code="smells", label="Smells odd")
        uow.commit()
    assert client.post("/api/v1/returns", json=body).status_code == 201
    sub = {"order_number": "100001", "email": EMAIL, "lines": [{**LINE, "reason": "wrong_colour"}]}
    assert client.post("/api/v1/returns", json=sub).status_code == 201  # a sub-reason of not_as_described


def test_the_reasons_endpoint_lists_what_a_request_may_give(container: Container, client: TestClient,
                                                          staff: dict[str, str]) -> None:
    listed = client.get("/api/v1/reasons").json()
    assert listed["source"] == "managed list"
    codes = [r["code"] for r in listed["reasons"]]
    # services/staff.py DEFAULT_REASONS, in display order; sub-reasons name their parent
    assert codes == ["damaged", "damaged_packaging", "damaged_item", "not_as_described", "wrong_colour", "wrong_size",
                     "wrong_item", "changed_mind", "faulty", "late"]
    assert {"code": "wrong_size", "label": "Size differs from the description",
            "parent_code": "not_as_described"} in listed["reasons"]
    add_order(container)
    for code in codes:  # every listed code is accepted (each RMA cancelled to give the unit back)
        answer = client.post("/api/v1/returns", json={"order_number": "100001", "email": EMAIL,
                                                      "lines": [{"sku": "SKU-B", "quantity": 1, "reason": code}]})
        assert answer.status_code == 201, (code, answer.text)
        number = answer.json()["number"]
        assert client.post(f"/api/v1/returns/{number}/cancel", json={}, headers=staff).status_code == 200


def test_sub_reasons_photos_and_conditions_reach_the_checks_on_create_and_preview(
        container: Container, client: TestClient, staff: dict[str, str]) -> None:
    from returnflow.services import policies

    order = add_order(container)
    ask = {"order_number": "100001", "email": EMAIL}
    before = row_counts(container.engine)
    # managed list: a sub-reason must be listed under its reason (wrong_size is under not_as_described)
    bad = client.post("/api/v1/returns", json={**ask, "lines": [{**LINE, "reason": "damaged", "sub_reason": "zzz"}]})
    assert bad.status_code == 422 and "'zzz' is not a detail of 'damaged'" in bad.text
    assert "damaged_item, damaged_packaging" in bad.text
    preview = client.post("/api/v1/returns/preview", json={**ask, "lines": [
        {"order_line_id": order.lines[0].id, "quantity": 1, "reason": "not_as_described", "sub_reason": "late"}]})
    assert preview.status_code == 422 and "not a detail" in preview.text
    assert row_counts(container.engine) == before
    ok = client.post("/api/v1/returns", json={**ask, "lines": [
        {**LINE, "reason": "not_as_described", "sub_reason": "wrong_size", "conditions": ["unworn"],
         "comment": "runs small"}]})
    assert ok.status_code == 201, ok.text
    assert ok.json()["lines"][0]["comment"] == "sub-reason: wrong_size; runs small"  # kept, as the portal keeps it

    # a policy with [[reasons]]: a photo-required reason sends a customer's return to review whatever "photos"
    # says (customers cannot upload through this API); staff who saw the photos may state them
    policies.put_policy(container.uow, source=PHOTO_AND_SIZE_POLICY, actor="staff:admin")
    container.forget_active_policy()
    public = client.post("/api/v1/returns", json={**ask, "lines": [
        {"sku": "SKU-B", "quantity": 1, "reason": "damaged", "photos": 2}]})
    assert public.status_code == 201 and public.json()["status"] == "in_review", public.text
    client.post(f"/api/v1/returns/{public.json()['number']}/cancel", json={}, headers=staff)
    by_staff = client.post("/api/v1/returns", headers=staff, json={**ask, "lines": [
        {"sku": "SKU-B", "quantity": 1, "reason": "damaged", "photos": 1}]})
    assert by_staff.status_code == 201 and by_staff.json()["status"] == "authorized", by_staff.text
    wrong_detail = client.post("/api/v1/returns", json={**ask, "lines": [
        {"sku": "SKU-A", "quantity": 1, "reason": "size", "sub_reason": "too_pink"}]})
    assert wrong_detail.status_code == 422 and "too_pink" in wrong_detail.text
    no_details = client.post("/api/v1/returns", json={**ask, "lines": [  # damaged lists no details at all
        {"sku": "SKU-A", "quantity": 1, "reason": "damaged", "sub_reason": "too_small"}]})
    assert no_details.status_code == 422 and "'too_small' is not a detail of 'Arrived damaged'" in no_details.text


def test_a_missing_parcel_claim_is_not_refused_for_a_kind_the_policy_does_not_list(
        container: Container, client: TestClient) -> None:
    from returnflow.services import policies

    add_order(container, placed_at=datetime.now(UTC) - timedelta(days=3))
    policies.put_policy(container.uow, source=PHOTO_AND_SIZE_POLICY, actor="staff:admin")  # lists damaged and size only
    container.forget_active_policy()
    order_line = client.get(f"/api/v1/orders/100001?email={EMAIL}").json()["lines"][1]["id"]
    claim = client.post("/api/v1/claims", headers={"Idempotency-Key": "m1"}, json={
        "order_number": "100001", "email": EMAIL, "lines": {str(order_line): 1}, "kind": "missing",
        "remedy": "refund"})
    assert claim.status_code == 201, claim.text
    # 1 x SKU-B at 25.50, settled at once; the test order has no payment recorded, so the 25.50 goes to
    # store credit (services.settlement: what no payment can take back is credited)
    assert (claim.json()["status"], claim.json()["refund"]["total"], claim.json()["refund"]["store_credit"]) == (
        "settled", "25.50", "25.50")


def test_sub_reasons_go_one_level_deep(container: Container) -> None:
    from returnflow.domain.errors import InvalidInput as Invalid
    from returnflow.services import staff as staff_service

    with container.uow() as uow:
        with pytest.raises(Invalid, match="itself a sub-reason"):
            staff_service.add_reason(uow, code="cracked_screen", label="Cracked screen", parent_code="damaged_item")
        staff_service.add_reason(uow, code="cracked_screen", label="Cracked screen", parent_code="damaged")
        uow.commit()
