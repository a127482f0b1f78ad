"""Returnflow: open-source returns management (reverse logistics) for e-commerce."""

from returnflow.adapters import currencies as _currencies

_currencies.install()
