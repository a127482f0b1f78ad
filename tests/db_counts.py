"""Row counts of every table: compare before and after a refused request to prove nothing was written."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from returnflow.adapters.db import tables as t


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in t.metadata.sorted_tables}
