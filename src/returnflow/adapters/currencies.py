"""ISO 4217 minor units from Babel's CLDR data, registered into ``returnflow.domain.money``."""

from __future__ import annotations

from babel.numbers import get_currency_precision, list_currencies

from returnflow.domain.errors import UnknownCurrency
from returnflow.domain.money import register_minor_units

_KNOWN = frozenset(list_currencies())
# CLDR's "digits" follow everyday practice for a few currencies (IQD 0, HUF 0, IDR 0, COP 0) where the
# ISO 4217 list gives a larger exponent; refunds follow ISO 4217 (checked against the ISO list by hand).
_ISO_4217_OVERRIDES = {"IQD": 3, "HUF": 2, "IDR": 2, "COP": 2}


def minor_units(code: str) -> int:
    """ISO 4217 exponent of ``code`` (Babel/CLDR table). Raises ``UnknownCurrency``."""
    code = code.upper()
    if code not in _KNOWN:
        raise UnknownCurrency(f"unknown currency code {code!r} (not in ISO 4217)")
    return _ISO_4217_OVERRIDES.get(code, get_currency_precision(code))


def install() -> None:
    """Register this table with the domain's money module."""
    register_minor_units(minor_units)
