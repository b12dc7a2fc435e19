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


def contrasted(values: list[str]) -> list[str]:
    """The values masked so that they still differ where they differ: a position where every value has the same
    character is ``*`` (the first one shown, as the masking shows a surname, when all agree on it), a position
    where they differ a letter per distinct character (``A``, ``B``, …), in the order first met. So 刘德华 and
    刘德化 read 刘*A and 刘*B: where they differ, never what they are."""
    width = max((len(v) for v in values), default=0)
    out = [[] for _ in values]
    for i in range(width):
        chars = [v[i] if i < len(v) else None for v in values]
        same = len(set(chars)) == 1
        letters = {c: chr(ord("A") + n) for n, c in enumerate(dict.fromkeys(c for c in chars if c is not None))}
        for j, c in enumerate(chars):
            if c is not None:
                out[j].append((c if i == 0 else "*") if same else letters[c])
    return ["".join(chars) for chars in out]


def difference(values: list[str]) -> str:
    """Where the values differ, in words: the positions (1-based) of the characters, or their lengths."""
    lengths = sorted({len(v) for v in values})
    if len(lengths) > 1:
        return f"{' vs '.join(map(str, lengths))} characters"
    at = [i + 1 for i in range(lengths[0]) if len({v[i] for v in values}) > 1] if lengths else []
    return f"character{'s' if len(at) > 1 else ''} {', '.join(map(str, at))} of {lengths[0]}"


def conflict_examples(conflicts: pd.DataFrame, persons: int, mask_id) -> list[dict]:
    """Up to ``persons`` persons named differently, each as: the person (``mask_id`` of the ID), the attribute,
    each department's value contrasted (``contrasted``) and where the values differ — what differs and who says
    what, without the names."""
    examples = []
    for id_number, rows in conflicts.groupby("id_number", sort=False):
        if len(examples) == persons:
            break
        names = [str(n) for n in rows["name"]]
        distinct = list(dict.fromkeys(names))
        shown = dict(zip(distinct, contrasted(distinct)))
        examples.append({
            "person": mask_id(id_number),
            "attribute": "name",
            "departments": {dataset: shown[name] for dataset, name in zip(rows["dataset"], names)},
            "difference": difference(distinct),
        })
    return examples
