"""Staff users: accounts, roles and passwords (Argon2id via argon2-cffi), and the return-reason list.

Roles: ``warehouse`` (receiving console), ``agent`` (operations: list, review, refunds), ``admin``
(everything, plus users, API keys, reasons). Passwords are hashed with argon2-cffi's defaults (Argon2id,
RFC 9106 "second recommended option"); a hash made with older parameters is upgraded at the next login.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from cachetools import TTLCache, cached
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, insert, select, update

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import Conflict, InvalidInput, NotFound
from returnflow.domain.policy import ReturnPolicy

ROLES = ("warehouse", "agent", "admin")
#: role -> the page areas it may use.
AREAS = {"warehouse": frozenset({"console"}), "agent": frozenset({"ops"}),
         "admin": frozenset({"console", "ops", "admin"})}
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so both answers take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class StaffUser:
    """A signed-in member of staff. ``session_version`` must match the cookie's for the session to hold."""

    id: int
    username: str
    role: str
    session_version: int

    def may(self, area: str) -> bool:
        """True when the role may use ``area`` (``console``, ``ops`` or ``admin``)."""
        return area in AREAS.get(self.role, frozenset())


def _user(row: object) -> StaffUser:
    return StaffUser(row.id, row.username, row.role, row.session_version)  # type: ignore[attr-defined]


def create_user(uow: UnitOfWork, *, username: str, password: str, role: str) -> StaffUser:
    """Store a new user (caller commits). Raises ``InvalidInput`` (role, name, short password), ``Conflict``."""
    username = username.strip().lower()
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise InvalidInput("a username is 1-64 letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if uow.session.execute(select(t.staff_users.c.id).where(t.staff_users.c.username == username)).first():
        raise Conflict(f"a user named “{username}” exists already")
    result = uow.session.execute(insert(t.staff_users).values(
        username=username, password_hash=_hasher.hash(password), role=role, active=True, session_version=1,
        created_at=datetime.now(UTC)))
    return StaffUser(int(result.inserted_primary_key[0]), username, role, 1)


def authenticate(uow: UnitOfWork, *, username: str, password: str) -> StaffUser | None:
    """The active user with this name and password, or None (caller commits: a rehash may be stored)."""
    row = uow.session.execute(select(t.staff_users).where(t.staff_users.c.username == username.strip().lower())
                              ).first()
    if row is None or not row.active:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        uow.session.execute(update(t.staff_users).where(t.staff_users.c.id == row.id)
                            .values(password_hash=_hasher.hash(password)))
    return _user(row)


def by_id(uow: UnitOfWork, user_id: int) -> StaffUser | None:
    """The active user with ``user_id``, or None."""
    row = uow.session.execute(select(t.staff_users).where(t.staff_users.c.id == user_id,
                                                          t.staff_users.c.active.is_(True))).first()
    return _user(row) if row else None


def list_users(uow: UnitOfWork) -> list[dict[str, object]]:
    """Every user (no hashes), by name."""
    rows = uow.session.execute(select(t.staff_users.c.id, t.staff_users.c.username, t.staff_users.c.role,
                                      t.staff_users.c.active, t.staff_users.c.created_at)
                               .order_by(t.staff_users.c.username))
    return [dict(r._mapping) for r in rows]


def change_role(uow: UnitOfWork, *, username: str, role: str, active: bool = True) -> None:
    """Set a user's role and active flag and end their open sessions (caller commits)."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    c = t.staff_users.c
    current = uow.session.execute(select(c.role, c.active).where(c.username == username)).first()
    if current is None:
        raise NotFound(f"no user “{username}”")
    if current.role == "admin" and current.active and (role != "admin" or not active):
        others = uow.session.execute(select(func.count()).select_from(t.staff_users).where(
            c.role == "admin", c.active.is_(True), c.username != username)).scalar_one()
        if not others:
            raise Conflict(f"“{username}” is the last active admin: make another user an active admin first, "
                           "or nobody could open the admin page")
    result = uow.session.execute(update(t.staff_users).where(t.staff_users.c.username == username)
                                 .values(role=role, active=active,
                                         session_version=t.staff_users.c.session_version + 1))
    if result.rowcount == 0:
        raise NotFound(f"no user “{username}”")


# -- return reasons --------------------------------------------------------------------------------

DEFAULT_REASONS: tuple[tuple[str, str, str | None], ...] = (
    ("damaged", "Arrived damaged", None),
    ("damaged_packaging", "Packaging was damaged", "damaged"),
    ("damaged_item", "The item itself is broken", "damaged"),
    ("not_as_described", "Not as described", None),
    ("wrong_colour", "Colour differs from the photos", "not_as_described"),
    ("wrong_size", "Size differs from the description", "not_as_described"),
    ("wrong_item", "Wrong item sent", None),
    ("changed_mind", "Changed my mind", None),
    ("faulty", "Faulty or stopped working", None),
    ("late", "Arrived too late", None),
)


def ensure_default_reasons(uow: UnitOfWork) -> None:
    """Insert the default reasons that are missing (idempotent; caller commits)."""
    have = set(uow.session.execute(select(t.return_reasons.c.code)).scalars())
    rows = [{"code": c, "label": label, "parent_code": parent, "active": True, "position": i}
            for i, (c, label, parent) in enumerate(DEFAULT_REASONS) if c not in have]
    if rows:
        uow.session.execute(insert(t.return_reasons), rows)


@dataclass(frozen=True)
class Reason:
    """A return reason; ``parent_code`` is set on a sub-reason."""

    code: str
    label: str
    parent_code: str | None


def list_reasons(uow: UnitOfWork, *, active_only: bool = True) -> list[Reason]:
    """Reasons in display order (the defaults when the table is still empty)."""
    stmt = select(t.return_reasons).order_by(t.return_reasons.c.position, t.return_reasons.c.code)
    if active_only:
        stmt = stmt.where(t.return_reasons.c.active.is_(True))
    rows = uow.session.execute(stmt).all()
    if not rows:
        return [Reason(c, label, parent) for c, label, parent in DEFAULT_REASONS]
    return [Reason(r.code, r.label, r.parent_code) for r in rows]


#: Seconds a process keeps the managed reason codes before reading them again (``add_reason`` in the same
#: process clears them at once; another process's new reason is accepted here within this time).
REASONS_TTL_SECONDS = 60.0


@cached(TTLCache(maxsize=8, ttl=REASONS_TTL_SECONDS), key=lambda uow: uow.session.get_bind(), lock=threading.Lock())
def reason_codes(uow: UnitOfWork) -> dict[str, str | None]:
    """Code -> parent code of the active managed reasons, sub-reasons included (the defaults while the table is
    empty), read at most every ``REASONS_TTL_SECONDS`` per process and database: checked on every return request.
    Callers must not change the dict."""
    return {r.code: r.parent_code for r in list_reasons(uow)}


def check_reason(uow: UnitOfWork, policy: ReturnPolicy, reason: str, sub_reason: str = "") -> None:
    """Refuse a reason that is not on the managed list when the policy has no ``[[reasons]]`` of its own (a
    policy with reasons checks them itself, ``domain.policy``). A sub-reason, when given, must be one listed
    under that reason.

    Raises:
        InvalidInput: the reason is not an active code of :func:`reason_codes`, or the sub-reason is not one of
        its sub-reasons (the message lists the allowed codes).
    """
    if policy.reasons:
        return
    allowed = reason_codes(uow)
    reason, sub_reason = reason.strip(), sub_reason.strip()
    if reason not in allowed:
        raise InvalidInput(f"'{reason[:64]}' is not one of the return reasons: {', '.join(sorted(allowed))}")
    if sub_reason and allowed.get(sub_reason) != reason:
        subs = sorted(code for code, parent in allowed.items() if parent == reason)
        raise InvalidInput(f"'{sub_reason[:64]}' is not a detail of '{reason}'"
                           + (f"; use one of: {', '.join(subs)}" if subs else f"; '{reason}' has no details"))


def forget_reason_codes() -> None:
    """Drop this process's cached reason codes (after a change to ``return_reasons``)."""
    reason_codes.cache_clear()  # type: ignore[attr-defined]


def offered_reasons(uow: UnitOfWork, policy: ReturnPolicy) -> list[Reason]:
    """The reasons a customer may choose, in display order: the policy's ``[[reasons]]`` (with their
    ``sub_reasons``) when it defines any, because the policy refuses every other reason; otherwise the managed
    list of :func:`list_reasons` (the policy then accepts any reason)."""
    if not policy.reasons:
        return list_reasons(uow)
    offered: list[Reason] = []
    for reason in policy.reasons:
        offered.append(Reason(reason.code, reason.label, None))
        offered.extend(Reason(sub, sub.replace("_", " ").capitalize(), reason.code) for sub in reason.sub_reasons)
    return offered


def add_reason(uow: UnitOfWork, *, code: str, label: str, parent_code: str | None = None) -> None:
    """Add a reason (caller commits). Raises ``InvalidInput`` or ``Conflict``."""
    code = code.strip().lower().replace(" ", "_")
    if not code or not code.replace("_", "").isalnum() or len(code) > 64 or not label.strip():
        raise InvalidInput("a reason needs a code (letters, digits, '_') and a label")
    ensure_default_reasons(uow)
    codes = set(uow.session.execute(select(t.return_reasons.c.code)).scalars())
    if code in codes:
        raise Conflict(f"reason “{code}” exists already")
    if parent_code and parent_code not in codes:
        raise InvalidInput(f"unknown parent reason “{parent_code}”")
    if parent_code and uow.session.execute(select(t.return_reasons.c.parent_code)
                                           .where(t.return_reasons.c.code == parent_code)).scalar():
        raise InvalidInput(f"“{parent_code}” is itself a sub-reason; sub-reasons go one level deep")
    uow.session.execute(insert(t.return_reasons).values(code=code, label=label.strip(), parent_code=parent_code or None,
                                                        active=True, position=len(codes)))
    forget_reason_codes()
