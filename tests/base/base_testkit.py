"""Standardised frames for the base tests, built without the quality layer.

From the sample generator's clean truth (``_ground_truth/clean/<dataset>.parquet``: the truthful values of every
delivered row, source column names, ``day`` and ``source_row``): rename source -> standard names with the
catalogue, cast to the standardised schema (``quality/layout.py``), add ``f_type`` for party IDs, de-duplicate
within a delivery (newest update time wins, as the standardised layer does) and set the bookkeeping columns.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.quality import layout
from jilin_pipelines.settings import CHECKOUT

SAMPLE_CLEAN = CHECKOUT / "sample_sources" / "_ground_truth" / "clean"
RESIDENT_ID = r"^[1-8]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]$"


def fake_sha(dataset_id: str, day: date) -> str:
    return hashlib.sha256(f"{dataset_id}|{day.isoformat()}".encode()).hexdigest()


def clean_truth(dataset_id: str, clean_dir: Path = SAMPLE_CLEAN) -> pd.DataFrame:
    return pd.read_parquet(clean_dir / f"{dataset_id}.parquet")


def standardise(dataset_id: str, raw: pd.DataFrame, day: date, dedupe: bool = True) -> pd.DataFrame:
    """One delivery (rows of ``raw`` in source column names, with ``source_row``) as a standardised partition."""
    entry = catalogue().entry(dataset_id)
    ds = entry.dataset
    schema = layout.standard_schema(ds)
    out = pd.DataFrame(index=raw.index)
    for f in ds.fields:
        s = raw[f.source] if f.source in raw.columns else pd.Series([None] * len(raw), index=raw.index, dtype=object)
        s = s.where(s.notna() & (s.astype(str) != ""), None)
        t = schema.field(f.name).type
        if pa.types.is_date32(t):
            s = pd.to_datetime(s).dt.date.astype(object).where(s.notna(), None)
        elif pa.types.is_timestamp(t):
            s = pd.to_datetime(s).dt.tz_localize(layout.TIMEZONE)
        elif pa.types.is_int64(t):
            s = pd.to_numeric(s).astype("Int64")
        elif pa.types.is_float64(t):
            s = pd.to_numeric(s).astype("float64")
        out[f.name] = s
        if f.name + layout.PARTY_TYPE_SUFFIX in schema.names:
            is_id = s.fillna("").astype(str).str.match(RESIDENT_ID)
            out[f.name + layout.PARTY_TYPE_SUFFIX] = is_id.map({True: "A", False: "B"}).where(s.notna(), None)
    out[layout.WARNINGS] = "[]"
    out[layout.PARTITION] = day
    out[layout.SOURCE_ROW] = raw["source_row"].astype("int64")
    out[layout.SOURCE_SHA256] = fake_sha(dataset_id, day)
    out[layout.PROVIDER] = raw["provider"] if "provider" in raw.columns else None
    if dedupe and len(out):
        order = [ds.updated_field] if ds.updated_field else []
        out = out.sort_values([*order, layout.SOURCE_ROW], kind="stable").drop_duplicates(list(ds.key), keep="last")
        out = out.sort_values(layout.SOURCE_ROW).reset_index(drop=True)
    return out[schema.names]


def sample_partitions(clean_dir: Path = SAMPLE_CLEAN) -> dict[str, dict[date, pd.DataFrame]]:
    """Every dataset of the clean truth: ``{dataset_id: {day: standardised frame}}``."""
    out: dict[str, dict[date, pd.DataFrame]] = {}
    for entry in catalogue().entries:
        raw = clean_truth(entry.id, clean_dir)
        days = sorted(raw["day"].unique())
        out[entry.id] = {
            date.fromisoformat(d): standardise(entry.id, raw[raw["day"] == d], date.fromisoformat(d)) for d in days
        }
    return out


def hand_frame(dataset_id: str, day: date, rows: list[dict]) -> pd.DataFrame:
    """A standardised partition from hand-written rows in *standard* names (missing fields are null)."""
    entry = catalogue().entry(dataset_id)
    src = {f.name: f.source for f in entry.dataset.fields}
    raw = pd.DataFrame([{src.get(k, k): v for k, v in r.items()} for r in rows])
    raw["source_row"] = range(1, len(raw) + 1)
    if "_source_row" in raw.columns:
        raw["source_row"] = raw.pop("_source_row")
    return standardise(dataset_id, raw, day, dedupe=False)


def dump(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table of the base database, sorted: to compare two databases exactly."""
    out = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').fetchall()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def wipe(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for name in sa.inspect(conn).get_table_names():
            if name != "base_alembic_version":
                conn.exec_driver_sql(f'DELETE FROM "{name}"')
