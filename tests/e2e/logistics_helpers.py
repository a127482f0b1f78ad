"""Helpers for the logistics end-to-end tests: orders, RMAs through the API, label decoding."""

from __future__ import annotations

import hashlib
import hmac

import pypdfium2
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update

from returnflow.adapters.db import tables as t
from returnflow.bootstrap import Container
from tests.conftest import add_order


def new_rma(client: TestClient, container: Container, *, order_number: str = "100001", customer_id: str = "C1",
            email: str = "ann@example.com", country: str = "United Kingdom", currency: str = "GBP",
            postal_code: str = "", lines: list[tuple[str, int, str]] | None = None,
            ask: list[tuple[str, int]] | None = None) -> str:
    """Store an order and request a return of ``ask`` (sku, units) through the API; the RMA number."""
    add_order(container, order_number=order_number, customer_id=customer_id, email=email, country=country,
              currency=currency, lines=lines)
    if postal_code:
        with container.uow() as uow:
            uow.session.execute(update(t.customers).where(t.customers.c.id == customer_id)
                                .values(postal_code=postal_code, country=country))
            uow.commit()
    response = client.post("/api/v1/returns", json={
        "order_number": order_number, "email": email,
        "lines": [{"sku": sku, "quantity": units, "reason": "wrong_size"} for sku, units in (ask or [("SKU-A", 1)])]})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "authorized"
    return str(response.json()["number"])


def decode_pdf(pdf: bytes) -> dict[str, str]:
    """Render page 1 with PDFium at 300 dpi and decode every symbol with zxing-cpp: format -> text."""
    image: Image.Image = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil()
    return {result.format.name: result.text for result in zxingcpp.read_barcodes(image)}


def sign(secret: str, body: bytes) -> str:
    return "hmac-sha256-hex=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
