"""Money: ``Decimal`` amounts with an ISO 4217 currency; the ONLY place that rounds.

Amounts may carry more precision than the currency while they are being computed (a unit price of
70.125 GBP); they are rounded to the currency's minor unit by :func:`round_money` (ROUND_HALF_UP,
the commercial rounding used on invoices) exactly once, when an amount becomes a charge, a refund or a
credit.

The table of minor units (ISO 4217 "exponent": JPY 0, GBP 2, KWD 3) is not copied here: an adapter
registers a lookup (``returnflow.adapters.currencies`` uses Babel's CLDR data) with
:func:`register_minor_units`. ``returnflow/__init__.py`` installs it on import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from returnflow.domain.errors import InvalidInput, UnknownCurrency

_minor_units_lookup: Callable[[str], int] | None = None
_cache: dict[str, int] = {}


def register_minor_units(lookup: Callable[[str], int]) -> None:
    """Install ``lookup(code) -> exponent``; it raises ``UnknownCurrency`` for a code ISO 4217 lacks."""
    global _minor_units_lookup
    _minor_units_lookup = lookup
    _cache.clear()


def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency`` per ISO 4217 (JPY -> 0, GBP -> 2, KWD -> 3).

    Raises:
        UnknownCurrency: the code is not a known ISO 4217 currency, or no table is registered.
    """
    code = currency.upper()
    if code not in _cache:
        if _minor_units_lookup is None:
            raise UnknownCurrency("no ISO 4217 table registered (import returnflow first)")
        _cache[code] = _minor_units_lookup(code)
    return _cache[code]


def quantum(currency: str) -> Decimal:
    """The currency's smallest unit as a Decimal: GBP -> Decimal('0.01'), JPY -> Decimal('1')."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half-up to the currency's minor unit (the only rounding in Returnflow)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse ``value`` (str, int or Decimal; never float) into a finite Decimal.

    Raises:
        InvalidInput: the text is not a number, or is NaN/infinite, or a float was given.
    """
    if isinstance(value, float):
        raise InvalidInput(f"{field} must be given as text or Decimal, not float ({value!r})")
    try:
        result = Decimal(str(value).strip())
    except Exception:  # decimal.InvalidOperation and friends
        raise InvalidInput(f"{field} is not a number: {value!r}") from None
    if not result.is_finite():
        raise InvalidInput(f"{field} is not a finite number: {value!r}")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency. ``amount`` may be unrounded until :meth:`rounded` is called."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", self.currency.upper())
        minor_units(self.currency)  # validates the code

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def rounded(self) -> Money:
        """This amount rounded to whole minor units (see :func:`round_money`)."""
        return Money(round_money(self.amount, self.currency), self.currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidInput(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{round_money(self.amount, self.currency)} {self.currency}"


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``total`` into parts proportional to ``weights``, each in whole minor units, summing exactly.

    Largest-remainder (Hamilton) method: every part is first floored to the minor unit, then the
    leftover minor units go one each to the parts with the largest remainders (ties: earliest part).
    ``total`` is rounded first. Negative totals are split as the negation of the positive split.

    Raises:
        InvalidInput: no weights, a negative weight, or all weights zero while total is not zero.
    """
    total = round_money(total, currency)
    if not weights:
        raise InvalidInput("cannot allocate over no weights")
    if any(w < 0 for w in weights):
        raise InvalidInput("allocation weights must not be negative")
    if total < 0:
        return [-part for part in allocate(-total, weights, currency)]
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        if total == 0:
            return [Decimal(0).quantize(quantum(currency)) for _ in weights]
        raise InvalidInput("cannot allocate a non-zero amount over zero weights")
    unit = quantum(currency)
    units_total = int(total / unit)
    exact = [Decimal(units_total) * w / weight_sum for w in weights]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    leftover = units_total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Decimal(n) * unit for n in floors]


def share_of_units(line_total: Decimal, *, quantity: int, units_before: int, units: int, currency: str) -> Decimal:
    """The rounded amount of ``units`` units of a line whose ``quantity`` units cost ``line_total``.

    Cumulative rounding: the amount of units ``units_before+1 .. units_before+units`` is
    ``round(T * (b+u)/q) - round(T * b/q)``, so any sequence of partial returns adds up to exactly
    ``round(T)`` once all ``q`` units are back, and never exceeds it (case: 10 x 70.125 = 701.25 ->
    701.30 invoiced; one by one still sums to the rounded line total).

    Raises:
        InvalidInput: units out of 0..quantity - units_before, or quantity < 1.
    """
    if quantity < 1:
        raise InvalidInput("line quantity must be at least 1")
    if units < 0 or units_before < 0 or units_before + units > quantity:
        raise InvalidInput(
            f"cannot take {units} units after {units_before} of a line of {quantity}"
        )
    after = round_money(line_total * Decimal(units_before + units) / Decimal(quantity), currency)
    before = round_money(line_total * Decimal(units_before) / Decimal(quantity), currency)
    return after - before
