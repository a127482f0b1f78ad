"""Warehouse receiving console (role ``warehouse``; admins too): scan, count, grade, confirm."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from returnflow.domain.errors import DomainError, NotFound
from returnflow.domain.inspection import DEFAULT_DISPOSITION_RULES
from returnflow.domain.statuses import Disposition
from returnflow.services import centers, portal, warehouse
from returnflow.services import returns as svc
from returnflow.web.deps import ContainerDep
from returnflow.web.pages import security
from returnflow.web.pages.security import ConsoleUser, CsrfChecked, render

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_CODE = 64  # longer scans are no RMA number or barcode; the page echoes no more than this


def _centers(container: ContainerDep) -> list[dict[str, object]]:
    with container.uow() as uow:
        return centers.list_centers(uow)


@router.get("")
def scan_page(request: Request, container: ContainerDep, user: ConsoleUser, done: str = "", error: str = "",
              code: str = "", empty: str = "", closed: str = "") -> Response:
    done, closed = done[:MAX_CODE], closed[:MAX_CODE]
    return render(request, "console/scan.html", 404 if error else 200, done=done, error=error, code=code[:MAX_CODE],
                  empty=bool(empty), closed=closed, parcels=warehouse.unlinked_parcels(container.uow))


@router.get("/scan")
def scan(request: Request, container: ContainerDep, user: ConsoleUser, code: str = "") -> Response:
    try:
        rma = warehouse.find_by_code(container.uow, code)
    except NotFound as exc:
        return scan_page(request, container, user, error=_sentence(exc.detail), code=code)
    return RedirectResponse(f"/console/rma/{rma.number}", status_code=303)


def _rma_page(request: Request, container: ContainerDep, number: str, *, error: str = "",
              status_code: int = 200, empty: bool = False) -> Response:
    rma = warehouse.find_by_code(container.uow, number)
    counted = any(line.quantity_received for line in rma.lines)
    proposals = {rule.grade: str(rule.disposition) for rule in DEFAULT_DISPOSITION_RULES}
    return render(request, "console/receive.html", status_code, rma=rma, error=error,
                  centers=_centers(container), checklist=warehouse.CHECKLIST,
                  dispositions=[d.value for d in Disposition], proposals=proposals,
                  proposals_json=json.dumps(proposals), empty=empty, max_photos=portal.MAX_PHOTOS,
                  max_photo_bytes=portal.MAX_PHOTO_BYTES,
                  closable=str(rma.status) == "received" and not counted,
                  receivable=str(rma.status) in ("authorized", "label_issued", "in_transit", "partially_received",
                                                 "expired"))


@router.get("/rma/{number}")
def rma_page(request: Request, container: ContainerDep, user: ConsoleUser, number: str, empty: str = "") -> Response:
    try:
        return _rma_page(request, container, number, empty=bool(empty))
    except NotFound as exc:
        return scan_page(request, container, user, error=_sentence(exc.detail), code=number)


@router.post("/rma/{number}/receive", dependencies=[CsrfChecked], max_body_size=portal.MAX_UPLOAD_BYTES)
async def receive(request: Request, container: ContainerDep, user: ConsoleUser, number: str) -> Response:
    form = await security.read_form(request)
    counts = []
    for key, value in form.items():
        if key.startswith("units_") and key[6:].isdigit():
            line_id = int(key[6:])
            text = str(value).strip() or "0"
            if not text.isdigit():
                return _rma_page(request, container, number, error="Units must be a whole number of 0 or more.",
                                 status_code=422)
            counts.append(warehouse.LineCount(
                line_id=line_id, units=int(text), grade=str(form.get(f"grade_{line_id}") or ""),
                disposition=str(form.get(f"disposition_{line_id}") or "") or None,
                note=str(form.get(f"note_{line_id}") or "")[:2000],
                checklist=tuple(str(v) for v in form.getlist(f"check_{line_id}")),
                accept=str(form.get(f"accept_{line_id}") or "yes") != "no"))
    photos = [portal.Photo(f.filename or "photo", await f.read(portal.MAX_PHOTO_BYTES + 1))
              for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    try:
        rma = warehouse.receive_and_grade(container.uow, number, counts=counts, photos=photos,
                                          return_center_code=str(form.get("return_center_code") or ""),
                                          actor=f"staff:{user.username}")
    except DomainError as exc:
        return _rma_page(request, container, number, error=_sentence(exc.detail), status_code=422)
    if str(rma.status) == "received" and not any(l.quantity_received for l in rma.lines):
        # an empty parcel: nothing was graded; offer closing it
        return RedirectResponse(f"/console/rma/{rma.number}?empty=1", status_code=303)
    return RedirectResponse(f"/console?done={rma.number}", status_code=303)


@router.post("/rma/{number}/close", dependencies=[CsrfChecked])
def close_empty(request: Request, container: ContainerDep, user: ConsoleUser, number: str) -> Response:
    """Close a return whose parcel was recorded as empty (the domain refuses any other received return)."""
    try:
        rma = svc.close(container.uow, number, actor=f"staff:{user.username}")
    except NotFound as exc:
        return scan_page(request, container, user, error=_sentence(exc.detail), code=number)
    except DomainError as exc:
        return _rma_page(request, container, number, error=_sentence(exc.detail), status_code=422)
    return RedirectResponse(f"/console?closed={rma.number}", status_code=303)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else text


@router.get("/unexpected")
def unexpected_page(request: Request, container: ContainerDep, user: ConsoleUser, error: str = "") -> Response:
    return render(request, "console/unexpected.html", 422 if error else 200, error=error,
                  centers=_centers(container), parcels=warehouse.unlinked_parcels(container.uow))


@router.post("/unexpected", dependencies=[CsrfChecked])
def record_unexpected(request: Request, container: ContainerDep, user: ConsoleUser,
                      return_center_code: Annotated[str, Form()] = "", tracking_code: Annotated[str, Form()] = "",
                      sender: Annotated[str, Form()] = "", contents: Annotated[str, Form()] = "") -> Response:
    try:
        warehouse.record_unexpected_parcel(container.uow, return_center_code=return_center_code,
                                           tracking_code=tracking_code, sender=sender, contents=contents,
                                           actor=f"staff:{user.username}")
    except DomainError as exc:
        return unexpected_page(request, container, user, error=_sentence(exc.detail))
    return RedirectResponse("/console/unexpected", status_code=303)


@router.post("/unexpected/{parcel_id}/link", dependencies=[CsrfChecked])
def link(request: Request, container: ContainerDep, user: ConsoleUser, parcel_id: int,
         rma_number: Annotated[str, Form()] = "") -> Response:
    try:
        warehouse.link_parcel(container.uow, parcel_id, rma_number=rma_number.strip().upper())
    except DomainError as exc:
        return unexpected_page(request, container, user, error=_sentence(exc.detail))
    return RedirectResponse("/console/unexpected", status_code=303)
