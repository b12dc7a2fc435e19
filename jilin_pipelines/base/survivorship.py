"""The survivorship rule as one SQL query generated from ``tables.yaml``: delivered versions in, golden SCD2
versions out — the merge's set-based core, defined once and run by an engine (``engines.py``: DuckDB, embedded and
vectorised, by default; Apache Spark with ``JILIN_ENGINE=spark``).

The query is plain SQL — joins, window functions and grouped ``ARG_MIN ... FILTER`` aggregates, nothing of one
engine's own — so the same text runs on Spark (transpiled to its dialect by SQLGlot) from the same definition. What
stays in Python is formatting, not deciding: the provenance text (the winners' references,
``golden.provenance_json``) and the record hash (``golden.record_hash``).

The rule (``golden.py`` states it in words), step by step as the query takes it:

1. ``ranked``: every version with ``tie``, its recency order among its key's versions — update time (none oldest),
   partition, then dataset, role, source row — and its reference (``{"delivery", "role", "source_row"}``);
2. ``days``: the delivery days of each key (the partitions among its versions);
3. ``cur``: each version on every delivery day of its key from its own partition on; ``newest = 1`` marks, per
   (key, day, dataset, role), the newest by ``tie`` (update time, partition, source row within one source);
4. ``state``: per (key, day) and attribute, the winner among the newest values present by (reference last, the
   dataset's rank in the attribute's priority list, ``tie``): its value, its reference and the source (dataset and
   role) it comes from; the placeholder flag when every contribution is a reference;
5. ``marked`` / ``versions_kept``: a day starts a version where a value, the placeholder flag or a value's source
   changes from the day before; its validity ends where the key's next version starts.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from jilin_pipelines.base.config import TableSpec
from jilin_pipelines.base.schema import (
    DATASET, DELIVERY, PARTITION, PLACEHOLDER, REFERENCE, ROLE, SOURCE_ROW, UPDATED_AT, VALID_FROM, VALID_TO,
)
from jilin_pipelines.engines import EMBEDDED, Engine

VERSIONS = "versions"
"""The relation the query reads: delivered versions (``golden.version_columns``), canonical values."""

_TIE_SPAN = 1 << 32  # ``tie`` < 2**32 within one (key, day): the rank and the reference flag sit above it

ARROW_TYPES = {"string": pa.string(), "date": pa.string(), "datetime": pa.string(), "integer": pa.int64(),
               "decimal": pa.float64()}
"""The engine's view of the canonical values: dates and datetimes as their ISO text (which sorts as time does)."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def src_column(attr: str) -> str:
    """The output column holding the reference (``{"delivery", "role", "source_row"}``) of ``attr``'s winner."""
    return f"src:{attr}"  # a colon: never a column of tables.yaml


def _from_column(attr: str) -> str:
    return f"from:{attr}"


def golden_sql(spec: TableSpec) -> str:
    """The query (for the relation :data:`VERSIONS`) giving every golden version of every key present: key,
    attributes, ``placeholder``, ``_valid_from``, ``_valid_to`` and per attribute its winner's reference
    (:func:`src_column`). Generated from the table's key, attributes and priority lists."""
    key = [_q(k) for k in spec.key]
    attrs = list(spec.attributes)
    keys_v = ", ".join(f"v.{k}" for k in key)
    keys = ", ".join(key)
    on = " AND ".join(f"v.{k} = d.{k}" for k in key)
    upd, part, row, ds, role = (_q(c) for c in (UPDATED_AT, PARTITION, SOURCE_ROW, DATASET, ROLE))
    newest = f"{upd} DESC NULLS LAST, {part} DESC"

    ranks: dict[tuple[str, ...], str] = {}
    for a in attrs:
        priority = spec.priority_of(a)
        if priority not in ranks:
            whens = " ".join(f"WHEN {_lit(d)} THEN {i}" for i, d in enumerate(priority))
            rank = f"CASE {ds} {whens} ELSE {len(priority)} END" if priority else "0"
            ranks[priority] = (f"((CASE WHEN {_q(REFERENCE)} THEN {len(priority) + 1} ELSE 0 END + {rank}) "
                               f"* {_TIE_SPAN} + tie)")
    state = []
    for a in attrs:
        order, present = ranks[spec.priority_of(a)], f"FILTER (WHERE {_q(a)} IS NOT NULL)"
        state += [f"ARG_MIN({_q(a)}, {order}) {present} AS {_q(a)}",
                  f"ARG_MIN(src, {order}) {present} AS {_q(src_column(a))}",
                  f"ARG_MIN(src_from, {order}) {present} AS {_q(_from_column(a))}"]
    meaning = [_q(a) for a in attrs] + [_q(_from_column(a)) for a in attrs] + [_q(PLACEHOLDER)]
    by_key = f"OVER (PARTITION BY {keys} ORDER BY {_q(VALID_FROM)})"
    changed = " OR ".join(f"{m} IS DISTINCT FROM LAG({m}) {by_key}" for m in meaning)
    out = [*key, *(_q(a) for a in attrs), _q(PLACEHOLDER), _q(VALID_FROM), *(_q(src_column(a)) for a in attrs)]
    return f"""
WITH ranked AS (
    SELECT *,
           ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {newest}, {ds}, {role}, {row} DESC) AS tie,
           '{{"delivery":' || CAST({_q(DELIVERY)} AS VARCHAR) || ',"role":"' || {role} || '","source_row":'
               || CAST({row} AS VARCHAR) || '}}' AS src,
           {ds} || '/' || {role} AS src_from
    FROM {VERSIONS}
), days AS (
    SELECT DISTINCT {keys}, {part} AS day FROM {VERSIONS}
), cur AS (
    SELECT d.day, v.*, ROW_NUMBER() OVER (PARTITION BY {keys_v}, d.day, v.{ds}, v.{role} ORDER BY v.tie) AS newest
    FROM days d JOIN ranked v ON {on} AND v.{part} <= d.day
), state AS (
    SELECT {keys}, day AS {_q(VALID_FROM)}, BOOL_AND({_q(REFERENCE)}) AS {_q(PLACEHOLDER)},
           {(',' + chr(10) + '           ').join(state)}
    FROM cur WHERE newest = 1 GROUP BY {keys}, day
), marked AS (
    SELECT *, LAG({_q(VALID_FROM)}) {by_key} IS NULL OR {changed} AS starts FROM state
), versions_kept AS (
    SELECT {', '.join(out)} FROM marked WHERE starts
)
SELECT *, LEAD({_q(VALID_FROM)}) {by_key} AS {_q(VALID_TO)} FROM versions_kept
"""


def arrow_versions(spec: TableSpec, versions: pd.DataFrame) -> pa.Table:
    """Delivered versions (canonical pandas) as the Arrow table the engine reads, typed from the table's columns
    (an all-null column keeps its type)."""
    types = {**{c: ARROW_TYPES[t] for c, t in spec.columns.items()}, DATASET: pa.string(), ROLE: pa.string(),
             PARTITION: pa.string(), SOURCE_ROW: pa.int64(), UPDATED_AT: pa.string(), REFERENCE: pa.bool_(),
             DELIVERY: pa.int64()}
    schema = pa.schema([(c, types[c]) for c in types])
    return pa.Table.from_pandas(versions[list(types)], schema=schema, preserve_index=False)


def run_golden(spec: TableSpec, versions: pd.DataFrame, engine: Engine | None = None) -> pd.DataFrame:
    """:func:`golden_sql` over ``versions`` on ``engine`` (default: the embedded one): the golden versions with their
    winners' references (not yet formatted: see ``golden.compute_golden``)."""
    table = (engine or EMBEDDED).query(golden_sql(spec), {VERSIONS: arrow_versions(spec, versions)})
    return table.to_pandas()
