"""SQLAlchemy 2 table definitions: the one schema for SQLite and PostgreSQL (Alembic builds it)."""

from __future__ import annotations

from datetime import UTC as _UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, Numeric, String,
    Table, Text, UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact money: NUMERIC(18, 6) on PostgreSQL; text on SQLite, whose NUMERIC is a float."""

    impl = Numeric(18, 6, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):  # type: ignore[no-untyped-def]
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, 6, asdecimal=True))

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        value = Decimal(value)
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return Decimal(value).normalize() if dialect.name != "sqlite" else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Returnflow stores timezone-aware UTC times")
        return value.astimezone(_UTC)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s"})

MONEY = ExactDecimal()  # amounts keep more precision than any currency (ISO 4217 max 4)
ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrement needs INTEGER PRIMARY KEY
UTC = UTCDateTime()

customers = Table(
    "customers", metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(254), nullable=False, index=True),
    Column("country", String(64), nullable=False, default=""),
    Column("postal_code", String(32), nullable=False, default=""),
    Column("tier", String(32), nullable=False, default="standard"),
)

orders = Table(
    "orders", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("order_number", String(64), nullable=False, unique=True),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False, index=True),
    Column("customer_email", String(254), nullable=False),
    Column("country", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("placed_at", UTC, nullable=False, index=True),
    Column("source", String(64), nullable=False, default="api"),
)

order_lines = Table(
    "order_lines", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("order_id", ID, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("line_number", Integer, nullable=False),
    Column("sku", String(64), nullable=False, index=True),
    Column("description", String(255), nullable=False, default=""),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", MONEY, nullable=False),
    Column("kind", String(16), nullable=False, default="goods"),
    Column("line_discount", MONEY, nullable=False, default=0),
    Column("order_discount", MONEY, nullable=False, default=0),
    Column("tax_amount", MONEY, nullable=False, default=0),
    UniqueConstraint("order_id", "line_number", name="uq_order_lines_order_line"),
)

payments = Table(
    "payments", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("order_id", ID, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("method", String(32), nullable=False),  # card, gift_card, store_credit, ...
    Column("amount", MONEY, nullable=False),
    Column("refunded", MONEY, nullable=False, default=0),
    Column("reference", String(128), nullable=False, default=""),
)

return_authorizations = Table(
    "return_authorizations", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("order_id", ID, ForeignKey("orders.id"), nullable=False, index=True),
    Column("order_number", String(64), nullable=False, index=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("resolution", String(32)),
    Column("channel", String(32), nullable=False, default="api"),
    Column("return_center_code", String(32), index=True),
    Column("carrier", String(64)),
    Column("tracking_code", String(64), index=True),
    Column("decision", Text, nullable=False, default=""),
    Column("policy_version", String(64)),
    Column("refund_total", MONEY, nullable=False, default=0),
    Column("requested_at", UTC, nullable=False, index=True),
    Column("updated_at", UTC),
)

# Allocates RMA numbers without races on any database: an INSERT into an identity table is atomic.
rma_numbers = Table(
    "rma_numbers", metadata,
    Column("value", ID, primary_key=True, autoincrement=True),
    Column("claimed_at", UTC),
)

return_lines = Table(
    "return_lines", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("rma_id", ID, ForeignKey("return_authorizations.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("order_line_id", ID, ForeignKey("order_lines.id"), nullable=False, index=True),
    Column("sku", String(64), nullable=False, index=True),
    Column("description", String(255), nullable=False, default=""),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("reason_detail", Text, nullable=False, default=""),
    Column("paid_amount", MONEY, nullable=False, default=0),
    Column("reception_status", String(32), nullable=False),
    Column("acceptance_status", String(32), nullable=False),
    Column("quantity_received", Integer, nullable=False, default=0),
    Column("grade", String(1)),
    Column("disposition", String(32)),
    Column("restock", Boolean, nullable=False, default=False),
    Column("inspection_note", Text, nullable=False, default=""),
    Column("refunded_amount", MONEY, nullable=False, default=0),
)

return_events = Table(
    "return_events", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("rma_id", ID, ForeignKey("return_authorizations.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("occurred_at", UTC, nullable=False),
    Column("from_status", String(32), nullable=False),
    Column("to_status", String(32), nullable=False),
    Column("data", JSON, nullable=False, default=dict),
)

return_centers = Table(
    "return_centers", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("address", String(255), nullable=False, default=""),
    Column("postal_code", String(32), nullable=False, default=""),
    Column("country", String(64), nullable=False),
    Column("latitude", Numeric(9, 6)),
    Column("longitude", Numeric(9, 6)),
    Column("capabilities", JSON, nullable=False, default=list),
    Column("daily_capacity", Integer, nullable=False, default=1000),
    Column("handling_cost", MONEY, nullable=False, default=0),
)

stock_movements = Table(
    "stock_movements", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sku", String(64), nullable=False),
    Column("location_code", String(32), ForeignKey("return_centers.code"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("rma_number", String(32)),
    Column("occurred_at", UTC, nullable=False),
    Index("ix_stock_movements_sku_location", "sku", "location_code"),
)

import_batches = Table(
    "import_batches", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("source_sha256", String(64), nullable=False, unique=True),
    Column("source_name", String(255), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_imported", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("summary", JSON, nullable=False, default=dict),
    Column("imported_at", UTC, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False, default=list),
    Column("created_at", UTC, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("topic", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTC, nullable=False),
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTC),
    Column("last_error", Text),
)

# -- production mode (issue 6): idempotency keys, webhook subscriptions -------------------------------

# One row per (caller, Idempotency-Key): the first request's fingerprint and, once done, its answer.
idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("caller", String(64), nullable=False),  # SHA-256 of the credential, or "public"
    Column("key", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False, default="in_progress"),  # in_progress | done
    Column("response_status", Integer),
    Column("response_body", Text),
    Column("response_type", String(128)),
    Column("created_at", UTC, nullable=False, index=True),
    UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),
)

# Merchants' endpoints: each receives the RMA event types it subscribed to, signed per Standard Webhooks.
webhook_subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(128), nullable=False),  # whsec_<base64>
    Column("event_types", JSON, nullable=False, default=list),  # [] = every event type
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTC, nullable=False),
)

# The worker's claim order: due pending messages, oldest first.
Index("ix_outbox_status_next_attempt_at", outbox.c.status, outbox.c.next_attempt_at)
