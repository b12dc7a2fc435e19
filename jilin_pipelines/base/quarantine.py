"""The quarantine: every row the quality layer blocked, in the base database's ``quarantine`` table.

Re-materialising a partition replaces its quarantine rows in one transaction: nothing blocked is lost,
nothing is counted twice.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from jilin_pipelines.base.schema import QUARANTINE, metadata


def _table() -> sa.Table:
    return metadata().tables[QUARANTINE]


def replace_partition(engine: sa.Engine, dataset_id: str, day: date, rows: pd.DataFrame) -> int:
    """Replace the (dataset, day) quarantine rows by ``rows`` (columns of ``standardise.QUARANTINE_COLUMNS``)."""
    table = _table()
    records = rows.assign(partition=day).astype(object).where(rows.notna(), None).to_dict(orient="records")
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.dataset == dataset_id, table.c.partition == day))
        if records:
            conn.execute(sa.insert(table), records)
    return len(records)


def counts(engine: sa.Engine) -> dict[str, int]:
    """Quarantined rows per dataset, over all partitions."""
    table = _table()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.dataset, sa.func.count()).group_by(table.c.dataset)).all()
    return {dataset: int(n) for dataset, n in rows}


def rows(engine: sa.Engine, dataset_id: str, day: date) -> pd.DataFrame:
    table = _table()
    query = sa.select(table).where(table.c.dataset == dataset_id, table.c.partition == day).order_by(table.c.id)
    with engine.connect() as conn:
        return pd.read_sql(query, conn)
