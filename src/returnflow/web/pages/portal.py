"""Customer portal pages: find the order, choose what to return, confirm, track (no account needed)."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from itsdangerous import BadSignature
from starlette.datastructures import UploadFile
from starlette.responses import Response

from returnflow.domain.errors import DomainError, NotEligible, NotFound
from returnflow.services import centers, portal, staff
from returnflow.services import returns as svc
from returnflow.web.deps import ContainerDep
from returnflow.web.pages import security
from returnflow.web.pages.security import CsrfChecked, render

router = APIRouter(include_in_schema=False)
NEUTRAL = "We could not find an order with that order number and email address or postcode. Check both and try again."


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _portal_session(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(security.PORTAL_COOKIE)
    if not raw:
        return None
    try:
        data = security.signer(request, "portal-order").loads(raw, max_age=security.PORTAL_MAX_AGE)
    except BadSignature:
        return None
    return (data["o"], data["e"]) if isinstance(data, dict) else None


@router.get("/")
def home(request: Request) -> Response:
    return render(request, "home.html")


@router.get("/returns")
def lookup_form(request: Request) -> Response:
    return render(request, "portal/lookup.html", error="", order_number="", proof="")


MAX_ORDER_NUMBER, MAX_PROOF = 64, 254


def _lookup_problem(order_number: str, proof: str) -> str:
    """What is wrong with the lookup form's values (re-shown with the form), or ''."""
    if not order_number.strip() or not proof.strip():
        return "Enter both the order number and the email address or postcode."
    if len(order_number) > MAX_ORDER_NUMBER:
        return (f"An order number has at most {MAX_ORDER_NUMBER} characters. Check the number in your "
                "confirmation email.")
    if len(proof) > MAX_PROOF:
        return f"An email address or postcode has at most {MAX_PROOF} characters."
    return ""


@router.post("/returns/lookup", dependencies=[CsrfChecked])
def lookup(request: Request, container: ContainerDep, order_number: Annotated[str, Form()] = "",
           proof: Annotated[str, Form()] = "") -> Response:
    key = _client(request)
    invalid = _lookup_problem(order_number, proof)
    if invalid:
        return render(request, "portal/lookup.html", 422, order_number=order_number[:MAX_ORDER_NUMBER],
                      proof=proof[:MAX_PROOF], error=invalid)
    if security.lookup_limiter.blocked(key):
        return render(request, "portal/lookup.html", 429, order_number=order_number, proof=proof,
                      error="Too many attempts. Please wait 15 minutes before trying again.")
    try:
        email = portal.resolve_proof(container.uow, order_number=order_number, proof=proof)
    except NotFound:
        security.lookup_limiter.failed(key)
        return render(request, "portal/lookup.html", 404, error=NEUTRAL, order_number=order_number, proof=proof)
    response = RedirectResponse("/returns/order", status_code=303)
    token = security.signer(request, "portal-order").dumps({"o": order_number.strip(), "e": email})
    security.set_cookie(request, response, security.PORTAL_COOKIE, token, max_age=security.PORTAL_MAX_AGE)
    return response


def _order_page(request: Request, container: ContainerDep, session: tuple[str, str], *, error: str = "",
                status_code: int = 200, form: dict[str, str] | None = None) -> Response:
    policy = container.active_policy()
    order = portal.order_for_portal(container.uow, order_number=session[0], proof=session[1], policy=policy)
    with container.uow() as uow:
        reasons = staff.offered_reasons(uow, policy)
    return render(request, "portal/order.html", status_code, order=order, error=error, form=form or {},
                  reasons=[r for r in reasons if not r.parent_code],
                  subreasons=json.dumps({r.code: [[s.code, s.label] for s in reasons if s.parent_code == r.code]
                                         for r in reasons if not r.parent_code}),
                  outcomes=portal.OUTCOMES, shipping_methods=portal.SHIPPING_METHODS,
                  pickup_windows=portal.PICKUP_WINDOWS, bonus_percent=policy.store_credit_bonus_percent,
                  window_days=policy.window_days,
                  max_photos=portal.MAX_PHOTOS, max_photo_mb=portal.MAX_PHOTO_BYTES // (1024 * 1024))


@router.get("/returns/order")
def order_page(request: Request, container: ContainerDep) -> Response:
    session = _portal_session(request)
    if session is None:
        return RedirectResponse("/returns", status_code=303)
    return _order_page(request, container, session)


@router.get("/returns/order/preview")
def preview(request: Request, container: ContainerDep) -> Response:
    """JSON refund preview for the units chosen (``line_<id>=<units>`` query parameters)."""
    session = _portal_session(request)
    if session is None:
        return JSONResponse({"error": "your session has expired; find your order again"}, status_code=401)
    units, reasons = {}, {}
    for key, value in request.query_params.items():
        if key.startswith("line_") and key[5:].isdigit() and value.isdigit():
            units[int(key[5:])] = int(value)
        elif key.startswith("reason_") and key[7:].isdigit():
            reasons[int(key[7:])] = value[:64]
    try:
        result = portal.preview(container.uow, order_number=session[0], proof=session[1], units=units,
                                policy=container.active_policy(), reasons=reasons)
    except DomainError as exc:
        return JSONResponse({"error": exc.detail}, status_code=422)
    return JSONResponse({"currency": result.currency, "total": str(result.total),
                         "store_credit_total": str(result.store_credit_total),
                         "lines": {str(k): str(v) for k, v in result.lines.items()}})


@router.post("/returns/order", dependencies=[CsrfChecked], max_body_size=portal.MAX_UPLOAD_BYTES)
async def submit(request: Request, container: ContainerDep) -> Response:
    session = _portal_session(request)
    if session is None:
        return RedirectResponse("/returns", status_code=303)
    form = await security.read_form(request)
    lines = []
    for key, value in form.multi_items():
        if key.startswith("qty_") and str(value).strip() not in ("", "0"):
            line_id = key[4:]
            reason = str(form.get(f"reason_{line_id}") or "")
            sub = str(form.get(f"subreason_{line_id}") or "")
            comment = str(form.get(f"comment_{line_id}") or "")[:2000]
            try:
                quantity = int(str(value))
            except ValueError:
                quantity = 0
            lines.append(svc.RequestedLine(order_line_id=int(line_id) if line_id.isdigit() else -1,
                                           quantity=quantity, reason=reason, reason_detail=comment,
                                           sub_reason=sub[:64]))
    fields = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
    if not lines:
        return _order_page(request, container, session, error="Choose at least one item to return.",
                           status_code=422, form=fields)
    photos = [portal.Photo(f.filename or "photo", await f.read(portal.MAX_PHOTO_BYTES + 1))
              for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    try:
        rma = portal.submit_return(
            container.uow, order_number=session[0], email=session[1], lines=lines,
            outcome=fields.get("outcome", ""), shipping_method=fields.get("shipping_method", ""),
            pickup_window=fields.get("pickup_window", ""), exchange_note=fields.get("exchange_note", ""),
            photos=photos, policy=container.active_policy())
    except NotEligible as exc:
        return _order_page(request, container, session, status_code=422, form=fields,
                           error="This return cannot be accepted: " + "; ".join(exc.reasons) + ".")
    except DomainError as exc:
        return _order_page(request, container, session, error=exc.detail[:1].upper() + exc.detail[1:] + ".",
                           status_code=422, form=fields)
    return RedirectResponse(f"/returns/track/{security.tracking_token(request, rma.number)}?new=1", status_code=303)


def _tracked(request: Request, container: ContainerDep, token: str):  # type: ignore[no-untyped-def]
    number = security.rma_from_tracking_token(request, token)
    if number is None:
        raise NotFound("this tracking link does not match a return")
    return portal.rma_for_tracking(container.uow, number)


@router.get("/returns/track/{token}")
def track(request: Request, container: ContainerDep, token: str, new: int = 0) -> Response:
    try:
        rma = _tracked(request, container, token)
    except NotFound:
        return render(request, "error.html", 404, title="Return not found",
                      message="This tracking link does not match a return. Check that you copied the whole link.")
    prefs = portal.preferences(container.uow, rma.id or 0)
    return render(request, "portal/track.html", rma=rma, steps=portal.timeline(rma), new=bool(new), token=token,
                  prefs=prefs, outcomes=portal.OUTCOMES, shipping_methods=portal.SHIPPING_METHODS,
                  paid_total=sum((l.paid_amount for l in rma.lines), Decimal(0)),
                  link=str(request.url_for("track", token=token)))


@router.get("/returns/track/{token}/label.pdf")
def label(request: Request, container: ContainerDep, token: str) -> Response:
    """The printable label once the return is approved and its label issued (built-in carrier)."""
    from returnflow.adapters.carriers.base import Address
    from returnflow.adapters.carriers.label_pdf import render_return_label

    try:
        rma = _tracked(request, container, token)
    except NotFound:
        return render(request, "error.html", 404, title="Return not found", message="Unknown tracking link.")
    if not rma.tracking_code:
        return render(request, "error.html", 409, title="Label not ready yet",
                      message="Your label will be ready as soon as the return is approved. Check back later.")
    center = next((c for c in centers.DEFAULT_CENTERS if c.code == rma.return_center_code), centers.DEFAULT_CENTERS[0])
    pdf = render_return_label(
        carrier_name=rma.carrier or "returnflow", service="standard",
        from_address=Address(name=f"Customer {rma.customer_id}", street1="(your address)", city="-",
                             postal_code="-", country="GB"),
        to_address=Address(name=center.name, street1=center.address, city="", postal_code=center.postal_code,
                           country="GB" if center.country == "United Kingdom" else "NL"),
        rma_number=rma.number, tracking_code=rma.tracking_code, weight_kg=Decimal("1"))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{rma.number}-label.pdf"'})


@router.get("/returns/track/{token}/qr.svg")
def dropoff_qr(request: Request, container: ContainerDep, token: str) -> Response:
    """A QR code of the RMA number for a drop-off point to scan."""
    import qrcode
    import qrcode.image.svg

    try:
        rma = _tracked(request, container, token)
    except NotFound:
        return Response(status_code=404)
    buffer = io.BytesIO()
    qrcode.make(rma.number, image_factory=qrcode.image.svg.SvgPathImage, box_size=10).save(buffer)
    return Response(buffer.getvalue(), media_type="image/svg+xml")
