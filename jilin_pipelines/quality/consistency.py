"""Cross-department consistency (GB/T 36344 consistency): does every department name a person the same way?

Read from the base database as of the day: the newest name each identity-bearing dataset delivered for a person
(``person``'s delivered versions), and the name on each of the person's insured rows (``insured_person``, one
per insurance type and employer, so a row that names the person differently is not hidden by another). A person
named differently (after normalisation, which the standardised layer already applied) is counted. A warning,
not a block: survivorship picks the value.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from jilin_pipelines.base.schema import DATASET, PARTITION, VALID_FROM, VALID_TO, golden_table, version_table


def name_conflicts(engine: sa.Engine, day: date) -> pd.DataFrame:
    """Persons whose identity-bearing sources disagree on the name as of ``day``: id_number, dataset, name."""
    v = version_table("person")
    newest = (
        sa.select(
            v.c.id_number, v.c[DATASET].label("dataset"), v.c.name,
            sa.func.row_number().over(partition_by=(v.c.id_number, v.c[DATASET]), order_by=v.c[PARTITION].desc()).label("n"),
        )
        .where(v.c[PARTITION] <= day, v.c._reference.is_(False), v.c.name.is_not(None))
        .subquery()
    )
    insured = golden_table("insured_person")
    latest = sa.union(
        sa.select(newest.c.id_number, newest.c.dataset, newest.c.name).where(newest.c.n == 1),
        sa.select(insured.c.id_number, sa.literal("social_security.insured_persons").label("dataset"), insured.c.name)
        .where(insured.c[VALID_FROM] <= day, sa.or_(insured.c[VALID_TO].is_(None), insured.c[VALID_TO] > day),
               insured.c.name.is_not(None)),
    ).subquery()
    disagreeing = (
        sa.select(latest.c.id_number).group_by(latest.c.id_number).having(sa.func.count(sa.distinct(latest.c.name)) > 1)
    )
    query = (
        sa.select(latest.c.id_number, latest.c.dataset, latest.c.name)
        .where(latest.c.id_number.in_(disagreeing))
        .order_by(latest.c.id_number, latest.c.dataset)
    )
    with engine.connect() as conn:
        return pd.read_sql(query, conn)
