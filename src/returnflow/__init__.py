"""Returnflow: open-source returns management (reverse logistics)."""
