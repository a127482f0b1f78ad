"""Importers of orders and returns from shop exports."""
