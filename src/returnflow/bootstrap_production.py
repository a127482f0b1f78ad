"""Production settings from the environment: mail, broker, outbox retries, limits. Secrets only from here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from returnflow.adapters.notifications.email import SmtpSettings
from returnflow.adapters.outbox.backoff import RetryPolicy


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


@dataclass
class ProductionSettings:
    """``RETURNFLOW_*`` variables (see docs/production.md for the full table)."""

    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    broker_url: str = ""  # redis://... or amqp://...: deliver through Dramatiq; empty: the worker delivers itself
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    outbox_lease_seconds: float = 60.0
    embedded_worker: bool = False  # run the worker in a thread of the API process (the SQLite default)
    order_lookups_per_minute: int = 30  # per client address, public order lookups
    customer_token_seconds: int = 3600
    json_logs: bool = True

    @classmethod
    def from_environment(cls) -> ProductionSettings:
        return cls(
            smtp=SmtpSettings(host=_env("RETURNFLOW_SMTP_HOST"), port=int(_env("RETURNFLOW_SMTP_PORT", "25")),
                              sender=_env("RETURNFLOW_MAIL_FROM", "returns@returnflow.invalid"),
                              username=_env("RETURNFLOW_SMTP_USERNAME"), password=_env("RETURNFLOW_SMTP_PASSWORD"),
                              starttls=_env("RETURNFLOW_SMTP_STARTTLS") == "1"),
            broker_url=_env("RETURNFLOW_BROKER_URL"),
            retry=RetryPolicy(max_attempts=int(_env("RETURNFLOW_OUTBOX_MAX_ATTEMPTS", "8")),
                              base_seconds=float(_env("RETURNFLOW_OUTBOX_BACKOFF_SECONDS", "2")),
                              cap_seconds=float(_env("RETURNFLOW_OUTBOX_BACKOFF_CAP_SECONDS", "3600"))),
            outbox_lease_seconds=float(_env("RETURNFLOW_OUTBOX_LEASE_SECONDS", "60")),
            embedded_worker=_env("RETURNFLOW_EMBEDDED_WORKER") == "1",
            order_lookups_per_minute=int(_env("RETURNFLOW_ORDER_LOOKUPS_PER_MINUTE", "30")),
            customer_token_seconds=int(_env("RETURNFLOW_CUSTOMER_TOKEN_SECONDS", "3600")),
            json_logs=_env("RETURNFLOW_JSON_LOGS", "1") == "1",
        )
