"""Findings from a newcomer's test of the pages, on SQLite and PostgreSQL: a large order's return form,
HTML error pages for browsers, the last admin, the empty parcel, the actions offered, and the label
issued on approval."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.services import portal, staff
from returnflow.services import returns as svc
from returnflow.web.app import create_app
from returnflow.web.pages import security
from tests.conftest import add_order
from tests.integration.pages_helpers import PASSWORD, csrf, login, staff_client

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}



@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    yield from staff_client(container)





def _token(number: str) -> str:
    return security.URLSafeSerializer("test-secret", salt="tracking").dumps(number)


def _count(container: Container, table) -> int:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        return int(uow.session.execute(select(func.count()).select_from(table)).scalar_one())


# -- 1. a large order ------------------------------------------------------------------------------

def test_a_return_of_600_lines_is_submitted_from_the_portal_form(container: Container, client: TestClient) -> None:
    add_order(container, lines=[(f"SKU-{i:04d}", 2, "1.50") for i in range(600)])
    token = csrf(client)
    r = client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001",
                                             "proof": "ann@example.com"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/returns/order")
    line_ids = re.findall(r'name="qty_(\d+)"', page.text)
    assert len(line_ids) == 600
    data = {"csrf_token": token, "outcome": "refund", "shipping_method": "label"}
    for line_id in line_ids:  # every field the browser posts: four per line, 2,403 in all
        data.update({f"qty_{line_id}": "1", f"reason_{line_id}": "damaged", f"subreason_{line_id}": "",
                     f"comment_{line_id}": ""})
    r = client.post("/returns/order", data=data, files={"photos": ("", b"", "application/octet-stream")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    assert "/returns/track/" in r.headers["location"]
    rma = svc.get_rma(container.uow, "RMA-000001")
    assert len(rma.lines) == 600 and sum(l.quantity for l in rma.lines) == 600


# -- 2. HTML error pages for browsers ----------------------------------------------------------------

def test_an_unknown_url_gives_browsers_a_page_and_api_clients_problem_details(client: TestClient) -> None:
    page = client.get("/nonexistent", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/"' in page.text
    api = client.get("/api/v1/nonexistent", headers=HTML)
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    plain = client.get("/nonexistent")  # no text/html in Accept: problem details as before
    assert plain.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_gives_browsers_a_500_page(container: Container) -> None:
    app = create_app(container)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        page = c.get("/boom", headers=HTML)
        assert page.status_code == 500 and "Something went wrong" in page.text and "boom" not in page.text
        assert c.get("/boom").headers["content-type"] == "application/problem+json"


def test_an_over_long_order_number_reshows_the_lookup_form(container: Container, client: TestClient) -> None:
    add_order(container)
    r = client.post("/returns/lookup", headers=HTML, data={"csrf_token": csrf(client), "order_number": "9" * 65,
                                                           "proof": "ann@example.com"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "at most 64 characters" in r.text and 'action="/returns/lookup"' in r.text
    assert security.PORTAL_COOKIE not in r.cookies


def test_bad_list_parameters_and_filters_show_a_message(container: Container, client: TestClient) -> None:
    login(client, "agent")
    r = client.get("/ops/returns?page=abc", headers=HTML)
    assert r.status_code == 200 and "is not a page number" in r.text
    r = client.get("/ops/returns?status=bogus&date_from=notadate", headers=HTML)
    assert r.status_code == 200 and "is not a status" in r.text and "is not a date" in r.text
    r = client.get("/ops/returns?date_from=2011-12-09&date_to=2011-01-01", headers=HTML)
    assert "The from date is after the to date" in r.text


def test_csv_export_writes_money_with_the_currency_decimals(container: Container, client: TestClient) -> None:
    add_order(container)
    svc.request_return(container.uow, order_number="100001", proof="ann@example.com",
                       lines=[svc.RequestedLine(sku="SKU-A", quantity=1, reason="damaged")],
                       actor="customer:ann", policy=container.policy)
    login(client, "agent")
    rows = client.get("/ops/returns.csv").text.splitlines()
    assert rows[1].endswith(",0.00,GBP")


# -- 3. the last admin ------------------------------------------------------------------------------

def _users(container: Container) -> list[tuple[str, str, bool, int]]:
    with container.uow() as uow:
        return [tuple(r) for r in uow.session.execute(select(  # type: ignore[misc]
            t.staff_users.c.username, t.staff_users.c.role, t.staff_users.c.active,
            t.staff_users.c.session_version).order_by(t.staff_users.c.username))]


def test_the_last_active_admin_cannot_be_demoted_or_disabled(container: Container, client: TestClient) -> None:
    token = login(client, "admin")
    before = _users(container)
    for role, active in (("agent", "yes"), ("warehouse", "yes"), ("admin", "no")):
        r = client.post("/ops/admin/users/role", data={"csrf_token": token, "username": "admin", "role": role,
                                                      "active": active})
        assert r.status_code == 422 and "last active admin" in r.text
        assert _users(container) == before  # nothing changed, sessions kept
    assert client.get("/ops/admin").status_code == 200
    # with a second admin the first may step down
    with container.uow() as uow:
        staff.create_user(uow, username="admin2", password=PASSWORD, role="admin")
        uow.commit()
    r = client.post("/ops/admin/users/role", data={"csrf_token": token, "username": "admin", "role": "agent",
                                                  "active": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    assert ("admin", "agent", True) in [u[:3] for u in _users(container)]


# -- 4. the empty parcel and the actions offered -------------------------------------------------------

def _authorized(container: Container, *, shipping_method: str = "pickup", days_ago: int = 1):  # type: ignore[no-untyped-def]
    add_order(container, placed_at=datetime.now(UTC) - timedelta(days=days_ago))
    return portal.submit_return(container.uow, order_number="100001", email="ann@example.com",
                                lines=[svc.RequestedLine(sku="SKU-A", quantity=2, reason="damaged")],
                                outcome="refund", shipping_method=shipping_method, policy=container.policy,
                                pickup_window="08:00-12:00" if shipping_method == "pickup" else "")


def test_an_empty_parcel_is_recorded_as_such_and_can_be_closed(container: Container, client: TestClient) -> None:
    rma = _authorized(container)
    assert str(rma.status) == "authorized"
    token = login(client, "admin")
    line_id = rma.lines[0].id
    bad = client.post(f"/console/rma/{rma.number}/receive", data={"csrf_token": token, f"units_{line_id}": "-1",
                                                                  "return_center_code": "RC-UK-01"})
    assert bad.status_code == 422 and "Units must be a whole number of 0 or more." in bad.text
    assert str(svc.get_rma(container.uow, rma.number).status) == "authorized"
    r = client.post(f"/console/rma/{rma.number}/receive", data={"csrf_token": token, f"units_{line_id}": "0",
                                                                "grade_" + str(line_id): "A",
                                                                "return_center_code": "RC-UK-01"})
    assert r.status_code == 200
    assert "parcel recorded as empty; nothing to grade" in r.text and "received and graded" not in r.text
    assert 'id="close-empty"' in r.text
    assert str(svc.get_rma(container.uow, rma.number).status) == "received"
    detail = client.get(f"/ops/returns/{rma.number}")
    assert 'id="action-close"' in detail.text and 'id="action-refund"' not in detail.text
    r = client.post(f"/console/rma/{rma.number}/close", data={"csrf_token": token})
    assert r.status_code == 200 and "closed (empty parcel)" in r.text
    assert str(svc.get_rma(container.uow, rma.number).status) == "closed"


def test_the_detail_page_offers_only_actions_that_can_succeed(container: Container, client: TestClient) -> None:
    rma = _authorized(container)
    login(client, "agent")
    page = client.get(f"/ops/returns/{rma.number}").text
    assert 'id="action-refund"' not in page and "Issue refund" not in page
    assert 'id="action-issue_label"' in page and 'id="action-cancel"' in page
    assert 'id="action-close"' not in page


# -- 6. approval issues the customer's label -------------------------------------------------------------

@pytest.mark.parametrize("method", ["label", "dropoff_qr", "pickup"])
def test_approving_from_the_review_queue_issues_the_chosen_label(container: Container, client: TestClient,
                                                                 method: str) -> None:
    rma = _authorized(container, shipping_method=method, days_ago=60)
    assert str(rma.status) == "in_review"
    token = login(client, "agent")
    r = client.post(f"/ops/returns/{rma.number}/authorize", data={"csrf_token": token, "back": "review"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ops/review"
    after = svc.get_rma(container.uow, rma.number)
    track = client.get(f"/returns/track/{_token(rma.number)}").text
    if method == "pickup":
        assert str(after.status) == "authorized" and not after.tracking_code
        assert "label.pdf" not in track
        return
    assert str(after.status) == "label_issued" and after.tracking_code
    assert re.search(r'data-step="label"[^>]*', track) and 'class="done" data-step="label"' in track
    if method == "label":
        assert "label.pdf" in track
        pdf = client.get(f"/returns/track/{_token(rma.number)}/label.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_return_the_policy_approves_at_once_gets_the_label_the_customer_chose(container: Container) -> None:
    rma = _authorized(container, shipping_method="label")  # bought yesterday: inside the 30-day window
    assert (str(rma.status), bool(rma.tracking_code)) == ("label_issued", True)
    picked_up = svc.get_rma(container.uow, _authorized_second(container).number)
    assert (str(picked_up.status), picked_up.tracking_code) == ("authorized", None)  # pickup: no label to print


def _authorized_second(container: Container):  # type: ignore[no-untyped-def]
    add_order(container, order_number="100002", placed_at=datetime.now(UTC) - timedelta(days=1))
    return portal.submit_return(container.uow, order_number="100002", email="ann@example.com",
                                lines=[svc.RequestedLine(sku="SKU-A", quantity=1, reason="damaged")],
                                outcome="refund", shipping_method="pickup", policy=container.policy,
                                pickup_window="08:00-12:00")


def test_the_warehouse_can_reject_units_with_a_reason_and_they_are_not_refunded(
        container: Container, client: TestClient) -> None:
    rma = _authorized(container)  # 2 units of SKU-A at 10.00
    token = login(client, "admin")
    line_id = rma.lines[0].id
    form = {"csrf_token": token, f"units_{line_id}": "2", f"grade_{line_id}": "D", f"accept_{line_id}": "no",
            "return_center_code": "RC-UK-01"}
    refused = client.post(f"/console/rma/{rma.number}/receive", data=form)
    assert refused.status_code == 422 and "needs a reason" in refused.text
    assert str(svc.get_rma(container.uow, rma.number).status) == "authorized"
    done = client.post(f"/console/rma/{rma.number}/receive", data={**form, f"note_{line_id}": "not our product"})
    assert done.status_code == 200
    graded = svc.get_rma(container.uow, rma.number)
    assert (str(graded.status), str(graded.lines[0].acceptance_status)) == ("inspected", "rejected")
    # nothing accepted: the refund settles at 0.00
    assert svc.refund(container.uow, rma.number, actor="staff:t").refund_total == 0
