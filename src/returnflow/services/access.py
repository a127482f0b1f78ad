"""Staff API keys: created once (the plain key is shown only then), stored as a SHA-256 hash.

Keys are 32 random bytes (``secrets.token_urlsafe``), so a fast hash is safe here; passwords, which
people choose, use Argon2 (see the staff users service).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import Conflict, InvalidInput

SCOPES = ("read", "returns:write", "refunds:write", "logistics:write", "admin")  # logistics: drop-off, 3PL


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling: the key's name and its scopes."""

    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(uow: UnitOfWork, *, name: str, scopes: list[str], key: str | None = None) -> str:
    """Store a new key and return its plain text (shown once). ``name``: 1-64 characters; ``scopes``: some of
    :data:`SCOPES` (a repeat counts once). Raises ``InvalidInput``, ``Conflict``."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput(f"an API key needs a name of 1 to 64 characters, got {len(name)}")
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be some of {', '.join(SCOPES)}; got {sorted(unknown) or 'none'}")
    if uow.session.execute(select(t.api_keys.c.id).where(t.api_keys.c.name == name)).first():
        raise Conflict(f"an API key named {name!r} exists already")
    key = key or f"rf_{secrets.token_urlsafe(32)}"
    uow.session.execute(insert(t.api_keys).values(name=name, key_hash=_hash(key), scopes=sorted(scopes),
                                                  created_at=datetime.now(UTC), revoked=False))
    return key


def authenticate(uow: UnitOfWork, key: str) -> ApiPrincipal | None:
    """The principal for ``key``, or None when unknown or revoked."""
    if not key:
        return None
    row = uow.session.execute(select(t.api_keys.c.name, t.api_keys.c.scopes)
                              .where(t.api_keys.c.key_hash == _hash(key), t.api_keys.c.revoked.is_(False))).first()
    return ApiPrincipal(row.name, frozenset(row.scopes)) if row else None
