"""The portal decides new returns with the active stored policy, not the file loaded at start (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from returnflow.adapters.db.repository import RmaFilter
from returnflow.bootstrap import Container
from returnflow.services import policies
from returnflow.services import returns as svc
from tests.conftest import PHOTO_AND_SIZE_POLICY, add_order
from tests.integration.pages_helpers import staff_client

STORED = 'version = "portal-2026-12"\n[fees]\nreturn_shipping_fee = "2.00"\n'


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    yield from staff_client(container, with_users=False)


def test_the_portal_previews_and_submits_with_the_active_stored_policy(container: Container,
                                                                       client: TestClient) -> None:
    add_order(container, lines=[("SKU-A", 1, "10.00")])
    policies.put_policy(container.uow, source=STORED, actor="staff:admin")  # another process stored it
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/returns").text).group(1)  # type: ignore[union-attr]
    assert client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001",
                                                "proof": "ann@example.com"}, follow_redirects=False).status_code == 303
    line_id = re.findall(r'name="qty_(\d+)"', client.get("/returns/order").text)[0]
    # the preview deducts the stored policy's 2.00 label fee: 10.00 - 2.00 = 8.00 (the file policy: 10.00)
    preview = client.get(f"/returns/order/preview?line_{line_id}=1&reason_{line_id}=wrong_size")
    assert preview.json()["total"] == "8.00"
    r = client.post("/returns/order", data={"csrf_token": token, "outcome": "refund", "shipping_method": "label",
                                            f"qty_{line_id}": "1", f"reason_{line_id}": "wrong_size"},
                    files={"photos": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    assert svc.get_rma(container.uow, "RMA-000001").policy_version == "portal-2026-12"


WITH_REASONS = '''version = "reasons-2026-12"
[[reasons]]
code = "size"
label = "Does not fit"
sub_reasons = ["too_small", "too_large"]

[[reasons]]
code = "faulty"
label = "Does not work"
'''


def _reason_options(page: str, line_id: str) -> list[str]:
    select = re.search(rf'<select id="reason_{line_id}".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    return [code for code in re.findall(r'<option value="([^"]*)"', select) if code]


def test_the_portal_offers_the_policys_reasons_when_it_has_any_else_the_managed_list(container: Container,
                                                                                    client: TestClient) -> None:
    add_order(container, lines=[("SKU-A", 1, "10.00")])
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/returns").text).group(1)  # type: ignore[union-attr]
    client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001", "proof": "ann@example.com"})
    page = client.get("/returns/order").text
    line_id = re.findall(r'name="qty_(\d+)"', page)[0]
    # no [[reasons]] in the policy: the managed list's top-level reasons (services/staff.py DEFAULT_REASONS)
    assert _reason_options(page, line_id) == ["damaged", "not_as_described", "wrong_item", "changed_mind", "faulty",
                                              "late"]

    policies.put_policy(container.uow, source=WITH_REASONS, actor="staff:admin")
    container.forget_active_policy()
    page = client.get("/returns/order").text
    assert _reason_options(page, line_id) == ["size", "faulty"]  # exactly the policy's, in its order
    assert '"size": [["too_small", "Too small"], ["too_large", "Too large"]]' in page
    # a sub-reason the policy does not list for "size" is refused, and nothing is stored
    r = client.post("/returns/order", data={"csrf_token": token, "outcome": "refund", "shipping_method": "label",
                                            f"qty_{line_id}": "1", f"reason_{line_id}": "size",
                                            f"subreason_{line_id}": "too_pink"},
                    files={"photos": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert r.status_code == 422 and "too_pink" in r.text
    with container.uow() as uow:
        assert uow.repo.list_rmas(RmaFilter(), offset=0, limit=10)[0] == 0


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_photo_uploaded_in_the_portal_counts_for_a_reason_that_needs_one(container: Container,
                                                                          client: TestClient) -> None:
    add_order(container, lines=[("SKU-A", 2, "10.00")])
    policies.put_policy(container.uow, source=PHOTO_AND_SIZE_POLICY, actor="staff:admin")
    container.forget_active_policy()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/returns").text).group(1)  # type: ignore[union-attr]
    client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001", "proof": "ann@example.com"})
    line_id = re.findall(r'name="qty_(\d+)"', client.get("/returns/order").text)[0]
    # units chosen before a reason: the preview prices them (no reason check yet), as the page asks for one
    early = client.get(f"/returns/order/preview?line_{line_id}=1")
    assert early.status_code == 200 and early.json()["total"] == "10.00", early.text
    form = {"csrf_token": token, "outcome": "refund", "shipping_method": "label", f"qty_{line_id}": "1",
            f"reason_{line_id}": "damaged"}
    with_photo = client.post("/returns/order", data=form, files={"photos": ("crack.png", _png(), "image/png")},
                             follow_redirects=False)
    assert with_photo.status_code == 303, with_photo.text[:500]
    without = client.post("/returns/order", data=form, files={"photos": ("", b"", "application/octet-stream")},
                          follow_redirects=False)
    assert without.status_code == 303
    first, second = svc.get_rma(container.uow, "RMA-000001"), svc.get_rma(container.uow, "RMA-000002")
    assert str(first.status) in ("authorized", "label_issued")  # the photo was there: approved at once
    assert str(second.status) == "in_review" and "a photo is needed" in second.decision
    assert first.events[0].actor == "customer:C1"


def test_an_agent_sees_the_customers_photo_on_the_return_and_nobody_else_can_fetch_it(container: Container) -> None:
    from tests.integration.pages_helpers import login, staff_client as signed_client

    add_order(container, lines=[("SKU-A", 2, "10.00")])
    policies.put_policy(container.uow, source=PHOTO_AND_SIZE_POLICY, actor="staff:admin")
    container.forget_active_policy()
    photo = _png()
    clients = signed_client(container)
    client = next(clients)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/returns").text).group(1)  # type: ignore[union-attr]
    client.post("/returns/lookup", data={"csrf_token": token, "order_number": "100001", "proof": "ann@example.com"})
    line_id = re.findall(r'name="qty_(\d+)"', client.get("/returns/order").text)[0]
    sent = client.post("/returns/order", data={"csrf_token": token, "outcome": "refund", "shipping_method": "label",
                                               f"qty_{line_id}": "1", f"reason_{line_id}": "damaged"},
                       files={"photos": ("crack.png", photo, "image/png")}, follow_redirects=False)
    assert sent.status_code == 303
    anonymous = client.get("/ops/returns/RMA-000001/photos/1", follow_redirects=False)
    assert anonymous.status_code in (303, 401) and anonymous.content != photo
    login(client, "agent")
    page = client.get("/ops/returns/RMA-000001").text
    src = re.search(r'<img src="(/ops/returns/RMA-000001/photos/\d+)"', page).group(1)  # type: ignore[union-attr]
    shown = client.get(src)
    assert (shown.status_code, shown.headers["content-type"], shown.content) == (200, "image/png", photo)
    assert client.get("/ops/returns/RMA-000001/photos/999").status_code == 404
    clients.close()
