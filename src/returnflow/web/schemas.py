"""Request and response bodies of the JSON API (money as strings, times ISO 8601 UTC)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from returnflow.domain.money import round_money
from returnflow.domain.returns import ReturnAuthorization


def _refuse_nul(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters (U+0000)")
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    return value


class ApiIn(BaseModel):
    """Base of every JSON request body: unknown fields refused, and no text may hold a NUL character (PostgreSQL
    text cannot store one; refusing it here gives the same 422 on SQLite and before anything is written)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        return _refuse_nul(value)


class ReturnLineIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    order_line_id: StrictInt | None = Field(None, description="order line id (or give sku)")
    sku: str | None = Field(None, min_length=1, max_length=64)
    quantity: StrictInt = Field(..., ge=1, le=1_000_000, description="units (a JSON integer)")
    reason: str = Field(..., min_length=1, max_length=64, description="a code of GET /api/v1/reasons")
    sub_reason: str = Field("", max_length=64, description="a detail listed under the reason")
    comment: str = Field("", max_length=2000)
    photos: int = Field(0, ge=0, le=50, description="counted from staff keys only (customers cannot upload here)")
    conditions: list[str] = Field(default_factory=list, max_length=10,
                                  description="condition statements confirmed, e.g. 'unworn'")

    @model_validator(mode="after")
    def _line_named(self) -> ReturnLineIn:
        if self.order_line_id is None and not self.sku:
            raise ValueError("give order_line_id or sku")
        return self


class ReturnRequestIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    order_number: str = Field(..., min_length=1, max_length=64)
    email: str | None = Field(None, max_length=254, description="the order's email (the customer's proof)")
    customer_id: str | None = Field(None, max_length=64,
                                    description="staff (API key) only: the customer id instead of the email")
    lines: list[ReturnLineIn] = Field(..., min_length=1, max_length=200)


class NoteIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=2000)


class ReasonIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(..., min_length=1, max_length=2000)


class LabelIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    return_center_code: str | None = Field(None, max_length=32)


class ScanIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    scan: str = Field(..., description="pre_transit, in_transit, out_for_delivery, delivered, exception, lost")
    location: str = Field("", max_length=255)
    occurred_at: AwareDatetime | None = Field(None, description="with a UTC offset")


class ReceiveIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    return_center_code: str = Field(..., min_length=1, max_length=32)
    quantities: dict[int, int] = Field(..., description="return line id -> units counted")
    complete: bool = True


class InspectIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    line_id: int
    grade: str = Field(..., pattern="^[ABCD]$")
    disposition: str | None = None
    accept: bool = True
    note: str = Field("", max_length=2000)


class RefundIn(ApiIn):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field("refund", pattern="^(refund|store_credit)$")
    reference: str = Field("", max_length=128)


def _money(amount: Decimal, currency: str) -> str:
    """A money amount as text in the currency's minor units ("20.00", never "2E+1")."""
    return str(round_money(amount, currency))


def rma_out(rma: ReturnAuthorization, *, with_events: bool = True) -> dict[str, Any]:
    """The JSON shape of an RMA."""
    out: dict[str, Any] = {
        "number": rma.number, "order_number": rma.order_number, "customer_id": rma.customer_id,
        "status": str(rma.status), "resolution": str(rma.resolution) if rma.resolution else None,
        "currency": rma.currency, "channel": rma.channel, "claim_remedy": rma.claim_remedy,
        "return_center_code": rma.return_center_code,
        "carrier": rma.carrier, "tracking_code": rma.tracking_code, "decision": rma.decision,
        "policy_version": rma.policy_version, "refund_total": _money(rma.refund_total, rma.currency),
        "requested_at": rma.requested_at.isoformat(),
        "updated_at": rma.updated_at.isoformat() if rma.updated_at else None,
        "lines": [{"id": l.id, "order_line_id": l.order_line_id, "sku": l.sku, "description": l.description,
                   "quantity": l.quantity, "reason": l.reason, "comment": l.reason_detail,
                   "paid_amount": _money(l.paid_amount, rma.currency), "reception_status": str(l.reception_status),
                   "acceptance_status": str(l.acceptance_status), "quantity_received": l.quantity_received,
                   "grade": str(l.grade) if l.grade else None,
                   "disposition": str(l.disposition) if l.disposition else None, "restock": l.restock,
                   "refunded_amount": _money(l.refunded_amount, rma.currency)} for l in rma.lines],
    }
    if with_events:
        out["events"] = [{"name": e.name, "actor": e.actor, "occurred_at": e.occurred_at.isoformat(),
                          "from_status": e.from_status, "to_status": e.to_status, "data": e.data}
                         for e in rma.events]
    return out
