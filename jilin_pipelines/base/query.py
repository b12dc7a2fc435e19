"""Reading the base databases: golden records as of a day, their provenance, a key's versions.

"As of day D" (DESIGN, scenario rules): for every key, the newest version delivered on or before D — the golden
version whose ``[_valid_from, _valid_to)`` contains D. Values come back typed: dates as ``datetime.date``,
datetimes tz-aware (Asia/Shanghai), integers ``Int64``, decimals ``float64``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
import sqlalchemy as sa

from jilin_pipelines.base.config import TableSpec, base_config
from jilin_pipelines.base.golden import TIMEZONE, golden_columns, version_columns
from jilin_pipelines.base.schema import (
    PARTITION,
    PROVENANCE,
    ROLE,
    DATASET,
    SOURCE_ROW,
    UPDATED_AT,
    VALID_FROM,
    VALID_TO,
    golden_table,
    version_table,
)

PROVENANCE_COLUMNS = ("attribute", "dataset", "role", "partition", "source_row", "sha256")


def _typed(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    types = {**spec.columns, UPDATED_AT: "datetime"}
    for c, t in types.items():
        if c not in frame.columns:
            continue
        if t == "datetime":
            s = pd.to_datetime(frame[c])
            frame[c] = s.dt.tz_localize(TIMEZONE) if s.dt.tz is None else s.dt.tz_convert(TIMEZONE)
        elif t == "integer":
            frame[c] = pd.to_numeric(frame[c]).astype("Int64")
        elif t == "decimal":
            frame[c] = pd.to_numeric(frame[c]).astype("float64")
        elif t == "string":
            frame[c] = frame[c].astype(object)
    return frame


def _select(conn: sa.Connection, stmt: sa.Select, columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(conn.execute(stmt).fetchall(), columns=list(columns))


def as_of(engine: sa.Engine, table: str, day: date, *, include_placeholders: bool = True,
          columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The golden records of ``table`` as of ``day``, sorted by key, with ``placeholder`` and ``provenance``
    (JSON text per attribute: dataset, role, partition, source_row, sha256) and ``_valid_from`` / ``_valid_to``.
    ``columns``: only these of the table's columns (the key and the bookkeeping columns come always)."""
    spec = base_config().table(table)
    t = golden_table(table)
    cols = [c for c in golden_columns(spec) if c != "_record_hash"]
    if columns is not None:
        unknown = sorted(set(columns) - set(spec.columns))
        if unknown:
            raise ValueError(f"{table}: no such columns {unknown}")
        cols = [c for c in cols if c not in spec.columns or c in spec.key or c in columns]
    stmt = (
        sa.select(*[t.c[c] for c in cols])
        .where(t.c[VALID_FROM] <= day, sa.or_(t.c[VALID_TO].is_(None), t.c[VALID_TO] > day))
        .order_by(*[t.c[k] for k in spec.key])
    )
    if not include_placeholders:
        stmt = stmt.where(t.c.placeholder.is_(False))
    with engine.connect() as conn:
        frame = _select(conn, stmt, cols)
    frame["placeholder"] = frame["placeholder"].astype(bool)
    return _typed(spec, frame)


def provenance_as_of(engine: sa.Engine, table: str, day: date) -> pd.DataFrame:
    """Attribute-level provenance as of ``day``, long: key columns, then attribute, dataset, role, partition
    (date), source_row, sha256 — one row per attribute that has a value."""
    spec = base_config().table(table)
    golden = as_of(engine, table, day)
    key = list(spec.key)
    records = []
    for k, prov in zip(golden[key].itertuples(index=False, name=None), golden[PROVENANCE]):
        for attribute, src in json.loads(prov).items():
            if src is not None:
                records.append((*k, attribute, src["dataset"], src["role"], date.fromisoformat(src["partition"]),
                                src["source_row"], src["sha256"]))
    return pd.DataFrame.from_records(records, columns=[*key, *PROVENANCE_COLUMNS])


def _key_filter(spec: TableSpec, t: sa.Table, key: object) -> list:
    if isinstance(key, Mapping):
        values = [key[k] for k in spec.key]
    elif isinstance(key, (tuple, list)):
        values = list(key)
    else:
        values = [key]
    if len(values) != len(spec.key):
        raise ValueError(f"{spec.name}: the key is {spec.key}, got {key!r}")
    return [t.c[k] == v for k, v in zip(spec.key, values)]


def record_versions(engine: sa.Engine, table: str, key: object) -> pd.DataFrame:
    """Every golden version of one key (a value, a tuple in key order, or a mapping), oldest first."""
    spec = base_config().table(table)
    t = golden_table(table)
    cols = golden_columns(spec)
    stmt = sa.select(*[t.c[c] for c in cols]).where(*_key_filter(spec, t, key)).order_by(t.c[VALID_FROM])
    with engine.connect() as conn:
        frame = _select(conn, stmt, cols)
    frame["placeholder"] = frame["placeholder"].astype(bool)
    return _typed(spec, frame)


def source_versions(engine: sa.Engine, table: str, key: object) -> pd.DataFrame:
    """Every delivered version of one key, by partition, dataset and role."""
    spec = base_config().table(table)
    t = version_table(table)
    cols = version_columns(spec)
    stmt = (
        sa.select(*[t.c[c] for c in cols])
        .where(*_key_filter(spec, t, key))
        .order_by(t.c[PARTITION], t.c[DATASET], t.c[ROLE], t.c[SOURCE_ROW])
    )
    with engine.connect() as conn:
        frame = _select(conn, stmt, cols)
    frame["_reference"] = frame["_reference"].astype(bool)
    return _typed(spec, frame)


def newest_delivered(engine: sa.Engine, table: str, dataset: str, day: date, *, role: str = "",
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Per key, the newest version of ``table`` that ``dataset`` itself (in ``role``, not a reference) delivered
    on or before ``day`` — newest update time, then partition, then source row: what that one dataset says about
    each record as of the day. ``columns``: only these attributes (the key and the delivery columns come always)."""
    spec = base_config().table(table)
    t = version_table(table)
    cols = [c for c in version_columns(spec) if c != "_reference"]
    if columns is not None:
        cols = [c for c in cols if c not in spec.columns or c in spec.key or c in columns]
    ranked = (
        sa.select(
            *[t.c[c] for c in cols],
            sa.func.row_number().over(
                partition_by=[t.c[k] for k in spec.key],
                order_by=(t.c[UPDATED_AT].desc().nulls_last(), t.c[PARTITION].desc(), t.c[SOURCE_ROW].desc()),
            ).label("_n"),
        )
        .where(t.c[PARTITION] <= day, t.c[DATASET] == dataset, t.c[ROLE] == role, t.c._reference.is_(False))
        .subquery()
    )
    stmt = sa.select(*[ranked.c[c] for c in cols]).where(ranked.c._n == 1).order_by(*[ranked.c[k] for k in spec.key])
    with engine.connect() as conn:
        frame = _select(conn, stmt, cols)
    return _typed(spec, frame)
