"""Against a running server on PostgreSQL (2 uvicorn processes), concurrent requests cannot act twice.

Each test fires 50 requests at once from 50 threads (a barrier releases them together).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container, Settings
from returnflow.services import access, centers
from returnflow.services.setup import upgrade_database
from tests.conftest import _clean, add_order
from tests.integration.production.server import running_api

pytestmark = pytest.mark.postgres
N = 50


@pytest.fixture(scope="module")
def pg(postgres_url: str) -> Iterator[Container]:
    container = Container(Settings(database_url=postgres_url))
    upgrade_database(container.engine)
    yield container
    container.dispose()


@pytest.fixture(scope="module")
def api(pg: Container, postgres_url: str) -> Iterator[str]:
    with running_api(postgres_url, workers=2) as base:
        yield base


@pytest.fixture
def fresh(pg: Container) -> tuple[Container, str]:
    _clean(pg)
    with pg.uow() as uow:
        centers.ensure_default_centers(uow)
        key = access.create_api_key(uow, name="admin", scopes=["admin"])
        uow.commit()
    return pg, key


def fire(requests: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Send all requests at the same moment, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))

    def one(request: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return request(client)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def count(pg: Container, table: t.Table, *where: object) -> int:  # type: ignore[name-defined]
    with pg.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_fifty_concurrent_refunds_of_one_rma_refund_exactly_once(api: str, fresh: tuple[Container, str]) -> None:
    pg, key = fresh
    add_order(pg)  # SKU-A: 3 x 10.00
    staff = {"X-API-Key": key}
    with httpx.Client(base_url=api, headers=staff) as c:
        rma = c.post("/api/v1/returns", json={"order_number": "100001", "email": "ann@example.com", "lines": [
            {"sku": "SKU-A", "quantity": 1, "reason": "wrong_size"}]}).json()
        number, line_id = rma["number"], rma["lines"][0]["id"]
        assert c.post(f"/api/v1/returns/{number}/label", json={}).status_code == 200
        assert c.post(f"/api/v1/returns/{number}/receive", json={
            "return_center_code": "RC-UK-01", "quantities": {str(line_id): 1}}
                      ).status_code == 200
        assert c.post(f"/api/v1/returns/{number}/inspect", json={"line_id": line_id, "grade": "A"}).status_code == 200

    def refund(idempotency_key: str) -> Callable[[httpx.Client], httpx.Response]:
        return lambda client: client.post(f"{api}/api/v1/returns/{number}/refund", json={"reference": "r"},
                                          headers={**staff, "Idempotency-Key": idempotency_key})

    keys = ["same"] * (N // 2) + [f"key-{i}" for i in range(N - N // 2)]
    answers = fire([refund(k) for k in keys])

    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 409}, statuses
    same = [a for k, a in zip(keys, answers, strict=True) if k == "same"]
    assert len({(a.status_code, a.text) for a in same}) == 1  # every repeat of a key gets the first answer
    distinct = [a for k, a in zip(keys, answers, strict=True) if k != "same"]
    winners = sum(a.status_code == 200 for a in distinct) + (same[0].status_code == 200)
    assert winners == 1
    assert count(pg, t.return_events, t.return_events.c.name == "return.refunded") == 1
    with pg.engine.connect() as conn:
        assert conn.execute(select(t.return_authorizations.c.refund_total)).scalar_one() == Decimal("10.00")


def test_fifty_concurrent_returns_of_one_order_line_never_return_more_than_was_bought(
        api: str, fresh: tuple[Container, str]) -> None:
    pg, _ = fresh
    add_order(pg, lines=[("SKU-A", 3, "10.00")])
    body = {"order_number": "100001", "email": "ann@example.com",
            "lines": [{"sku": "SKU-A", "quantity": 1, "reason": "wrong_size"}]}
    keys = [f"k-{i % 40}" for i in range(N)]  # 10 keys sent twice, 30 once

    answers = fire([lambda client, k=k: client.post(f"{api}/api/v1/returns", json=body,
                                                     headers={"Idempotency-Key": k}) for k in keys])

    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 422}, statuses
    created = {a.json()["number"] for a in answers if a.status_code == 201}
    assert len(created) == 3
    assert count(pg, t.return_authorizations) == 3
    with pg.engine.connect() as conn:
        assert conn.execute(select(func.sum(t.return_lines.c.quantity))).scalar_one() == 3
    by_key: dict[str, set[str]] = {}
    for k, a in zip(keys, answers, strict=True):
        by_key.setdefault(k, set()).add(a.text)
    assert all(len(texts) == 1 for texts in by_key.values())


def test_fifty_concurrent_returns_get_fifty_distinct_rma_numbers(api: str, fresh: tuple[Container, str]) -> None:
    pg, _ = fresh
    for i in range(N):
        add_order(pg, order_number=f"2000{i:02d}", customer_id=f"C{i}", email=f"c{i}@example.com")
    answers = fire([lambda client, i=i: client.post(f"{api}/api/v1/returns", json={
        "order_number": f"2000{i:02d}", "email": f"c{i}@example.com",
        "lines": [{"sku": "SKU-B", "quantity": 1, "reason": "damaged_item"}]}) for i in range(N)])

    assert Counter(a.status_code for a in answers) == {201: N}
    numbers = [a.json()["number"] for a in answers]
    assert sorted(numbers) == [f"RMA-{i:06d}" for i in range(1, N + 1)]
