"""Customer emails for the RMA steps that matter, rendered from templates and sent over SMTP.

Which events mail the customer: :data:`TEMPLATES` (approved, label issued, received, refunded or credited,
rejected with its reason). Each mail's ``Message-ID`` is derived from the outbox message id, so a redelivery
after a crash carries the same id and mail clients show it once (SMTP itself is at-least-once).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

#: event type -> (template file, subject template)
TEMPLATES: dict[str, tuple[str, str]] = {
    "return.authorized": ("authorized.txt.j2", "Your return {{ rma_number }} is approved"),
    "return.label_issued": ("label_issued.txt.j2", "Your return label for {{ rma_number }}"),
    "return.received": ("received.txt.j2", "We received your return {{ rma_number }}"),
    "return.refunded": ("refunded.txt.j2", "Your refund for {{ rma_number }}"),
    "return.settled": ("refunded.txt.j2", "Your store credit for {{ rma_number }}"),
    "return.rejected": ("rejected.txt.j2", "About your return {{ rma_number }}"),
}

_env = Environment(loader=PackageLoader("returnflow.adapters.notifications", "templates"),
                   undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes. ``host`` empty = mail is disabled (messages are acknowledged unsent)."""

    host: str = ""
    port: int = 25
    sender: str = "returns@returnflow.invalid"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_seconds: float = 10.0


def render(event: dict[str, Any], *, to: str, message_key: str, sender: str) -> EmailMessage | None:
    """The email for an RMA event payload (``repository.event_payload``), or None if the type mails no one."""
    entry = TEMPLATES.get(str(event.get("type")))
    if entry is None:
        return None
    template, subject = entry
    context = {**event, "data": event.get("data") or {}}
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = _env.from_string(subject).render(context)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{message_key}@returnflow>"
    message.set_content(_env.get_template(template).render(context))
    return message


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Send over SMTP. Raises ``smtplib.SMTPException`` / ``OSError`` (the worker retries them)."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)
