"""Reading the base databases: golden records as of a day, their provenance, a key's versions.

"As of day D" (DESIGN, scenario rules): for every key, the newest version delivered on or before D — the golden
version whose ``[_valid_from, _valid_to)`` contains D. Values come back typed: dates as ``datetime.date``,
datetimes tz-aware (Asia/Shanghai), integers ``Int64``, decimals ``float64``. Rows are fetched as the driver gives
them (no per-value result processing) and typed column-wise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from jilin_pipelines.base import bulk
from jilin_pipelines.base.config import TableSpec, base_config
from jilin_pipelines.base.golden import (
    TIMEZONE,
    Deliveries,
    golden_columns,
    provenance_deliveries,
    provenance_sources,
    version_columns,
)
from jilin_pipelines.base.schema import (
    DATASET,
    DELIVERY,
    DELIVERY_TABLE,
    PARTITION,
    PROVENANCE,
    ROLE,
    SOURCE_ROW,
    SOURCE_SHA256,
    UPDATED_AT,
    VALID_FROM,
    VALID_TO,
    golden_table,
    metadata,
    version_table,
)

PROVENANCE_COLUMNS = ("attribute", "dataset", "role", "partition", "source_row", "sha256")


def _dates(s: pd.Series) -> pd.Series:
    """ISO date text (SQLite) or ``datetime.date`` (PostgreSQL) -> ``datetime.date`` objects, column-wise."""
    if s.empty or pd.api.types.infer_dtype(s, skipna=True) != "string":
        return s.astype(object)
    days = pc.cast(pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True), pa.date32())
    return pd.Series(days.to_pandas(date_as_object=True), index=s.index, dtype=object)


def _typed(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    types = {**spec.columns, UPDATED_AT: "datetime", PARTITION: "date", VALID_FROM: "date", VALID_TO: "date"}
    for c, t in types.items():
        if c not in frame.columns:
            continue
        if t == "date":
            frame[c] = _dates(frame[c])
        elif t == "datetime":
            s = pd.to_datetime(frame[c], format="ISO8601")
            frame[c] = s.dt.tz_localize(TIMEZONE) if s.dt.tz is None else s.dt.tz_convert(TIMEZONE)
        elif t == "integer":
            frame[c] = pd.to_numeric(frame[c]).astype("Int64")
        elif t == "decimal":
            frame[c] = pd.to_numeric(frame[c]).astype("float64")
        elif t == "string":
            frame[c] = frame[c].astype(object)
    return frame


def _raw(column: sa.ColumnElement) -> sa.ColumnElement:
    """The column without SQLAlchemy's per-value result processing (``_typed`` types the frame column-wise)."""
    return sa.type_coerce(column, sa.types.NullType()).label(column.name)


def _select(conn: sa.Connection, stmt: sa.Select, columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(conn.execute(stmt).fetchall(), columns=list(columns))


Only = tuple[str, Iterable]
"""``(column, values)``: only the records whose ``column`` holds one of ``values`` (nulls never match)."""


def _only(conn: sa.Connection, t: sa.Table, only: Only | None) -> list:
    """The WHERE clause of ``only`` on table ``t``. PostgreSQL: ``= ANY`` of one array parameter, which
    it filters by hashing whatever its statistics say (a freshly loaded table's stale row estimate made it choose a
    nested loop over a staged table); SQLite: the values go to a temporary table on ``conn``."""
    if only is None:
        return []
    column, values = only
    wanted = pd.Series(list(values), dtype=object).dropna().astype(str).drop_duplicates()
    if conn.dialect.name == "postgresql":
        return [t.c[column] == sa.any_(sa.bindparam("only", wanted.tolist(), type_=postgresql.ARRAY(sa.Text()),
                                                    unique=True))]
    tmp = bulk.stage_frame(conn, "jlbase_only", t.name, pd.DataFrame({column: wanted.to_numpy()}))
    return [t.c[column].in_(sa.select(sa.literal_column(bulk.q(conn, column))).select_from(sa.text(tmp)))]


def as_of(engine: sa.Engine, table: str, day: date, *, include_placeholders: bool = True,
          columns: Sequence[str] | None = None, provenance: bool = True, only: Only | None = None) -> pd.DataFrame:
    """The golden records of ``table`` as of ``day``, sorted by key, with ``placeholder``, ``provenance`` (JSON
    text: the delivered rows the values came from, by reference to the ``delivery`` table, see
    ``golden.provenance_json``; left out with ``provenance=False``; :func:`provenance_as_of` resolves it) and ``_valid_from`` / ``_valid_to``. ``columns``: only these of the table's columns (the
    key and the bookkeeping columns come always); ``only``: just the records a column's values name."""
    spec = base_config().table(table)
    t = golden_table(table)
    cols = [c for c in golden_columns(spec) if c != "_record_hash" and (provenance or c != PROVENANCE)]
    if columns is not None:
        unknown = sorted(set(columns) - set(spec.columns))
        if unknown:
            raise ValueError(f"{table}: no such columns {unknown}")
        cols = [c for c in cols if c not in spec.columns or c in spec.key or c in columns]
    stmt = (
        sa.select(*[_raw(t.c[c]) for c in cols])
        .where(t.c[VALID_FROM] <= day, sa.or_(t.c[VALID_TO].is_(None), t.c[VALID_TO] > day))
        .order_by(*[t.c[k] for k in spec.key])
    )
    if not include_placeholders:
        stmt = stmt.where(t.c.placeholder.is_(False))
    with engine.connect() as conn:
        frame = _select(conn, stmt.where(*_only(conn, t, only)), cols)
    frame["placeholder"] = frame["placeholder"].astype(bool)
    return _typed(spec, frame)


def provenance_of(engine: sa.Engine, table: str, versions: pd.DataFrame) -> pd.Series:
    """The ``provenance`` of the golden versions named in ``versions`` (the key columns and ``_valid_from``, as
    ``datetime.date`` or ISO text), aligned with its rows. A version the table does not hold (any more) is an
    error: the caller read the base before a merge replaced it."""
    spec = base_config().table(table)
    key = list(spec.key)
    named = versions[[*key, VALID_FROM]].astype(str)
    wanted = named.drop_duplicates()
    if wanted.empty:
        return pd.Series([], index=versions.index, dtype=object)
    with engine.connect() as conn:
        tmp = bulk.stage_frame(conn, "jlbase_provenance", table, wanted)
        on = " AND ".join(f"g.{bulk.q(conn, c)} = w.{bulk.q(conn, c)}" for c in [*key, VALID_FROM])
        found = bulk.read_frame(
            conn,
            f"SELECT {bulk.cols_sql(conn, key, 'g.')}, g.{bulk.q(conn, VALID_FROM)}, g.{bulk.q(conn, PROVENANCE)} "
            f"FROM {bulk.q(conn, table)} g JOIN {tmp} w ON {on}",
            [*key, VALID_FROM, PROVENANCE],
        )
        bulk.drop_stage(conn, tmp)
    found[VALID_FROM] = found[VALID_FROM].astype(str)
    out = named.merge(found, on=[*key, VALID_FROM], how="left")[PROVENANCE]
    if out.isna().any():
        missing = named[out.isna().to_numpy()].iloc[0]
        raise LookupError(f"{table}: no golden version {dict(missing)} any more: "
                          "the base changed while it was being read; run again")
    return pd.Series(out.to_numpy(), index=versions.index, dtype=object)


def deliveries(engine: sa.Engine, ids: Iterable[int]) -> dict[int, dict]:
    """The ``delivery`` rows of ``ids``: id -> ``{"dataset", "partition"`` (ISO text) ``, "sha256", "size_bytes",
    "delivered_rows", "standardised_rows"}`` — what provenance references resolve to."""
    wanted = sorted({int(i) for i in ids})
    t = metadata().tables[DELIVERY_TABLE]
    out: dict[int, dict] = {}
    if not wanted:
        return out
    with engine.connect() as conn:
        for at in range(0, len(wanted), 500):
            for row in conn.execute(sa.select(t).where(t.c.id.in_(wanted[at:at + 500]))).mappings():
                d = dict(row)
                d["partition"] = str(d["partition"])[:10]
                out[int(d.pop("id"))] = d
    return out


def provenance_deliveries_of(engine: sa.Engine, texts: Iterable[str]) -> Deliveries:
    """The deliveries that golden versions' ``provenance`` texts reference (for ``golden.provenance_sources``)."""
    return deliveries(engine, provenance_deliveries(texts))


def provenance_as_of(engine: sa.Engine, table: str, day: date) -> pd.DataFrame:
    """Attribute-level provenance as of ``day``, long: key columns, then attribute, dataset, role, partition
    (date), source_row, sha256 — one row per attribute that has a value."""
    spec = base_config().table(table)
    golden = as_of(engine, table, day)
    key = list(spec.key)
    records = []
    resolved = provenance_deliveries_of(engine, golden[PROVENANCE].unique())
    for k, prov in zip(golden[key].itertuples(index=False, name=None), golden[PROVENANCE]):
        for attribute, src in provenance_sources(prov, resolved).items():
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
    stmt = sa.select(*[_raw(t.c[c]) for c in cols]).where(*_key_filter(spec, t, key)).order_by(t.c[VALID_FROM])
    with engine.connect() as conn:
        frame = _select(conn, stmt, cols)
    frame["placeholder"] = frame["placeholder"].astype(bool)
    return _typed(spec, frame)


def source_versions(engine: sa.Engine, table: str, key: object) -> pd.DataFrame:
    """Every delivered version of one key, by partition, dataset and role."""
    spec = base_config().table(table)
    t = version_table(table)
    cols = _with_sha256(version_columns(spec))
    stmt = (
        sa.select(*[_sha256() if c == SOURCE_SHA256 else _raw(t.c[c]) for c in cols])
        .select_from(_delivery_join(t))
        .where(*_key_filter(spec, t, key))
        .order_by(t.c[PARTITION], t.c[DATASET], t.c[ROLE], t.c[SOURCE_ROW])
    )
    with engine.connect() as conn:
        frame = _select(conn, stmt, cols)
    frame["_reference"] = frame["_reference"].astype(bool)
    return _typed(spec, frame)


def newest_delivered(engine: sa.Engine, table: str, dataset: str, day: date, *, role: str = "",
                     columns: Sequence[str] | None = None, only: Only | None = None) -> pd.DataFrame:
    """Per key, the newest version of ``table`` that ``dataset`` itself (in ``role``, not a reference) delivered
    on or before ``day`` — newest update time, then partition, then source row: what that one dataset says about
    each record as of the day. ``columns``: only these attributes (the key and the delivery columns come always);
    ``only``: just the records a column's values name."""
    spec = base_config().table(table)
    t = version_table(table)
    cols = [c for c in version_columns(spec) if c not in ("_reference", DELIVERY)]
    if columns is not None:
        cols = [c for c in cols if c not in spec.columns or c in spec.key or c in columns]
    with engine.connect() as conn:
        ranked = (
            sa.select(
                *[t.c[c] for c in cols],
                t.c[DELIVERY],
                sa.func.row_number().over(
                    partition_by=[t.c[k] for k in spec.key],
                    order_by=(t.c[UPDATED_AT].desc().nulls_last(), t.c[PARTITION].desc(), t.c[SOURCE_ROW].desc()),
                ).label("_n"),
            )
            .where(t.c[PARTITION] <= day, t.c[DATASET] == dataset, t.c[ROLE] == role, t.c._reference.is_(False),
                   *_only(conn, t, only))
            .subquery()
        )
        d = metadata().tables[DELIVERY_TABLE]
        stmt = (sa.select(*[_raw(ranked.c[c]) for c in cols], _sha256())
                .select_from(ranked.outerjoin(d, d.c.id == ranked.c[DELIVERY]))
                .where(ranked.c._n == 1).order_by(*[ranked.c[k] for k in spec.key]))
        cols = _with_sha256(cols)
        frame = _select(conn, stmt, [c for c in cols if c != SOURCE_SHA256] + [SOURCE_SHA256])[cols]
    return _typed(spec, frame)


def _with_sha256(cols: list[str]) -> list[str]:
    """Version columns as readers see them: the delivery's SHA-256 after the source row, in place of its id."""
    out = [c for c in cols if c != DELIVERY]
    return [*out[:out.index(SOURCE_ROW) + 1], SOURCE_SHA256, *out[out.index(SOURCE_ROW) + 1:]]


def _delivery_join(t: sa.Table) -> sa.Join:
    d = metadata().tables[DELIVERY_TABLE]
    return t.outerjoin(d, d.c.id == t.c[DELIVERY])


def _sha256() -> sa.ColumnElement:
    return _raw(metadata().tables[DELIVERY_TABLE].c.sha256.label(SOURCE_SHA256))
