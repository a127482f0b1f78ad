"""FastAPI dependencies: the container, staff principals with scopes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from returnflow.bootstrap import Container
from returnflow.services import access
from returnflow.services.access import ApiPrincipal


# Dependencies that do not block are ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool,
# one thread hop per dependency per request.
async def get_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


ContainerDep = Annotated[Container, Depends(get_container)]


def _authenticate(container: Container, key: str) -> ApiPrincipal | None:
    with container.uow() as uow:
        return access.authenticate(uow, key)


async def optional_principal(container: ContainerDep, x_api_key: Annotated[str | None, Header()] = None,
                             authorization: Annotated[str | None, Header()] = None) -> ApiPrincipal | None:
    """The staff principal of an ``X-API-Key`` or ``Authorization: Bearer`` header, if any (the key lookup
    runs in the thread pool; no header, no thread hop)."""
    key = x_api_key or (authorization[7:] if authorization and authorization.lower().startswith("bearer ") else "")
    if not key:
        return None
    principal = await run_in_threadpool(_authenticate, container, key.strip())
    if principal is None:
        raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return principal


OptionalPrincipal = Annotated[ApiPrincipal | None, Depends(optional_principal)]


def require(scope: str):  # type: ignore[no-untyped-def]
    """Dependency factory: a staff principal holding ``scope`` (401 without a key, 403 without the scope)."""

    async def dependency(principal: OptionalPrincipal) -> ApiPrincipal:
        if principal is None:
            raise HTTPException(401, "this action needs a staff API key", headers={"WWW-Authenticate": "Bearer"})
        if not principal.allows(scope):
            raise HTTPException(403, f"the API key lacks the '{scope}' scope")
        return principal

    return Depends(dependency)
