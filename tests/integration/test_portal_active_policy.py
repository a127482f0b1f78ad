"""The portal decides new returns with the active stored policy, not the file loaded at start (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from returnflow.bootstrap import Container
from returnflow.services import policies
from returnflow.services import returns as svc
from tests.conftest import add_order
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
    preview = client.get(f"/returns/order/preview?line_{line_id}=1&reason_{line_id}=size")
    assert preview.json()["total"] == "8.00"
    r = client.post("/returns/order", data={"csrf_token": token, "outcome": "refund", "shipping_method": "label",
                                            f"qty_{line_id}": "1", f"reason_{line_id}": "size"},
                    files={"photos": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    assert svc.get_rma(container.uow, "RMA-000001").policy_version == "portal-2026-12"
