"""Fast bulk inserts for imports: SQLite ``executemany`` on the raw cursor, PostgreSQL ``COPY``.

Values must already be in storage form (money as ``Decimal``, times timezone-aware); this bypasses
the ORM and SQLAlchemy's per-row type processing, which dominate a 400,000-row import.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` inside the connection's transaction."""
    if not rows:
        return
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        placeholders = ", ".join("?" for _ in columns)
        converted = ([format(v, "f") if isinstance(v, Decimal) else v for v in row] for row in rows)
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", converted)
    finally:
        cursor.close()


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk job, then restore it.

    An import or replay allocates millions of long-lived objects (rows, tuples, ORM states); every
    generation-2 collection walks all of them, which cost about 40 % of the CPU time of the whole-file
    import + replay (benchmarks/import_replay.py, cProfile). Reference counting still frees everything
    acyclic; cycles left behind are collected when the collector resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
