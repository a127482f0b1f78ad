"""SQLAlchemy 2 table definitions: the one schema for SQLite and PostgreSQL (Alembic builds it)."""

from __future__ import annotations

from datetime import UTC as _UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, Numeric,
    String, Table, Text, UniqueConstraint, false,
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
        if dialect.name == "sqlite":
            return Decimal(value)
        stripped = Decimal(value).normalize()  # NUMERIC(18, 6): 45.500000 -> 45.5, but 10.000000 -> 1E+1 ...
        return stripped.quantize(Decimal(1)) if stripped.as_tuple().exponent > 0 else stripped  # ... -> 10


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
    # 0002_policy_money
    Column("prices_include_tax", Boolean, nullable=False, default=False, server_default=false()),
    Column("fulfilled_at", UTC),
    Column("delivered_at", UTC),
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
    # 0002_policy_money
    Column("tax_rate", MONEY, nullable=False, default=0, server_default="0"),
    Column("invoiced_total", MONEY),
    Column("category", String(64), nullable=False, default="", server_default=""),
    Column("tags", JSON),
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
    Column("claim_remedy", String(16)),  # a claim's chosen remedy: refund, store_credit, replacement
    # the Idempotency-Key a claim was filed with: unique, so a retried or concurrent claim finds the first RMA
    Column("claim_key", String(255), unique=True),
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

# -- logistics (issue 7): labels, consolidated shipments, drop-off codes, pickups, tracking, 3PL receipts --

# One parcel carrying several open RMAs of one customer under one label.
shipments = Table(
    "shipments", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("reference", String(32), nullable=False, unique=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("return_center_code", String(32), ForeignKey("return_centers.code"), nullable=False),
    Column("created_at", UTC, nullable=False),
)

shipment_rmas = Table(
    "shipment_rmas", metadata,
    Column("shipment_id", ID, ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True),
    Column("rma_number", String(32), ForeignKey("return_authorizations.number"), primary_key=True),
    UniqueConstraint("rma_number", name="uq_shipment_rmas_rma_number"),  # an RMA travels in one parcel
)

# A bought label: for one RMA (rma_number) or for a consolidated shipment (shipment_id).
shipping_labels = Table(
    "shipping_labels", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("rma_number", String(32), ForeignKey("return_authorizations.number"), index=True),
    Column("shipment_id", ID, ForeignKey("shipments.id"), index=True),
    Column("carrier", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("tracking_code", String(64), nullable=False, index=True),
    Column("carrier_label_id", String(128), nullable=False, default=""),
    Column("rate_amount", MONEY),
    Column("rate_currency", String(3)),
    Column("label_pdf", LargeBinary),
    Column("label_url", Text),
    Column("created_at", UTC, nullable=False),
)

dropoff_codes = Table(
    "dropoff_codes", metadata,
    Column("rma_number", String(32), ForeignKey("return_authorizations.number"), primary_key=True),
    Column("token", String(32), nullable=False),
    Column("dropoff_point_id", String(32)),
    Column("created_at", UTC, nullable=False),
    Column("scanned_at", UTC),
)

pickup_windows = Table(
    "pickup_windows", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("area", String(16), nullable=False),  # postal code prefix
    Column("day", Date, nullable=False),
    Column("starts", String(5), nullable=False),  # local time "HH:MM"
    Column("ends", String(5), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("booked", Integer, nullable=False, default=0),
    UniqueConstraint("area", "day", "starts", name="uq_pickup_windows_area_day_starts"),
    Index("ix_pickup_windows_day_area", "day", "area"),
)

pickup_bookings = Table(
    "pickup_bookings", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("rma_number", String(32), ForeignKey("return_authorizations.number"), nullable=False, index=True),
    Column("window_id", ID, ForeignKey("pickup_windows.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # booked | cancelled
    Column("postal_code", String(32), nullable=False),
    Column("address", Text, nullable=False, default=""),
    Column("fee_amount", MONEY, nullable=False, default=0),
    Column("fee_currency", String(3), nullable=False),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
)

# Carrier tracking events already processed (duplicates are recognised by (carrier, event_id)).
carrier_events = Table(
    "carrier_events", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("carrier", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("tracking_code", String(64), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("occurred_at", UTC, nullable=False),
    Column("received_at", UTC, nullable=False),
    Column("outcome", String(255), nullable=False, default=""),
    UniqueConstraint("carrier", "event_id", name="uq_carrier_events_carrier_event"),
)

# 3PL receipt rows already applied (each row applies once, by its key).
receipt_rows = Table(
    "receipt_rows", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("row_key", String(128), nullable=False, unique=True),
    Column("rma_number", String(32), nullable=False, index=True),
    Column("sku", String(64), nullable=False),
    Column("units", Integer, nullable=False),
    Column("grade", String(1), nullable=False),
    Column("notes", Text, nullable=False, default=""),
    Column("source", String(255), nullable=False, default=""),
    Column("applied_at", UTC, nullable=False),
)

# -- pages (issue 4): staff users, return reasons, portal choices, photos, unexpected parcels ------------

staff_users = Table(
    "staff_users", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),  # Argon2id, PHC string format
    Column("role", String(16), nullable=False),  # warehouse, agent, admin
    Column("active", Boolean, nullable=False, default=True),
    Column("session_version", Integer, nullable=False, default=1),  # bumped to end every open session
    Column("created_at", UTC, nullable=False),
)

return_reasons = Table(
    "return_reasons", metadata,
    Column("code", String(64), primary_key=True),
    Column("label", String(128), nullable=False),
    Column("parent_code", String(64)),  # a sub-reason names its reason
    Column("active", Boolean, nullable=False, default=True),
    Column("position", Integer, nullable=False, default=0),
)

return_preferences = Table(
    "return_preferences", metadata,
    Column("rma_id", ID, ForeignKey("return_authorizations.id", ondelete="CASCADE"), primary_key=True),
    Column("outcome", String(32), nullable=False),  # refund, store_credit, exchange
    Column("exchange_note", String(255), nullable=False, default=""),
    Column("shipping_method", String(32), nullable=False),  # label, dropoff_qr, pickup
    Column("pickup_window", String(64), nullable=False, default=""),
    Column("customer_email", String(254), nullable=False),
)

return_photos = Table(
    "return_photos", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("rma_id", ID, ForeignKey("return_authorizations.id", ondelete="CASCADE"), index=True),
    Column("parcel_id", ID),  # an unexpected parcel's photo
    Column("source", String(16), nullable=False),  # customer, warehouse
    Column("content_type", String(32), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("uploaded_at", UTC, nullable=False),
)

unexpected_parcels = Table(
    "unexpected_parcels", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("return_center_code", String(32), ForeignKey("return_centers.code"), nullable=False),
    Column("tracking_code", String(64), nullable=False, default=""),
    Column("sender", String(255), nullable=False, default=""),
    Column("contents", Text, nullable=False, default=""),
    Column("received_by", String(64), nullable=False),
    Column("received_at", UTC, nullable=False),
    Column("rma_number", String(32), index=True),  # set when linked later
)

# -- 0002_policy_money: policy versions, refunds with idempotency keys, store credit, exchanges --------

policy_versions = Table(
    "policy_versions", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),  # the latest row is the active policy
    Column("version", String(64), nullable=False, unique=True),
    Column("source", Text, nullable=False),  # the TOML text as given
    Column("created_at", UTC, nullable=False),
    Column("created_by", String(128), nullable=False, default=""),
)

# Which stored version is active: the latest row. ``PUT /api/v1/policy`` adds one for a new version and for
# an existing one sent again (a rollback); versions stored only because they decided an RMA get none.
policy_activations = Table(
    "policy_activations", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False),
    Column("activated_at", UTC, nullable=False),
    Column("activated_by", String(128), nullable=False, default=""),
)

refunds = Table(
    "refunds", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("order_id", ID, ForeignKey("orders.id"), nullable=False, index=True),
    Column("rma_id", ID, ForeignKey("return_authorizations.id"), index=True),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("kind", String(32), nullable=False),  # refund, store_credit, claim, exchange
    Column("currency", String(3), nullable=False),
    Column("amount", MONEY, nullable=False),  # money given back (payments + store credit), bonus excluded
    Column("bonus", MONEY, nullable=False, default=0),
    Column("breakdown", JSON, nullable=False, default=dict),
    Column("policy_version", String(64)),
    Column("actor", String(128), nullable=False, default=""),
    Column("created_at", UTC, nullable=False),
)

store_credit_entries = Table(
    "store_credit_entries", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(16), nullable=False),  # issued, spent, expired
    Column("amount", MONEY, nullable=False),  # positive; the kind gives the sign
    Column("expires_at", UTC),
    Column("source_entry_id", ID, ForeignKey("store_credit_entries.id")),  # expired: which issue
    Column("refund_id", ID, ForeignKey("refunds.id")),
    Column("reference", String(128), nullable=False, default=""),
    Column("created_at", UTC, nullable=False),
    Index("ix_store_credit_entries_customer_currency", "customer_id", "currency"),
)

products = Table(
    "products", metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(255), nullable=False, default=""),
    Column("product_group", String(64), nullable=False, default=""),  # variants of one product share it
    Column("price", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
)

exchanges = Table(
    "exchanges", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("rma_id", ID, ForeignKey("return_authorizations.id"), nullable=False, index=True),
    Column("return_line_id", ID, ForeignKey("return_lines.id"), nullable=False),
    Column("new_sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("location_code", String(32), ForeignKey("return_centers.code"), nullable=False),
    Column("returned_value", MONEY, nullable=False),
    Column("new_value", MONEY, nullable=False),
    Column("price_difference", MONEY, nullable=False),  # > 0: the customer pays; < 0: refunded
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),  # reserved, shipped, completed, charged, cancelled
    Column("instant", Boolean, nullable=False, default=False),
    Column("hold_amount", MONEY, nullable=False, default=0),
    Column("hold_due_at", UTC),
    Column("created_at", UTC, nullable=False),
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
