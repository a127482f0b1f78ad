"""Structured JSON logs (one object per line) with the request id, and personal data masked.

Masked: email addresses (``a***@example.com``) anywhere in the message or extra fields, and the values of
fields named like personal data (:data:`PERSONAL_FIELDS`: emails, addresses, names, phone numbers).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
PERSONAL_FIELDS = {"email", "customer_email", "to", "address", "street", "postal_code", "phone", "name",
                   "first_name", "last_name"}
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def mask(value: Any) -> Any:
    """``value`` with every email address masked; dicts and lists are masked recursively."""
    if isinstance(value, str):
        return EMAIL.sub(r"\1***@\2", value)
    if isinstance(value, dict):
        return {k: ("***" if str(k).lower() in PERSONAL_FIELDS and v else mask(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra fields}``, personal data masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if rid := request_id.get():
            entry["request_id"] = rid
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(mask(entry), default=str)


def configure_logging(*, json_output: bool = True, level: int = logging.INFO) -> None:
    """Send ``returnflow.*`` logs to stderr, as JSON lines unless ``json_output`` is False."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_output else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("returnflow")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
