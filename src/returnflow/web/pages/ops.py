"""Staff login and operations pages (roles ``agent`` and ``admin``): RMA list and CSV, detail with
actions, review queue, dashboard, and the admin page (users, API keys, reasons, policy)."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from returnflow.domain.errors import DomainError, NotFound
from returnflow.domain.money import round_money
from returnflow.domain.returns import ReturnAuthorization, allowed_actions
from returnflow.domain.statuses import ReturnStatus
from returnflow.services import settlement
from returnflow.services import access, centers, dashboard, operations, portal, staff
from returnflow.services import returns as svc
from returnflow.web.deps import ContainerDep
from returnflow.web.pages import charts, security
from returnflow.web.pages.security import AdminUser, CsrfChecked, OpsUser, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


# -- login --------------------------------------------------------------------------------------

@router.get("/staff/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "login.html", error="", next=next if next.startswith("/") else "")


@router.post("/staff/login", dependencies=[CsrfChecked])
def login(request: Request, container: ContainerDep, username: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=256)] = "", next: Annotated[str, Form()] = "") -> Response:
    with container.uow() as uow:
        user = staff.authenticate(uow, username=username, password=password)
        uow.commit()
    if user is None:
        return render(request, "login.html", 401, error="Wrong username or password.", next=next)
    home = "/console" if user.role == "warehouse" else "/ops/dashboard"
    target = next if next.startswith("/") and not next.startswith("//") else home
    response = RedirectResponse(target, status_code=303)
    security.login(request, response, user)
    response.delete_cookie(security.CSRF_COOKIE, path="/")
    return response


@router.post("/staff/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


# -- list and export ----------------------------------------------------------------------------

def _search(q: str, status: str, reason: str, center: str, date_from: str,
            date_to: str) -> tuple[operations.RmaSearch, list[str]]:
    """The search of the list's filters and what is wrong with them (a wrong filter is left out, and said)."""
    problems: list[str] = []

    def day(text: str, label: str) -> datetime | None:
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
        except ValueError:
            problems.append(f"“{text[:40]}” is not a date (use YYYY-MM-DD): the {label} date is ignored.")
            return None

    if status and status not in {s.value for s in ReturnStatus}:
        problems.append(f"“{status[:40]}” is not a status: any status is shown.")
        status = ""
    start, end = day(date_from, "from"), day(date_to, "to")
    if start and end and start > end:
        problems.append("The from date is after the to date: no return can match. Swap the dates.")
    return operations.RmaSearch(query=q[:64], status=status, reason=reason, return_center_code=center,
                                requested_from=start, requested_to=end + timedelta(days=1) if end else None), problems


@router.get("/ops")
def ops_home(user: OpsUser) -> Response:
    return RedirectResponse("/ops/dashboard", status_code=303)


@router.get("/ops/returns")
def list_returns(request: Request, container: ContainerDep, user: OpsUser, q: str = "", status: str = "",
                 reason: str = "", center: str = "", date_from: str = "", date_to: str = "", page: str = "1") -> Response:
    f, problems = _search(q, status, reason, center, date_from, date_to)
    if page.strip().isdigit() and 1 <= int(page) <= 1_000_000:
        page_number = int(page)
    else:
        problems.append(f"“{page[:20]}” is not a page number: showing the first page.")
        page_number = 1
    total, rows = operations.search(container.uow, f, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    with container.uow() as uow:
        center_codes = [c["code"] for c in centers.list_centers(uow)]
    params = {"q": q, "status": status, "reason": reason, "center": center, "date_from": date_from,
              "date_to": date_to}
    return render(request, "ops/list.html", rows=rows, total=total, page=page_number, problems=problems,
                  pages=max((total - 1) // PAGE_SIZE + 1, 1),
                  params=params, statuses=[s.value for s in ReturnStatus],
                  reasons=operations.reasons_in_use(container.uow), centers=center_codes,
                  query_string=urlencode({k: v for k, v in params.items() if v}))


@router.get("/ops/returns.csv")
def export_csv(container: ContainerDep, user: OpsUser, q: str = "", status: str = "", reason: str = "",
               center: str = "", date_from: str = "", date_to: str = "") -> Response:
    _, rows = operations.search(container.uow, _search(q, status, reason, center, date_from, date_to)[0], limit=None)

    def generate():  # type: ignore[no-untyped-def]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["rma_number", "order_number", "customer_id", "status", "requested_at", "return_center",
                         "units", "refund_total", "currency"])
        for r in rows:
            writer.writerow([r.number, r.order_number, r.customer_id, r.status, r.requested_at.isoformat(),
                             r.return_center_code or "", r.units, _money(r.refund_total, r.currency), r.currency])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(generate(), media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="returns.csv"'})


def _money(amount: Decimal, currency: str) -> str:
    """``amount`` with the currency's decimals (0 -> 0.00 in GBP, 0 in JPY); the amount itself if unknown."""
    try:
        return str(round_money(Decimal(amount), currency))
    except Exception:  # noqa: BLE001 - an unknown currency code: keep the stored value
        return str(amount)


# -- detail and actions -------------------------------------------------------------------------

#: Actions the detail page offers as buttons (domain action -> button label).
BUTTONS = {"authorize": "Approve", "reject": "Reject", "issue_label": "Issue label", "settle": "Issue refund",
           "cancel": "Cancel return", "close": "Close"}


def page_actions(rma: ReturnAuthorization) -> list[str]:
    """The buttons for the RMA: the domain's ``allowed_actions`` of its status that can succeed from here.

    "settle" pays inspected units only (the domain's keep-it settlement from 'authorized' is not a page
    action); "close" from 'received' only for an empty parcel (nothing counted, nothing to inspect)."""
    status = str(rma.status)
    out = []
    for action in allowed_actions(rma.status):
        if action not in BUTTONS:
            continue
        if action == "settle" and status != "inspected":
            continue
        if action == "close" and status == "received" and any(l.quantity_received for l in rma.lines):
            continue
        out.append(action)
    return out


def _detail(request: Request, container: ContainerDep, number: str, *, error: str = "",
            status_code: int = 200) -> Response:
    rma = svc.get_rma(container.uow, number)
    # The same calculator as the refund issued (policy version of the RMA, fees, tax, cap).
    quote = settlement.preview_refund(container.uow, rma.number, policy=container.active_policy()).quote
    allocations = quote.allocations if quote else {}
    preview = {l.id: allocations.get(l.order_line_id, Decimal(0)) for l in rma.lines}
    return render(request, "ops/detail.html", status_code, rma=rma, error=error, actions=page_actions(rma), buttons=BUTTONS,
                  prefs=portal.preferences(container.uow, rma.id or 0), photos=portal.photo_count(container.uow, rma.id or 0),
                  stored_photos=portal.photos_of(container.uow, rma.id or 0),
                  paid_total=sum((l.paid_amount for l in rma.lines), Decimal(0)),
                  preview=preview, preview_total=sum(preview.values(), Decimal(0)),
                  outcomes=portal.OUTCOMES, shipping_methods=portal.SHIPPING_METHODS,
                  tracking_link=str(request.url_for("track", token=security.tracking_token(request, rma.number))))


@router.get("/ops/returns/{number}/photos/{photo_id}")
def photo(number: str, photo_id: int, container: ContainerDep, user: OpsUser) -> Response:
    """A photo of the RMA (customer's or warehouse's), for signed-in staff; never cached by shared caches."""
    try:
        rma = svc.get_rma(container.uow, number)
        content_type, data = portal.photo_bytes(container.uow, rma.id or 0, photo_id)
    except NotFound:
        return Response("no such photo", status_code=404, media_type="text/plain")
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600",
                                                            "X-Content-Type-Options": "nosniff"})


@router.get("/ops/returns/{number}")
def detail(request: Request, container: ContainerDep, user: OpsUser, number: str) -> Response:
    try:
        return _detail(request, container, number)
    except NotFound:
        return render(request, "error.html", 404, title="Return not found", message=f"No return {number}.")


@router.post("/ops/returns/{number}/{action}", dependencies=[CsrfChecked])
def act(request: Request, container: ContainerDep, user: OpsUser, number: str, action: str,
        note: Annotated[str, Form(max_length=2000)] = "", resolution: Annotated[str, Form()] = "refund",
        back: Annotated[str, Form()] = "") -> Response:
    actor = f"staff:{user.username}"
    calls = {
        "authorize": lambda: svc.authorize(container.uow, number, actor=actor, note=note),
        "reject": lambda: svc.reject(container.uow, number, actor=actor, reason=note),
        "cancel": lambda: svc.cancel(container.uow, number, actor=actor, reason=note),
        "issue_label": lambda: svc.issue_label(container.uow, number, actor=actor),
        "refund": lambda: svc.refund(container.uow, number, actor=actor, resolution=resolution, reference=note,
                                    policy=container.active_policy()),
        "close": lambda: svc.close(container.uow, number, actor=actor),
    }
    if action not in calls:
        return render(request, "error.html", 404, title="Unknown action", message=f"There is no action “{action[:40]}”.")
    try:
        rma = calls[action]()
    except NotFound:
        return render(request, "error.html", 404, title="Return not found", message=f"No return {number}.")
    except DomainError as exc:
        if back == "review":
            return review(request, container, user, error=f"{number}: {exc.detail}", status_code=422)
        return _detail(request, container, number, error=exc.detail, status_code=422)
    if action == "authorize":
        try:
            portal.issue_label_if_chosen(container.uow, rma, actor=actor)
        except DomainError as exc:
            message = f"Approved, but the customer's label could not be issued: {exc.detail}. Issue it from the detail page."
            if back == "review":
                return review(request, container, user, error=f"{number}: {message}", status_code=200)
            return _detail(request, container, number, error=message)
    return RedirectResponse("/ops/review" if back == "review" else f"/ops/returns/{number}", status_code=303)


@router.get("/ops/review")
def review(request: Request, container: ContainerDep, user: OpsUser, error: str = "",
           status_code: int = 200) -> Response:
    total, rows = operations.search(container.uow, operations.RmaSearch(status="in_review"), limit=100)
    decisions = {}
    for row in rows[:100]:
        decisions[row.number] = svc.get_rma(container.uow, row.number).decision
    return render(request, "ops/review.html", status_code, rows=rows, total=total, decisions=decisions, error=error)


@router.get("/ops/dashboard")
def dashboard_page(request: Request, container: ContainerDep, user: OpsUser) -> Response:
    board = dashboard.cached(container.uow, key=container.settings.database_url)
    return render(request, "ops/dashboard.html", board=board, charts=charts.dashboard_charts(board))


# -- admin --------------------------------------------------------------------------------------

@router.get("/ops/admin")
def admin(request: Request, container: ContainerDep, user: AdminUser, error: str = "", new_key: str = "",
          status_code: int = 200) -> Response:
    from sqlalchemy import select

    from returnflow.adapters.db import tables as t

    with container.uow() as uow:
        users = staff.list_users(uow)
        reasons = staff.list_reasons(uow, active_only=False)
        keys = [dict(r._mapping) for r in uow.session.execute(
            select(t.api_keys.c.name, t.api_keys.c.scopes, t.api_keys.c.created_at, t.api_keys.c.revoked)
            .order_by(t.api_keys.c.name))]
    return render(request, "ops/admin.html", status_code, users=users, reasons=reasons, keys=keys, error=error,
                  new_key=new_key, roles=staff.ROLES, scopes=access.SCOPES,
                  policy=container.active_policy())


@router.post("/ops/admin/users", dependencies=[CsrfChecked])
def add_user(request: Request, container: ContainerDep, user: AdminUser, username: Annotated[str, Form()] = "",
             password: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "") -> Response:
    try:
        with container.uow() as uow:
            staff.create_user(uow, username=username, password=password, role=role)
            uow.commit()
    except DomainError as exc:
        return admin(request, container, user, error=exc.detail, status_code=422)
    return RedirectResponse("/ops/admin", status_code=303)


@router.post("/ops/admin/users/role", dependencies=[CsrfChecked])
def set_role(request: Request, container: ContainerDep, user: AdminUser, username: Annotated[str, Form()] = "",
             role: Annotated[str, Form()] = "", active: Annotated[str, Form()] = "yes") -> Response:
    try:
        with container.uow() as uow:
            staff.change_role(uow, username=username, role=role, active=active == "yes")
            uow.commit()
    except DomainError as exc:
        return admin(request, container, user, error=exc.detail, status_code=422)
    return RedirectResponse("/ops/admin", status_code=303)


@router.post("/ops/admin/api-keys", dependencies=[CsrfChecked])
def add_key(request: Request, container: ContainerDep, user: AdminUser, name: Annotated[str, Form()] = "",
            scopes: Annotated[list[str] | None, Form()] = None) -> Response:
    try:
        with container.uow() as uow:
            key = access.create_api_key(uow, name=name.strip(), scopes=scopes or [])
            uow.commit()
    except DomainError as exc:
        return admin(request, container, user, error=exc.detail, status_code=422)
    return admin(request, container, user, new_key=key)


@router.post("/ops/admin/reasons", dependencies=[CsrfChecked])
def add_reason(request: Request, container: ContainerDep, user: AdminUser, code: Annotated[str, Form()] = "",
               label: Annotated[str, Form()] = "", parent_code: Annotated[str, Form()] = "") -> Response:
    try:
        with container.uow() as uow:
            staff.add_reason(uow, code=code, label=label, parent_code=parent_code or None)
            uow.commit()
    except DomainError as exc:
        return admin(request, container, user, error=exc.detail, status_code=422)
    return RedirectResponse("/ops/admin", status_code=303)
