"""Page security on SQLite and PostgreSQL: hashed passwords, cookie flags, CSRF, role checks, the
customer's view limited to their own return, and the rate-limited lookup; each denied case also
checks that nothing changed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from returnflow.services import returns as svc, staff
from returnflow.web.pages import security
from tests.conftest import add_order
from tests.integration.pages_helpers import PASSWORD, csrf, login, staff_client




@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    yield from staff_client(container)





def _rma_in_review(container: Container) -> str:
    from datetime import UTC, datetime, timedelta
    add_order(container, placed_at=datetime.now(UTC) - timedelta(days=60))
    rma = svc.request_return(container.uow, order_number="100001", proof="ann@example.com",
                             lines=[svc.RequestedLine(sku="SKU-A", quantity=1, reason="damaged")],
                             actor="customer:ann", policy=container.policy)
    assert str(rma.status) == "in_review"
    return rma.number


def test_passwords_are_stored_as_argon2id_hashes(container: Container, client: TestClient) -> None:
    with container.uow() as uow:
        stored = uow.session.execute(select(t.staff_users.c.password_hash)).scalars().all()
    assert len(stored) == 3 and all(h.startswith("$argon2id$") and PASSWORD not in h for h in stored)


def test_wrong_password_is_refused_without_a_session(client: TestClient) -> None:
    r = client.post("/staff/login", data={"csrf_token": csrf(client, "/staff/login"), "username": "agent",
                                          "password": "wrong password"}, follow_redirects=False)
    assert r.status_code == 401 and security.SESSION_COOKIE not in r.cookies


def test_session_cookie_is_httponly_secure_and_samesite(client: TestClient) -> None:
    r = client.post("/staff/login", data={"csrf_token": csrf(client, "/staff/login"), "username": "agent",
                                          "password": PASSWORD}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "rf_staff=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_forged_session_cookie_is_sent_tologin(client: TestClient) -> None:
    client.cookies.set(security.SESSION_COOKIE, "eyJ1IjoxLCJ2IjoxfQ.forged.signature")
    r = client.get("/ops/returns", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")


def test_approving_without_the_csrf_token_is_refused_and_changes_nothing(container: Container,
                                                                         client: TestClient) -> None:
    number = _rma_in_review(container)
    login(client, "agent")
    r = client.post(f"/ops/returns/{number}/authorize", data={"note": "x"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post(f"/ops/returns/{number}/authorize", data={"note": "x", "csrf_token": "guess"},
                    follow_redirects=False)
    assert r.status_code == 403
    assert str(svc.get_rma(container.uow, number).status) == "in_review"


@pytest.mark.parametrize(("role", "path", "status"), [
    ("warehouse", "/ops/returns", 403), ("warehouse", "/ops/dashboard", 403), ("agent", "/console", 403),
    ("agent", "/ops/admin", 403), ("admin", "/ops/admin", 200), ("warehouse", "/console", 200)])
def test_each_role_sees_only_its_pages(client: TestClient, role: str, path: str, status: int) -> None:
    login(client, role)
    assert client.get(path, follow_redirects=False).status_code == status


def test_anonymous_visitors_are_sent_to_login_from_every_staff_area(client: TestClient) -> None:
    for path in ("/console", "/ops/returns", "/ops/review", "/ops/dashboard", "/ops/admin", "/ops/returns.csv"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login"), path


def test_warehouse_cannot_approve_and_nothing_changes(container: Container, client: TestClient) -> None:
    number = _rma_in_review(container)
    login(client, "warehouse")
    token = csrf(client, "/console")
    r = client.post(f"/ops/returns/{number}/authorize", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403
    assert str(svc.get_rma(container.uow, number).status) == "in_review"


def test_agent_cannot_create_users_and_nothing_changes(container: Container, client: TestClient) -> None:
    login(client, "agent")
    r = client.post("/ops/admin/users", data={"csrf_token": csrf(client, "/ops/returns"), "username": "eve",
                                              "password": "0123456789ab", "role": "admin"}, follow_redirects=False)
    assert r.status_code == 403
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.staff_users)).scalar_one() == 3


def test_a_role_change_ends_the_open_session(container: Container, client: TestClient) -> None:
    login(client, "agent")
    assert client.get("/ops/returns", follow_redirects=False).status_code == 200
    with container.uow() as uow:
        staff.change_role(uow, username="agent", role="agent", active=False)
        uow.commit()
    assert client.get("/ops/returns", follow_redirects=False).status_code == 303


def test_wrong_email_and_unknown_order_give_the_same_answer(container: Container, client: TestClient) -> None:
    add_order(container)
    token = csrf(client)
    wrong_email = client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001",
                                                       "proof": "bob@example.com"})
    unknown = client.post("/returns/lookup", data={"csrf_token": token, "order_number": "999999",
                                                   "proof": "ann@example.com"})
    assert wrong_email.status_code == unknown.status_code == 404
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731 - the echoed inputs differ
    assert strip(wrong_email.text) == strip(unknown.text)


def test_lookups_are_rate_limited_after_five_failures_even_for_the_right_pair(container: Container,
                                                                              client: TestClient) -> None:
    add_order(container)
    token = csrf(client)
    for _ in range(5):
        assert client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001",
                                                    "proof": f"guess{_}@example.com"}).status_code == 404
    r = client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001",
                                             "proof": "ann@example.com"}, follow_redirects=False)
    assert r.status_code == 429 and security.PORTAL_COOKIE not in r.cookies


def test_a_tracking_link_shows_only_its_own_return(container: Container, client: TestClient) -> None:
    add_order(container)
    add_order(container, order_number="100002", customer_id="C2", email="bob@example.com")
    ann = svc.request_return(container.uow, order_number="100001", proof="ann@example.com",
                             lines=[svc.RequestedLine(sku="SKU-A", quantity=1, reason="damaged")],
                             actor="customer:ann", policy=container.policy)
    bob = svc.request_return(container.uow, order_number="100002", proof="bob@example.com",
                             lines=[svc.RequestedLine(sku="SKU-B", quantity=1, reason="damaged")],
                             actor="customer:bob", policy=container.policy)
    token = security.URLSafeSerializer("test-secret", salt="tracking").dumps(ann.number)
    page = client.get(f"/returns/track/{token}")
    assert page.status_code == 200 and ann.number in page.text and bob.number not in page.text
    forged = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    assert client.get(f"/returns/track/{forged}").status_code == 404
    unsigned = security.URLSafeSerializer("another-secret", salt="tracking").dumps(bob.number)
    r = client.get(f"/returns/track/{unsigned}")
    assert r.status_code == 404 and bob.number not in r.text


def _return_form(container: Container, client: TestClient) -> dict[str, str]:
    """Ann's order 100001 found in the portal; the form fields returning 1 unit of line 1 as damaged."""
    order = add_order(container)
    token = csrf(client)
    client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001", "proof": "ann@example.com"})
    line_id = order.lines[0].id
    return {"csrf_token": token, f"qty_{line_id}": "1", f"reason_{line_id}": "damaged", "outcome": "refund",
            "shipping_method": "label"}


def test_a_photo_that_is_not_an_image_is_refused_and_no_return_is_stored(container: Container,
                                                                          client: TestClient) -> None:
    r = client.post("/returns/order", data=_return_form(container, client),
                    files={"photos": ("evil.jpg", b"#!/bin/sh\necho not a photo", "image/jpeg")})
    assert r.status_code == 422 and "is not a JPEG, PNG or WebP photo" in r.text
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.return_authorizations)).scalar_one() == 0


def test_a_fake_png_is_refused_and_an_oversized_upload_is_cut_off_with_413(container: Container,
                                                                        client: TestClient) -> None:
    form = _return_form(container, client)
    fake = b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>"  # PNG's first 8 bytes, then HTML
    r = client.post("/returns/order", data=form, files={"photos": ("x.png", fake, "image/png")})
    assert r.status_code == 422 and "is not a JPEG, PNG or WebP photo" in r.text
    # 5 photos of 5 MiB + 1 MiB of fields is the most a return form may carry; 27 MiB is cut off
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (27 * 1024 * 1024)
    r = client.post("/returns/order", data=form, files={"photos": ("big.png", big, "image/png")})
    assert r.status_code == 413
    # the JSON API takes at most 2 MiB
    r = client.post("/api/v1/returns", content=b'{"x": "' + b"a" * (3 * 1024 * 1024) + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
    with container.uow() as uow:
        assert uow.session.execute(select(func.count()).select_from(t.return_authorizations)).scalar_one() == 0
