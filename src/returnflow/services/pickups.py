"""Home pickup: time windows with a capacity per area (postal code prefix) and day; book, reschedule, cancel.

Capacity is taken with one conditional UPDATE (``booked = booked + 1 WHERE booked < capacity``), atomic on
SQLite and PostgreSQL, so two customers can never both get the last place; a full window raises
``Conflict`` (409) and nothing changes. Rescheduling takes the new place and frees the old one in one
transaction. The fee is flat, in the RMA's currency, passed by the caller (configured with
``RETURNFLOW_PICKUP_FEE``; the return policy may supply it later) and stored on the booking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import insert, select, update

from returnflow.adapters.db import tables as t
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from returnflow.domain.money import Money, round_money
from returnflow.domain.statuses import ReturnStatus

UowFactory = Callable[[], UnitOfWork]
_CAN_BOOK = (ReturnStatus.AUTHORIZED, ReturnStatus.LABEL_ISSUED)


@dataclass(frozen=True)
class PickupWindow:
    """A pickup slot: ``area`` is a postal code prefix; ``starts``/``ends`` local "HH:MM"."""

    id: int
    area: str
    day: date
    starts: str
    ends: str
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked


@dataclass(frozen=True)
class PickupBooking:
    """A booking of an RMA in a window; ``status`` booked or cancelled."""

    id: int
    rma_number: str
    window: PickupWindow
    status: str
    postal_code: str
    address: str
    fee: Money


def _window(row: object) -> PickupWindow:
    r = row._mapping  # type: ignore[attr-defined]
    return PickupWindow(r["id"], r["area"], r["day"], r["starts"], r["ends"], r["capacity"], r["booked"])


def _valid_time(value: str) -> str:
    try:
        return datetime.strptime(value, "%H:%M").strftime("%H:%M")
    except ValueError:
        raise InvalidInput(f"time must be HH:MM, got {value!r}") from None


def create_windows(uow_factory: UowFactory, windows: list[tuple[str, date, str, str, int]]) -> list[PickupWindow]:
    """Add windows (area, day, starts, ends, capacity). Raises InvalidInput, Conflict (window exists)."""
    rows = []
    for area, day, starts, ends, capacity in windows:
        area = area.strip().upper().replace(" ", "")
        if not area or capacity < 1:
            raise InvalidInput("a window needs an area (postal code prefix) and a capacity of at least 1")
        starts, ends = _valid_time(starts), _valid_time(ends)
        if ends <= starts:
            raise InvalidInput(f"window {starts}-{ends} ends before it starts")
        rows.append({"area": area, "day": day, "starts": starts, "ends": ends, "capacity": capacity, "booked": 0})
    with uow_factory() as uow:
        for row in rows:
            if uow.session.execute(select(t.pickup_windows.c.id).where(t.pickup_windows.c.area == row["area"])
                                   .where(t.pickup_windows.c.day == row["day"])
                                   .where(t.pickup_windows.c.starts == row["starts"])).first():
                raise Conflict(f"a window {row['area']} {row['day']} {row['starts']} exists already")
            uow.session.execute(insert(t.pickup_windows).values(**row))
        uow.commit()
        return [_window(r) for r in uow.session.execute(select(t.pickup_windows).where(
            t.pickup_windows.c.area.in_({r["area"] for r in rows})).order_by(t.pickup_windows.c.id))
            if (r.area, r.day, r.starts) in {(x["area"], x["day"], x["starts"]) for x in rows}]


def _normal(postal_code: str) -> str:
    return postal_code.strip().upper().replace(" ", "")


def available_windows(uow_factory: UowFactory, *, postal_code: str, day_from: date, day_to: date) -> list[PickupWindow]:
    """Windows with a free place whose area is a prefix of ``postal_code``, between the days (inclusive)."""
    code = _normal(postal_code)
    with uow_factory() as uow:
        rows = uow.session.execute(select(t.pickup_windows).where(t.pickup_windows.c.day >= day_from)
                                   .where(t.pickup_windows.c.day <= day_to)
                                   .where(t.pickup_windows.c.booked < t.pickup_windows.c.capacity)
                                   .order_by(t.pickup_windows.c.day, t.pickup_windows.c.starts))
        return [w for w in map(_window, rows) if code.startswith(w.area)]


def _take_place(uow: UnitOfWork, window_id: int, postal_code: str, today: date) -> PickupWindow:
    row = uow.session.execute(select(t.pickup_windows).where(t.pickup_windows.c.id == window_id)).first()
    if row is None:
        raise NotFound(f"no pickup window {window_id}")
    window = _window(row)
    if not _normal(postal_code).startswith(window.area):
        raise InvalidInput(f"pickup window {window_id} serves postal codes starting {window.area}, not {postal_code}")
    if window.day <= today:
        raise InvalidInput(f"pickup window {window_id} is on {window.day}; book a later day")
    taken = uow.session.execute(update(t.pickup_windows).where(t.pickup_windows.c.id == window_id)
                                .where(t.pickup_windows.c.booked < t.pickup_windows.c.capacity)
                                .values(booked=t.pickup_windows.c.booked + 1))
    if taken.rowcount != 1:
        raise Conflict(f"pickup window {window.day} {window.starts}-{window.ends} is full")
    return window


def _free_place(uow: UnitOfWork, window_id: int) -> None:
    uow.session.execute(update(t.pickup_windows).where(t.pickup_windows.c.id == window_id)
                        .where(t.pickup_windows.c.booked > 0).values(booked=t.pickup_windows.c.booked - 1))


def _active(uow: UnitOfWork, number: str) -> object | None:
    return uow.session.execute(select(t.pickup_bookings).where(t.pickup_bookings.c.rma_number == number)
                               .where(t.pickup_bookings.c.status == "booked")).first()


def _booking(uow: UnitOfWork, booking_id: int) -> PickupBooking:
    r = uow.session.execute(select(t.pickup_bookings).where(t.pickup_bookings.c.id == booking_id)).one()
    w = uow.session.execute(select(t.pickup_windows).where(t.pickup_windows.c.id == r.window_id)).one()
    return PickupBooking(r.id, r.rma_number, _window(w), r.status, r.postal_code, r.address,
                         Money(round_money(r.fee_amount, r.fee_currency), r.fee_currency))


def book_pickup(uow_factory: UowFactory, number: str, *, window_id: int, postal_code: str, address: str,
                fee: Decimal, today: date | None = None) -> PickupBooking:
    """Book a pickup of the RMA's parcel; the RMA may hold one active booking.

    Raises NotFound (RMA, window), IllegalTransition (RMA not awaiting shipment), InvalidInput (postal code
    outside the window's area, a past day, a negative fee), Conflict (window full, or already booked).
    """
    today = today or datetime.now(UTC).date()
    if fee < 0:
        raise InvalidInput("the pickup fee must not be negative")
    with uow_factory() as uow:
        rma = uow.repo.rma_by_number(number.strip(), for_update=True)
        if rma is None:
            raise NotFound(f"no return authorization {number}")
        if rma.status not in _CAN_BOOK:
            raise IllegalTransition(status=str(rma.status), action="book_pickup", rma_number=rma.number)
        if _active(uow, rma.number):
            raise Conflict(f"RMA {rma.number} has a pickup booked already; reschedule or cancel it")
        _take_place(uow, window_id, postal_code, today)
        now = datetime.now(UTC)
        booking_id = uow.session.execute(insert(t.pickup_bookings).values(
            rma_number=rma.number, window_id=window_id, status="booked", postal_code=postal_code.strip(),
            address=address.strip(), fee_amount=round_money(fee, rma.currency), fee_currency=rma.currency,
            created_at=now, updated_at=now)).inserted_primary_key[0]
        uow.commit()
        return _booking(uow, booking_id)


def reschedule_pickup(uow_factory: UowFactory, number: str, *, window_id: int,
                      today: date | None = None) -> PickupBooking:
    """Move the RMA's active booking to another window (same postal code); frees the old place.

    Raises NotFound (no active booking, window), Conflict (new window full), InvalidInput (area, past day).
    """
    today = today or datetime.now(UTC).date()
    with uow_factory() as uow:
        uow.repo.rma_by_number(number.strip(), for_update=True)
        active = _active(uow, number.strip())
        if active is None:
            raise NotFound(f"RMA {number} has no pickup booked")
        if active.window_id == window_id:  # type: ignore[attr-defined]
            return _booking(uow, active.id)  # type: ignore[attr-defined]
        _take_place(uow, window_id, active.postal_code, today)  # type: ignore[attr-defined]
        _free_place(uow, active.window_id)  # type: ignore[attr-defined]
        uow.session.execute(update(t.pickup_bookings).where(t.pickup_bookings.c.id == active.id)  # type: ignore[attr-defined]
                            .values(window_id=window_id, updated_at=datetime.now(UTC)))
        uow.commit()
        return _booking(uow, active.id)  # type: ignore[attr-defined]


def cancel_pickup(uow_factory: UowFactory, number: str) -> PickupBooking:
    """Cancel the RMA's active booking and free its place. Raises NotFound when none is active."""
    with uow_factory() as uow:
        uow.repo.rma_by_number(number.strip(), for_update=True)
        active = _active(uow, number.strip())
        if active is None:
            raise NotFound(f"RMA {number} has no pickup booked")
        _free_place(uow, active.window_id)  # type: ignore[attr-defined]
        uow.session.execute(update(t.pickup_bookings).where(t.pickup_bookings.c.id == active.id)  # type: ignore[attr-defined]
                            .values(status="cancelled", updated_at=datetime.now(UTC)))
        uow.commit()
        return _booking(uow, active.id)  # type: ignore[attr-defined]
