"""Pure, column-wise core of the merge: standardised frame -> delivered versions -> golden SCD2 versions (the
survivorship decision itself is one SQL query, ``survivorship.py``, run by an embedded engine).

No serving database here. Values travel in one canonical form so that what is computed from a fresh frame and what
is read back from SQLite or PostgreSQL compare equal:

| column type | canonical pandas value                                       |
|-------------|--------------------------------------------------------------|
| string      | object: ``str`` or ``None``                                  |
| date        | object: ``'YYYY-MM-DD'`` or ``None``                         |
| datetime    | object: ``'YYYY-MM-DD HH:MM:SS.ffffff'`` (naive Asia/Shanghai wall time) or ``None`` |
| integer     | ``Int64``                                                    |
| decimal     | ``float64``                                                  |

Survivorship (the rule; its data lives in ``catalogue/base/tables.yaml``): for a key as of day D, every source
(dataset and role) contributes its newest version delivered on or before D — newest update time (the dataset's
``updated_field``; none counts as oldest), then newest partition, then highest source row. Per attribute, among
the contributions with a non-null value, the winner is the one whose dataset ranks highest in the attribute's
priority list (unlisted datasets after listed ones; reference-only sources after every delivering source), then
the most recent (update time, partition), then dataset, role and source row. The record is a ``placeholder`` when
every contribution is a reference. A new golden version starts on every partition day on which a value, the
placeholder flag or the source (dataset and role) a value wins from changes; a re-delivery of the same values by
the same sources is kept among the delivered versions and starts none. A version's provenance names the deliveries
its values came from on the day it started (the first delivery of those values, not their latest repetition), by
reference: a delivery's id (:func:`delivery_id`, its row in the ``delivery`` table), the role and the source row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from jilin_pipelines.base import survivorship
from jilin_pipelines.base.config import SourceSpec, TableSpec
from jilin_pipelines.base.schema import (
    DATASET, DELIVERY, PARTITION, PLACEHOLDER, PROVENANCE, RECORD_HASH, REFERENCE, ROLE, SOURCE_ROW, UPDATED_AT,
    VALID_FROM, VALID_TO,
)
from jilin_pipelines.catalogue import Dataset
from jilin_pipelines.engines import Engine
from jilin_pipelines.quality import layout
from jilin_pipelines.standards import validate_plate, validate_resident_id, validate_uscc

TIMEZONE = layout.TIMEZONE
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

# ---------------------------------------------------------------------------------------------- canonical values


def _nulls(n: int, index: pd.Index) -> pd.Series:
    return pd.Series([None] * n, index=index, dtype=object)


def canon_string(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        arr = s.to_numpy()
    else:
        arr = s.to_numpy(dtype=object, na_value=None)
        if not (pd.api.types.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype)):
            arr = np.array([None if x is None else str(x) for x in arr], dtype=object)
    mask = pd.isna(arr)
    mask |= arr == ""
    if mask.any():
        arr = arr.copy()
        arr[mask] = None
    return pd.Series(arr, index=s.index, dtype=object)


def canon_date(s: pd.Series) -> pd.Series:
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind == "empty":
        return _nulls(len(s), s.index)
    if kind == "string":  # ISO text (as SQLite keeps it): already canonical
        return s.where(s.notna(), None) if s.hasnans else s
    if kind in ("datetime64", "datetime") and isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    arr = pa.array(s, from_pandas=True)
    if not pa.types.is_date32(arr.type):
        arr = pc.cast(arr, pa.date32())
    return pd.Series(pc.cast(arr, pa.string()).to_pylist(), index=s.index, dtype=object)


def canon_datetime(s: pd.Series) -> pd.Series:
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind == "empty":
        return _nulls(len(s), s.index)
    if kind == "string" and s.str.len().max() == 26:  # already canonical (read back from SQLite)
        return s.where(s.notna(), None)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        t = s
    else:
        t = pd.to_datetime(s, format="ISO8601") if kind == "string" else pd.to_datetime(s)
    if isinstance(t.dtype, pd.DatetimeTZDtype):
        t = t.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    # Arrow's text of a microsecond timestamp is DATETIME_FORMAT (ten times faster than strftime)
    us = pc.cast(pa.array(t, from_pandas=True), pa.timestamp("us"), safe=False)
    text = pc.cast(us, pa.string())
    return pd.Series(text.to_numpy(zero_copy_only=False), index=s.index, dtype=object)


def canon_integer(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        s = pd.to_numeric(s)
    return s.astype("Int64")


def canon_decimal(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        s = pd.to_numeric(s)
    return s.astype("float64")


CANON = {
    "string": canon_string,
    "date": canon_date,
    "datetime": canon_datetime,
    "integer": canon_integer,
    "decimal": canon_decimal,
}

VERSION_TYPES = {
    DATASET: "string",
    ROLE: "string",
    PARTITION: "date",
    UPDATED_AT: "datetime",
}


def canonical(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Bring the named columns of ``frame`` to their canonical form (other columns untouched)."""
    out = frame.copy()
    for c, t in types.items():
        if c in out.columns:
            out[c] = CANON[t](out[c])
    if ROLE in out.columns:
        out[ROLE] = out[ROLE].fillna("")
    for c in (SOURCE_ROW, DELIVERY):
        if c in out.columns:
            out[c] = out[c].astype("int64")
    for c in (REFERENCE, PLACEHOLDER):
        if c in out.columns:
            out[c] = out[c].astype(bool)
    if RECORD_HASH in out.columns:
        out[RECORD_HASH] = out[RECORD_HASH].astype("int64")
    return out


def version_columns(spec: TableSpec) -> list[str]:
    return [*spec.columns, DATASET, ROLE, PARTITION, SOURCE_ROW, UPDATED_AT, REFERENCE, DELIVERY]


def golden_columns(spec: TableSpec) -> list[str]:
    return [*spec.columns, PLACEHOLDER, PROVENANCE, VALID_FROM, VALID_TO, RECORD_HASH]


def golden_types(spec: TableSpec) -> dict[str, str]:
    return {**spec.columns, VALID_FROM: "date", VALID_TO: "date"}


def version_types(spec: TableSpec) -> dict[str, str]:
    return {**spec.columns, **VERSION_TYPES}


# ---------------------------------------------------------------------------------------------- frame -> versions


def delivery_id(dataset_id: str, partition: date | str, sha256: str | None, provider: str | None = None) -> int:
    """A delivery's id: a 63-bit fingerprint of its dataset, partition and SHA-256 (and provider, of a dataset
    delivered by many: two providers' identical files are two deliveries) — the same delivery has the same id in
    every database, whatever order its partitions were merged in (order independence holds for the provenance's
    text too)."""
    day = partition if isinstance(partition, str) else partition.isoformat()
    text = f"{dataset_id}|{day}|{sha256 or ''}" + (f"|{provider}" if provider else "")
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _source_versions(
    spec: TableSpec, source: SourceSpec, dataset: Dataset, partition: date, frame: pd.DataFrame
) -> pd.DataFrame:
    df = frame
    for f, allowed in source.where.items():
        values = [allowed] if isinstance(allowed, str) else list(allowed)
        df = df[df[f].isin(values)]
    if source.explode:
        lists = df[source.explode].map(lambda v: json.loads(v) if isinstance(v, str) else [])
        df = df.assign(**{source.explode: lists}).explode(source.explode, ignore_index=True)
    n, idx = len(df), df.index
    out: dict[str, pd.Series] = {}
    for col in spec.columns:
        m = source.columns.get(col)
        if m is None:
            s = _nulls(n, idx)
        elif isinstance(m, str):
            s = df[m]
        elif hasattr(m, "const"):
            s = pd.Series([m.const] * n, index=idx, dtype=object)
        else:
            s = df[m.field]
            if m.map is not None:
                s = s.map(m.map)
        out[col] = CANON[spec.columns[col]](s)
    v = pd.DataFrame(out, index=idx)
    v[DATASET] = source.dataset
    v[ROLE] = source.role
    v[PARTITION] = partition.isoformat()
    v[SOURCE_ROW] = df[layout.SOURCE_ROW].astype("int64")
    sha = canon_string(df[layout.SOURCE_SHA256]).fillna("") if n else _nulls(0, idx)
    if layout.PROVIDER in df.columns and n and df[layout.PROVIDER].notna().any():  # one of many providers' delivery
        pairs = sha + "|" + canon_string(df[layout.PROVIDER]).fillna("")
        ids = {pair: delivery_id(source.dataset, partition, *pair.split("|", 1)) for pair in pairs.unique()}
        v[DELIVERY] = pairs.map(ids).astype("int64")
    else:
        ids = {u: delivery_id(source.dataset, partition, u) for u in sha.unique()}
        v[DELIVERY] = sha.map(ids).astype("int64") if n else pd.Series([], index=idx, dtype="int64")
    upd = dataset.updated_field
    v[UPDATED_AT] = canon_datetime(df[upd]) if upd and n else _nulls(n, idx)
    v[REFERENCE] = source.reference
    return newest_per_source(spec, v[v[list(spec.key)].notna().all(axis=1) & valid_keys(spec, v)])


def valid_keys(spec: TableSpec, rows: pd.DataFrame) -> pd.Series:
    """Whether each row's key meets the table's ``key_standard`` (GB 11643 resident IDs, GB 32100 USCCs, plate
    patterns): a golden record is never keyed by an invalid identifier, whichever dataset names it. The scenario
    input that carries one still gets its answer from its own row."""
    if spec.key_standard is None or rows.empty:
        return pd.Series(True, index=rows.index)
    if spec.key_standard == "resident_id":
        result = validate_resident_id(rows[spec.key[0]])
    elif spec.key_standard == "uscc":
        result = validate_uscc(rows[spec.key[0]])
    else:
        result = validate_plate(rows["plate_no"], rows["plate_type"])
    return result.valid.set_axis(rows.index).fillna(False).astype(bool)


def newest_per_source(spec: TableSpec, versions: pd.DataFrame) -> pd.DataFrame:
    """One version per key and source (dataset and role): the newest by the survivorship rule's recency (update
    time, none oldest; then partition; then source row) — within one day's partitions the newest row of the
    delivery, over every partition the rows of ``<table>_newest``. Taking it again over the survivors of parts
    gives what it gives over the whole."""
    v = versions.sort_values([UPDATED_AT, PARTITION, SOURCE_ROW], na_position="first", kind="stable")
    return v.drop_duplicates([*spec.key, DATASET, ROLE], keep="last")


def fields_read(spec: TableSpec, dataset_id: str, dataset: Dataset) -> list[str]:
    """The standardised fields :func:`delivered_versions` reads of a partition of ``dataset_id`` (bookkeeping
    included): a partition's file need not be read whole for a table."""
    used = {layout.SOURCE_ROW, layout.SOURCE_SHA256, layout.PARTITION, layout.PROVIDER}
    for source in spec.sources:
        if source.dataset == dataset_id:
            used |= source.fields_used()
    if dataset.updated_field:
        used.add(dataset.updated_field)
    return sorted(used)


def delivered_versions(
    spec: TableSpec, dataset_id: str, dataset: Dataset, partition: date, frame: pd.DataFrame
) -> pd.DataFrame:
    """The versions of ``spec``'s table that one standardised partition of ``dataset_id`` delivers."""
    parts = [
        _source_versions(spec, s, dataset, partition, frame) for s in spec.sources if s.dataset == dataset_id
    ]
    cols = version_columns(spec)
    if not parts:
        return pd.DataFrame(columns=cols)
    v = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return v[cols].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- versions -> golden


def _source_json(v: pd.DataFrame) -> pd.Series:
    """The provenance reference of each version row: ``{"delivery", "role", "source_row"}``."""
    return '{"delivery":' + v[DELIVERY].astype(str) + ',"role":"' + v[ROLE] + '","source_row":' + \
        v[SOURCE_ROW].astype(str) + "}"


def provenance_json(attrs: list[str], winner: np.ndarray, src: np.ndarray) -> np.ndarray:
    """The ``provenance`` text of each golden version: its distinct sources, each once, and per attribute the
    index of the source its value came from (null: no source has a value)::

        {"sources":[{"delivery":<id>,"role":...,"source_row":...}, ...],
         "attributes":{"name":0,"sex":null,...}}

    ``winner[i, j]``: the row (of ``src``, the rows' source objects as JSON) that gave version ``i`` its value of
    ``attrs[j]``, or -1. Sources are listed in the order of the attributes that first name them."""
    n, width = winner.shape
    # slot[i, j]: the index of attrs[j]'s source in version i's list (-1: none), given to a source where an
    # attribute first names it; first[i, j]: attrs[j] is that attribute
    slot = np.full((n, width), -1, dtype=np.int64)
    first = np.zeros((n, width), dtype=bool)
    listed_count = np.zeros(n, dtype=np.int64)
    for j in range(width):
        named = winner[:, j] >= 0
        for i in range(j):
            same = named & (slot[:, j] < 0) & (winner[:, i] == winner[:, j])
            slot[same, j] = slot[same, i]
        new = named & (slot[:, j] < 0)
        slot[new, j] = listed_count[new]
        first[new, j] = True
        listed_count[new] += 1
    # the sources' texts, slot by slot
    listed = np.full(n, "", dtype=object)
    for k in range(int(listed_count.max(initial=0))):
        row = np.where(first & (slot == k), winner, -1).max(axis=1, initial=-1)
        has = row >= 0
        listed[has] = listed[has] + ("," if k else "") + src[row[has]]
    # the attribute maps: few distinct slot patterns, each written once
    if n and width:
        patterns, inverse = np.unique(slot, axis=0, return_inverse=True)
        texts = np.array([json.dumps({a: None if k < 0 else int(k) for a, k in zip(attrs, p, strict=True)},
                                     separators=(",", ":")) for p in patterns], dtype=object)
        maps = texts[np.asarray(inverse, dtype=np.int64).reshape(-1)]
    else:
        maps = np.full(n, "{}", dtype=object)
    return '{"sources":[' + listed + '],"attributes":' + maps + "}"


Deliveries = Mapping[int, Mapping[str, object]]
"""Delivery id -> its row of the ``delivery`` table (``dataset``, ``partition`` as ISO text, ``sha256``):
``base.query.deliveries`` reads them."""


def provenance_deliveries(texts: object) -> set[int]:
    """The delivery ids that golden versions' ``provenance`` texts name."""
    return {int(src["delivery"]) for text in texts for src in json.loads(text)["sources"]}


def _resolved(src: Mapping, deliveries: Deliveries) -> dict:
    try:
        d = deliveries[int(src["delivery"])]
    except KeyError:
        raise LookupError(f"provenance names delivery {src['delivery']}, which the delivery table lacks") from None
    out = {"dataset": d["dataset"], "role": src["role"], "partition": d["partition"],
           "source_row": src["source_row"], "sha256": d["sha256"]}
    if d.get("provider"):  # one of many providers: whose delivery
        out["provider"] = d["provider"]
    return out


def provenance_sources(text: str, deliveries: Deliveries) -> dict[str, dict | None]:
    """A golden version's ``provenance`` as attribute -> its source (``dataset``, ``role``, ``partition``,
    ``source_row``, ``sha256``; ``provider`` for one of many), or None where no source has a value; ``deliveries``
    resolves the references."""
    p = json.loads(text)
    sources = [_resolved(src, deliveries) for src in p["sources"]]
    return {a: None if k is None else sources[k] for a, k in p["attributes"].items()}


def delivery_sources(text: str, deliveries: Deliveries) -> list[dict]:
    """The distinct sources (delivery rows) a golden version's ``provenance`` names, resolved as in
    :func:`provenance_sources`."""
    return [_resolved(src, deliveries) for src in json.loads(text)["sources"]]


def row_hash(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit fingerprint per row (deterministic across processes), as int64."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().view("int64")


def record_hash(spec: TableSpec, golden: pd.DataFrame) -> np.ndarray:
    """The record hash of golden versions: key, start, values, placeholder flag and provenance (which names the
    sources the values won from, and a re-merge may re-name one). Not the end of validity: that is the next
    version's start, so a history whose versions' hashes are unchanged is unchanged, and closing a version (the
    daily merge) leaves its hash as it is."""
    g = golden.reset_index(drop=True)
    return row_hash(g[[*spec.key, VALID_FROM, *spec.attributes, PLACEHOLDER, PROVENANCE]])


def compute_golden(spec: TableSpec, versions: pd.DataFrame, engine: Engine | None = None) -> pd.DataFrame:
    """Every golden SCD2 version of every key present in ``versions`` (canonical form, all versions of each key):
    the survivorship query (``survivorship.golden_sql``, run by ``engine``: the embedded one by default), its
    winners' references formatted as the provenance text and the record hash added."""
    cols = golden_columns(spec)
    if versions.empty:
        return pd.DataFrame(columns=cols)
    attrs = list(spec.attributes)
    out = survivorship.run_golden(spec, versions, engine)
    for c in spec.columns:
        out[c] = CANON[spec.columns[c]](out[c])
    for c in (VALID_FROM, VALID_TO):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    out[PLACEHOLDER] = out[PLACEHOLDER].to_numpy(dtype=bool)
    refs = out[[survivorship.src_column(a) for a in attrs]].to_numpy(dtype=object)
    codes, sources = pd.factorize(refs.ravel(), use_na_sentinel=True)
    out[PROVENANCE] = provenance_json(attrs, codes.reshape(refs.shape).astype(np.int64),
                                      np.asarray(sources, dtype=object))
    out[RECORD_HASH] = record_hash(spec, out)
    return out[cols]
