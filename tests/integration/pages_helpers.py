"""Shared helpers of the page tests: a TestClient with one staff user per role, CSRF tokens, sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi.testclient import TestClient

from returnflow.bootstrap import Container
from returnflow.services import staff
from returnflow.web.app import create_app
from returnflow.web.pages import security

PASSWORD = "correct horse battery"


def staff_client(container: Container, *, with_users: bool = True) -> Iterator[TestClient]:
    """A client on ``https://testserver`` (the session cookie is Secure) with a fixed secret key and a fresh
    lookup limiter; ``with_users`` adds one staff user per role, password :data:`PASSWORD`."""
    container.settings.secret_key = "test-secret"
    security.lookup_limiter.reset()
    if with_users:
        with container.uow() as uow:
            for role in staff.ROLES:
                staff.create_user(uow, username=role, password=PASSWORD, role=role)
            uow.commit()
    with TestClient(create_app(container), base_url="https://testserver") as c:
        yield c


def csrf(client: TestClient, path: str = "/returns") -> str:
    """The CSRF token of the form on ``path``."""
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def login(client: TestClient, role: str) -> str:
    """Sign in as ``role``; returns a CSRF token of that role's home page for the next form."""
    r = client.post("/staff/login", data={"csrf_token": csrf(client, "/staff/login"), "username": role,
                                          "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    return csrf(client, "/ops/review" if role != "warehouse" else "/console")
