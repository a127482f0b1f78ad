"""Adapters: database, carriers, payments, notifications, importers. Each implements a port."""
