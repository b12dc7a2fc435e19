"""Merge standardised partitions of one day — of one dataset, or of several at once — into the base databases:
one transaction, idempotent, bulk.

For every base table the datasets feed (in sorted order):

1. the partitions' previous versions of that table (``<t>_source_version``, keyed by (key, dataset, role,
   partition); none the first time) are read: a re-merge replaces only the versions that differ, and only the keys
   whose versions changed are touched (one provider's re-delivery of a dataset delivered by many touches its keys);
2. the partitions are read (a file ``CHUNK_KEYS`` rows at a time) and their versions of the table split into buckets
   of about ``CHUNK_KEYS`` keys by key fingerprint (spilled to a temporary directory when there is more than one);
3. bucket by bucket: the versions that differ are deleted and inserted (their bulk path); on PostgreSQL a per-table advisory lock is taken at
   the first, so concurrent merges serialise only the golden recomputation and see each other's committed versions;
   the touched keys that the day extends in day order (no version in a later partition or in another dataset's
   partition of the day, not a re-merge: the daily case) are merged incrementally (``_merge_onward``: each source's
   newest version so far, kept in ``<table>_newest``, and the day's versions give the state as of the day; where it
   means a change the key's open version is closed and the new one inserted); for the others, every delivered
   version is read back, their golden SCD2 history recomputed by the survivorship query
   (``golden.compute_golden``), compared with the stored history by fingerprint, and only the keys whose history changed are deleted (their keys staged,
   set-based SQL) and re-inserted; either way the keys' rows of ``<table>_newest`` are replaced.

Merging a day's partitions of several datasets together (:func:`merge_partitions`, what the base asset does) gives
the database that merging them one by one gives, but recomputes each touched key's golden history once instead of
once per dataset (a person named by nine departments' deliveries: once, not nine times).

SQLite: the whole merge runs under ``BEGIN IMMEDIATE`` (one writer at a time). PostgreSQL: READ COMMITTED with
advisory locks per (table, dataset, partition) and per table, always taken in table order. Either way a failure anywhere rolls everything back.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.base import bulk
from jilin_pipelines.base.config import BaseConfig, TableSpec, base_config
from jilin_pipelines.base.golden import (
    canonical,
    compute_golden,
    delivered_versions,
    delivery_id,
    fields_read,
    golden_columns,
    newest_per_source,
    row_hash,
    version_columns,
    version_types,
)
from jilin_pipelines.base.schema import (
    DATASET,
    DELIVERY,
    DELIVERY_TABLE,
    PARTITION,
    RECORD_HASH,
    ROLE,
    VALID_FROM,
    VALID_TO,
    newest_table_name,
    version_table_name,
)
from jilin_pipelines.lake import json_metadata, scratch_dir
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.engines import Engine
from jilin_pipelines.quality import layout

CHUNK_KEYS = 25_000
"""The merge's chunk budget: a partition's file is read this many rows at a time, and the golden histories of at
most about this many touched keys are recomputed at once."""

Partition = pd.DataFrame | str | Path
"""A standardised partition (``quality/layout.py`` contract): the frame, or its Parquet file, read a batch at a time."""

StepHook = Callable[[str, str], None]
"""Called as ``hook(table, step)`` after each step of a merge (``versions_deleted``, ``versions_written``,
``golden_deleted``, ``golden_written``); an exception it raises aborts and rolls back the merge."""


@dataclass
class TableStats:
    versions: int = 0  # delivered versions written for this partition
    inserted: int = 0  # keys that had no golden record before
    updated: int = 0  # keys whose golden history changed
    unchanged: int = 0  # touched keys whose golden history is identical
    deleted: int = 0  # keys left with no delivered version at all (a partition re-delivered without them)

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.__dict__.items()}


@dataclass
class MergeStats:
    datasets: tuple[str, ...]
    partition: date
    tables: dict[str, TableStats] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-safe: ``{"datasets", "partition", "tables": {table: {versions, inserted, updated, unchanged,
        deleted}}}``."""
        return {
            "datasets": list(self.datasets),
            "partition": self.partition.isoformat(),
            "tables": {t: s.as_dict() for t, s in sorted(self.tables.items())},
        }


def _lock_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def advisory_lock(conn: sa.Connection, name: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("jilin_base:" + name)})


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction; on SQLite taken with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA busy_timeout = 120000")
            conn.exec_driver_sql("PRAGMA temp_store = MEMORY")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _as_date(partition: date | str) -> date:
    if isinstance(partition, str):
        return date.fromisoformat(partition)
    if hasattr(partition, "date") and callable(partition.date):  # datetime / Timestamp
        return partition.date()
    return partition


def _check_frame(dataset_id: str, partition: date, frame: pd.DataFrame) -> None:
    missing = [c for c in (layout.SOURCE_ROW, layout.SOURCE_SHA256) if c not in frame.columns]
    if missing:
        raise ValueError(f"{dataset_id} {partition}: the frame lacks the bookkeeping columns {missing}")
    if layout.PARTITION in frame.columns and len(frame):
        days = set(pd.to_datetime(frame[layout.PARTITION]).dt.date.unique())
        if days != {partition}:
            raise ValueError(f"{dataset_id}: the frame's {layout.PARTITION} is {sorted(days)}, not {partition}")


def merge_partition(engine: sa.Engine, dataset_id: str, partition: date | str, rows: Partition,
                    **options) -> MergeStats:
    """Merge one standardised partition (``quality/layout.py`` contract: a frame, or the Parquet file) into every
    base table it feeds: :func:`merge_partitions` of that one dataset, with the same keyword options (``tables``,
    so that a per-table asset ``base/<table>`` can merge just its own table, ``on_step``, ``config``, ``chunk_keys``,
    ``incremental``, ``compute``)."""
    return merge_partitions(engine, partition, {dataset_id: rows}, **options)


def merge_partitions(
    engine: sa.Engine,
    partition: date | str,
    rows: Mapping[str, Partition],
    *,
    tables: Iterable[str] | None = None,
    on_step: StepHook | None = None,
    config: BaseConfig | None = None,
    chunk_keys: int | None = None,
    incremental: bool = True,
    compute: Engine | None = None,
) -> MergeStats:
    """Merge the standardised partitions of one day of several datasets (``rows``: dataset id -> the frame or the
    Parquet file) into every base table they feed, or only into ``tables``, in one transaction. Returns per-table
    counts, each touched key counted once.

    Idempotent (merging the same rows again changes nothing), order-independent (the result depends only on the
    set of partitions merged, however they are grouped into calls), atomic (one transaction).

    Memory stays within the chunk budget ``chunk_keys`` (default :data:`CHUNK_KEYS`) however large the partitions:
    a file is read that many rows at a time; each table's delivered versions are split by a fingerprint of their
    key into buckets of about that many keys (spilled to a temporary directory when there is more than one), and
    each bucket's versions are written and its keys' golden histories recomputed before the next is read. Every
    step is key-local, so the result is the same for any chunking.

    ``incremental=False`` recomputes every touched key's history from all its delivered versions, the daily case
    too: the same database (the reference the incremental path is tested and benchmarked against). ``compute``: the
    engine the survivorship query runs on (``engines.py``; default: the embedded one).
    """
    config = config or base_config()
    partition = _as_date(partition)
    chunk_keys = chunk_keys or CHUNK_KEYS
    datasets = sorted(rows)
    if not datasets:
        raise ValueError(f"{partition}: no partition to merge")
    entries = {ds: catalogue().entry(ds) for ds in datasets}
    fed = {t: [ds for ds in datasets if t in config.tables_fed_by(ds)]
           for t in sorted({t for ds in datasets for t in config.tables_fed_by(ds)})}
    if tables is not None:
        wanted = set(tables)
        unknown = sorted(wanted - set(fed))
        if unknown:
            raise ValueError(f"{' and '.join(datasets)} {'does' if len(datasets) == 1 else 'do'} not feed {unknown} "
                             f"(only {list(fed)})")
        fed = {t: sources for t, sources in fed.items() if t in wanted}

    def batches(ds: str, spec: TableSpec) -> Iterator[pd.DataFrame]:
        for frame in _batches(rows[ds], chunk_keys, fields_read(spec, ds, entries[ds].dataset)):
            _check_frame(ds, partition, frame)
            yield frame

    for ds in datasets:
        if isinstance(rows[ds], pd.DataFrame):
            _check_frame(ds, partition, rows[ds])  # before anything is written
    stats = MergeStats(tuple(datasets), partition)
    with write_transaction(engine) as conn, scratch_dir("merge") as spill:
        for ds in datasets:
            advisory_lock(conn, f"delivery|{ds}|{partition.isoformat()}")
            _record_deliveries(conn, ds, partition, rows[ds])
        for t, sources in fed.items():  # sorted: locks are always taken in one order, so concurrent merges cannot deadlock
            for ds in sources:
                advisory_lock(conn, f"{t}|{ds}|{partition.isoformat()}")
            spec = config.table(t)
            versions = (delivered_versions(spec, ds, entries[ds].dataset, partition, b)
                        for ds in sources for b in batches(ds, spec))
            n_rows = sum(_row_count(rows[ds]) for ds in sources)
            stats.tables[t] = _merge_table(conn, spec, sources, partition, versions, n_rows, on_step, chunk_keys,
                                           Path(spill) / t, incremental, compute)
        for ds in datasets:
            _forget_deliveries(conn, ds, partition, config.tables_fed_by(ds))
    return stats


def _deliveries_of(dataset_id: str, partition: date, rows: Partition) -> pd.DataFrame:
    """The ``delivery`` rows of a partition: one per SHA-256 (and provider, of a dataset of many) among its rows —
    one for a landed delivery, one per provider —, with the landing's size and row count where the partition's
    file carries them (``layout.DELIVERY_META``)."""
    if isinstance(rows, pd.DataFrame):
        facts, found = {}, rows.reindex(columns=[layout.SOURCE_SHA256, layout.PROVIDER])
    else:
        facts = json_metadata(rows, layout.DELIVERY_META) or {}
        parquet = pq.ParquetFile(rows)
        names = [c for c in (layout.SOURCE_SHA256, layout.PROVIDER) if c in parquet.schema_arrow.names]
        found = parquet.read(columns=names).to_pandas().reindex(columns=[layout.SOURCE_SHA256, layout.PROVIDER])
    found = found.astype(object).where(found.notna(), None)
    found[layout.SOURCE_SHA256] = found[layout.SOURCE_SHA256].map(lambda h: h or "")
    counts = found.groupby([layout.SOURCE_SHA256, layout.PROVIDER], dropna=False, sort=False).size()
    per_provider = facts.get("providers") or {}
    one = len(counts) == 1 and not per_provider

    def fact(provider: object, key: str) -> object:
        if one:
            return facts.get(key)
        return (per_provider.get(provider) or {}).get(key) if isinstance(provider, str) else None

    shas, providers = counts.index.get_level_values(0), counts.index.get_level_values(1)
    return pd.DataFrame({
        "id": [delivery_id(dataset_id, partition, str(h), p if isinstance(p, str) else None)
               for h, p in zip(shas, providers, strict=True)],
        "dataset": dataset_id,
        "partition": partition,
        "sha256": [str(h) or None for h in shas],
        "provider": [p if isinstance(p, str) else None for p in providers],
        "size_bytes": [fact(p, "source_size_bytes") for p in providers],
        "delivered_rows": [fact(p, "delivered_rows") for p in providers],
        "standardised_rows": counts.to_numpy(dtype="int64"),
    })


def _record_deliveries(conn: sa.Connection, dataset_id: str, partition: date, rows: Partition) -> None:
    """Insert the partition's deliveries the ``delivery`` table lacks (an id is its content: a row already there is
    this very delivery)."""
    new = _deliveries_of(dataset_id, partition, rows)
    if new.empty:
        return
    have = {r[0] for r in conn.execute(
        sa.text(f"SELECT id FROM {DELIVERY_TABLE} WHERE dataset = :ds AND partition = {_day_param(conn)}"),
        {"ds": dataset_id, "p": partition.isoformat()})}
    new = new[~new["id"].isin(have)]
    if len(new):
        new = new.astype({"size_bytes": "Int64", "delivered_rows": "Int64"})
        new["partition"] = partition.isoformat() if conn.dialect.name == "sqlite" else partition
        bulk.bulk_insert(conn, DELIVERY_TABLE, new)


def _forget_deliveries(conn: sa.Connection, dataset_id: str, partition: date, tables: Iterable[str]) -> None:
    """The partition's deliveries that no delivered version names any more (one re-delivered, a delivery whose rows
    fed no table) go."""
    named = " UNION ".join(
        f"SELECT {bulk.q(conn, DELIVERY)} FROM {bulk.q(conn, version_table_name(t))} "
        f"WHERE {bulk.q(conn, DATASET)} = :ds AND {bulk.q(conn, PARTITION)} = {_day_param(conn)}" for t in tables)
    conn.execute(sa.text(
        f"DELETE FROM {DELIVERY_TABLE} WHERE dataset = :ds AND partition = {_day_param(conn)}"
        + (f" AND id NOT IN ({named})" if named else "")), {"ds": dataset_id, "p": partition.isoformat()})


def _day_param(conn: sa.Connection) -> str:
    return "CAST(:p AS DATE)" if conn.dialect.name == "postgresql" else ":p"


def _batches(rows: Partition, batch_rows: int, columns: list[str]) -> Iterator[pd.DataFrame]:
    """The partition's rows, a frame as it is or ``columns`` of a file ``batch_rows`` rows at a time."""
    if isinstance(rows, pd.DataFrame):
        yield rows
        return
    parquet = pq.ParquetFile(rows)
    columns = [c for c in columns if c in parquet.schema_arrow.names]  # a missing one is named by _check_frame
    if parquet.metadata.num_rows == 0:
        yield parquet.schema_arrow.empty_table().select(columns).to_pandas()
        return
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        yield batch.to_pandas()


def _row_count(rows: Partition) -> int:
    return len(rows) if isinstance(rows, pd.DataFrame) else pq.ParquetFile(rows).metadata.num_rows


def _merge_table(
    conn: sa.Connection,
    spec: TableSpec,
    datasets: list[str],
    partition: date,
    versions: Iterator[pd.DataFrame],
    n_rows: int,
    on_step: StepHook | None,
    chunk_keys: int,
    spill: Path,
    incremental: bool = True,
    compute: Engine | None = None,
) -> TableStats:
    """``versions``: the ``datasets``' partitions' delivered versions of the table, batch by batch (read only after
    the partitions' old versions are deleted); ``n_rows``: how many rows the partitions have (to size the
    buckets)."""
    def step(name: str) -> None:
        if on_step is not None:
            on_step(spec.name, name)

    q = lambda c: bulk.q(conn, c)  # noqa: E731
    key = list(spec.key)
    vt = version_table_name(spec.name)
    params = {f"ds{i}": ds for i, ds in enumerate(datasets)} | {"p": partition.isoformat()}
    day = _day_param(conn)
    where_partition = f"{q(DATASET)} IN ({', '.join(f':ds{i}' for i in range(len(datasets)))}) AND {q(PARTITION)} = {day}"

    # 1. these partitions' versions as merged before (none, the first time): a re-merge replaces only those that
    # differ — a re-delivery by one provider of many, or a partition re-run unchanged, touches only what changed
    vcols = version_columns(spec)
    old = canonical(bulk.read_frame(
        conn, f"SELECT {bulk.cols_sql(conn, vcols)} FROM {q(vt)} WHERE {where_partition}", vcols, params
    ), version_types(spec))

    # 2. bucket by bucket of keys (by key fingerprint): the versions that differ replaced, then the golden history
    # of every touched key (whose versions changed) brought up to date
    buckets = max(1, -(-max(n_rows, len(old)) // chunk_keys))
    old_by_bucket = dict(_split(old, _chunk_of(old[key], buckets)))
    stats = TableStats()
    locked = False
    for c, new in enumerate(_bucketed(spec, versions, buckets, spill)):
        old_here = old_by_bucket.pop(c, old.iloc[:0])
        stats.versions += len(new)
        gone, fresh = _differing(conn, spec, vt, old_here, new, where_partition, params)
        step("versions_deleted")
        bulk.bulk_insert(conn, vt, fresh.sort_values([*key, DATASET, ROLE], kind="stable"))
        step("versions_written")
        touched = pd.concat([gone[key], fresh[key]], ignore_index=True).drop_duplicates()
        seen = pd.concat([old_here[key], new[key]], ignore_index=True).drop_duplicates()
        stats.unchanged += len(seen) - len(touched)  # every version of theirs as before
        if touched.empty:
            continue
        if not locked:  # concurrent merges serialise only the golden recomputation
            advisory_lock(conn, "table:" + spec.name)
            locked = True
        onward = _in_day_order(conn, spec, touched, old_here[key], where_partition, params) if incremental else \
            np.zeros(len(touched), dtype=bool)
        new_keys = row_hash(new[key])  # the day's versions of the touched keys, by path (untouched ones: as merged)
        if (~onward).any():
            rest = np.isin(new_keys, row_hash(touched[key][~onward]))
            _merge_keys(conn, spec, touched[~onward], new[rest], where_partition, params, stats, step, compute)
        if onward.any():
            _merge_onward(conn, spec, touched[onward], new[np.isin(new_keys, row_hash(touched[key][onward]))],
                          partition, stats, step, compute)
    return stats


def _differing(conn: sa.Connection, spec: TableSpec, vt: str, old: pd.DataFrame, new: pd.DataFrame,
               where_partition: str, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The partitions' versions that a re-merge changes: ``gone`` (merged before, not delivered so now: deleted here)
    and ``fresh`` (delivered now, not merged so before: to be inserted). Versions are compared whole (every column,
    canonical values: what is read back equals what is computed)."""
    if old.empty:
        return old, new
    vcols = version_columns(spec)
    old_hash, new_hash = row_hash(old[vcols]), row_hash(new[vcols])
    gone, fresh = old[~np.isin(old_hash, new_hash)], new[~np.isin(new_hash, old_hash)]
    if len(gone):
        ids = [*spec.key, DATASET, ROLE]
        gone_tmp = bulk.stage_frame(conn, "jlbase_gone", vt, gone[ids].drop_duplicates())
        conn.execute(sa.text(f"DELETE FROM {bulk.q(conn, vt)} WHERE {where_partition} AND "
                             f"{bulk.key_match(conn, ids, gone_tmp)}"), params)
        bulk.drop_stage(conn, gone_tmp)
    return gone, fresh


def _in_day_order(conn: sa.Connection, spec: TableSpec, touched: pd.DataFrame, old_here: pd.DataFrame,
                  where_partition: str, params: dict) -> np.ndarray:
    """Which ``touched`` keys this merge extends in day order: no version of theirs in a later partition (nor in
    another dataset's partition of the same day) and none of theirs in these partitions before (a re-merge). Their
    golden history only grows at its end; the others' is recomputed."""
    q = lambda c: bulk.q(conn, c)  # noqa: E731
    key = list(spec.key)
    keys_tmp = bulk.stage_frame(conn, "jlbase_keys", spec.name, touched)
    later = bulk.read_frame(
        conn,
        f"SELECT DISTINCT {bulk.cols_sql(conn, key)} FROM {q(version_table_name(spec.name))} "
        f"WHERE {bulk.key_match(conn, key, keys_tmp)} AND NOT ({where_partition}) AND {q(PARTITION)} >= "
        f"{'CAST(:p AS DATE)' if conn.dialect.name == 'postgresql' else ':p'}",
        key,
        params,
    )
    bulk.drop_stage(conn, keys_tmp)
    behind = pd.concat([canonical(later, spec.columns), old_here], ignore_index=True)
    return ~np.isin(row_hash(touched[key]), row_hash(behind[key])) if len(behind) else np.ones(len(touched), bool)


def _replace_newest(conn: sa.Connection, spec: TableSpec, keys_tmp: str, newest: pd.DataFrame,
                    known: bool = True) -> None:
    """``<table>_newest`` of the keys staged in ``keys_tmp`` becomes ``newest`` (their newest version per source);
    ``known=False``: none of these keys has a row there yet (nothing to delete)."""
    table = newest_table_name(spec.name)
    if known:
        conn.exec_driver_sql(f"DELETE FROM {bulk.q(conn, table)} WHERE {bulk.key_match(conn, list(spec.key), keys_tmp)}")
    bulk.bulk_insert(conn, table, newest.sort_values([*spec.key, DATASET, ROLE], kind="stable"))


def _merge_onward(conn: sa.Connection, spec: TableSpec, keys: pd.DataFrame, new: pd.DataFrame, partition: date,
                  stats: TableStats, step: Callable[[str], None], compute: Engine | None = None) -> None:
    """The daily case, incremental: for ``keys`` that this day's versions (``new``) extend in day order, the state
    as of the day is derived from each source's newest version before it and the day's versions (no history read
    back, no history recomputed); where it means a change, the key's open golden version is closed on the day and
    the new one starts. The result is the full recomputation's (``tests/base/test_incremental_merge.py``)."""
    q = lambda c: bulk.q(conn, c)  # noqa: E731
    key = list(spec.key)
    vcols, gcols = version_columns(spec), golden_columns(spec)
    keys_tmp = bulk.stage_frame(conn, "jlbase_keys", spec.name, keys)
    match = bulk.key_match(conn, key, keys_tmp)
    newest = canonical(bulk.read_frame(  # each source's newest version so far: all earlier than the day
        conn, f"SELECT {bulk.cols_sql(conn, vcols)} FROM {q(newest_table_name(spec.name))} WHERE {match}", vcols),
        version_types(spec))
    versions = new[vcols] if newest.empty else pd.concat([newest, new[vcols]], ignore_index=True)
    _replace_newest(conn, spec, keys_tmp, newest_per_source(spec, versions), known=not newest.empty)
    bulk.drop_stage(conn, keys_tmp)
    state = compute_golden(spec, versions, compute)
    day = partition.isoformat()
    started = state[state[VALID_FROM] == day].reset_index(drop=True)  # at most one per key: a change on the day
    # a key with a version before the day has a golden record, its open version the one the day may close
    had = np.isin(row_hash(keys[key]), row_hash(newest[key])) if len(newest) else np.zeros(len(keys), bool)
    changed = np.isin(row_hash(keys[key]), row_hash(started[key]))
    stats.inserted += int((changed & ~had).sum())
    stats.updated += int((changed & had).sum())
    stats.unchanged += int((~changed).sum())
    if started.empty:
        return
    closing = keys[changed & had]
    if len(closing):  # closed on the day: its end of validity set (its record hash does not cover it)
        closing_tmp = bulk.stage_frame(conn, "jlbase_changed", spec.name, closing)
        conn.execute(sa.text(f"UPDATE {q(spec.name)} SET {q(VALID_TO)} = {_day_param(conn)} "
                             f"WHERE {bulk.key_match(conn, key, closing_tmp)} AND {q(VALID_TO)} IS NULL"), {"p": day})
        bulk.drop_stage(conn, closing_tmp)
    step("golden_deleted")
    bulk.bulk_insert(conn, spec.name, started[gcols].sort_values(key, kind="stable"))
    step("golden_written")


def _bucketed(spec: TableSpec, versions: Iterator[pd.DataFrame], buckets: int, spill: Path) -> Iterator[pd.DataFrame]:
    """The delivered versions in ``buckets`` buckets by key fingerprint, each one version per key and source (the
    newest row of the delivery: ``golden.newest_per_source`` again over the batches' survivors) — one bucket in
    memory, or spilled batch by batch to ``spill`` (pickled: read back exactly as written) and read back one at a
    time."""
    def newest(parts: list[pd.DataFrame]) -> pd.DataFrame:
        cols = version_columns(spec)
        return newest_per_source(spec, pd.concat(parts, ignore_index=True))[cols] if parts else pd.DataFrame(columns=cols)

    if buckets == 1:
        yield newest([v for v in versions if len(v)])
        return
    spill.mkdir(parents=True)
    files = [open(spill / f"{c}.pickle", "wb") for c in range(buckets)]  # noqa: SIM115 - closed below
    try:
        for v in versions:
            if not len(v):
                continue
            for c, part in _split(v, _chunk_of(v[list(spec.key)], buckets)):
                pickle.dump(part, files[c], protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for fh in files:
            fh.close()
    for c in range(buckets):
        parts = []
        with open(spill / f"{c}.pickle", "rb") as fh:
            while True:
                try:
                    parts.append(pickle.load(fh))  # noqa: S301 - our own file, written just above
                except EOFError:
                    break
        (spill / f"{c}.pickle").unlink()
        yield newest(parts)


def _split(frame: pd.DataFrame, bucket: np.ndarray) -> Iterator[tuple[int, pd.DataFrame]]:
    """``frame``'s rows by bucket, in order within each: one stable sort, then slices (not a mask per bucket)."""
    if not len(frame):
        return
    order = np.argsort(bucket, kind="stable")
    ordered, sorted_buckets = frame.take(order), bucket[order]
    cuts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1], True])
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        yield int(sorted_buckets[lo]), ordered.iloc[lo:hi]


def _chunk_of(keys: pd.DataFrame, chunks: int) -> np.ndarray:
    """The chunk of each key: its 64-bit fingerprint modulo the number of chunks (canonical keys: a key read back
    from the database and the same key in a fresh frame land in the same chunk)."""
    return (row_hash(keys).view(np.uint64) % np.uint64(chunks)).astype(np.int64)


def _merge_keys(
    conn: sa.Connection,
    spec: TableSpec,
    touched: pd.DataFrame,
    new: pd.DataFrame,
    where_partition: str,
    params: dict,
    stats: TableStats,
    step: Callable[[str], None],
    compute: Engine | None = None,
) -> None:
    """Recompute the golden history of the ``touched`` keys (``new``: this partition's versions of them) and write
    the keys whose history changed; adds to ``stats``."""
    q = lambda c: bulk.q(conn, c)  # noqa: E731
    key = list(spec.key)
    keys_tmp = bulk.stage_frame(conn, "jlbase_keys", spec.name, touched)

    # recompute the golden history of the touched keys from all their delivered versions
    # (this partition's versions are in memory already: read only the others)
    vcols = version_columns(spec)
    others = bulk.read_frame(
        conn,
        f"SELECT {bulk.cols_sql(conn, vcols)} FROM {q(version_table_name(spec.name))} "
        f"WHERE {bulk.key_match(conn, key, keys_tmp)} AND NOT ({where_partition})",
        vcols,
        params,
    )
    versions = new[vcols] if others.empty else pd.concat([canonical(others, version_types(spec)), new[vcols]],
                                                         ignore_index=True)
    del others
    golden = compute_golden(spec, versions, compute)
    _replace_newest(conn, spec, keys_tmp, newest_per_source(spec, versions))
    del versions
    old_cols = [*key, VALID_FROM, RECORD_HASH]
    old = bulk.read_frame(
        conn,
        f"SELECT {bulk.cols_sql(conn, old_cols)} FROM {q(spec.name)} WHERE {bulk.key_match(conn, key, keys_tmp)}",
        old_cols,
    )
    old = canonical(old, {**spec.columns, VALID_FROM: "date"})
    bulk.drop_stage(conn, keys_tmp)

    # which keys' histories changed (the record hash covers key, validity and content); keys are compared by
    # their 64-bit fingerprints
    old_rec, new_rec = old[RECORD_HASH].to_numpy(), golden[RECORD_HASH].to_numpy()
    old_key, new_key = row_hash(old[key]), row_hash(golden[key])
    changed_keys = np.unique(np.concatenate([old_key[~np.isin(old_rec, new_rec)], new_key[~np.isin(new_rec, old_rec)]]))
    was, now = np.isin(changed_keys, old_key), np.isin(changed_keys, new_key)
    stats.inserted += int((~was & now).sum())
    stats.updated += int((was & now).sum())
    stats.deleted += int((was & ~now).sum())
    stats.unchanged += int(len(np.union1d(old_key, new_key)) - len(changed_keys))
    if not len(changed_keys):
        return
    stale = old.loc[np.isin(old_key, changed_keys), key].drop_duplicates()  # only keys with rows have rows to go
    rows = golden[np.isin(new_key, changed_keys)][golden_columns(spec)]
    del golden

    # replace the changed keys' golden versions
    if len(stale):
        stale_tmp = bulk.stage_frame(conn, "jlbase_changed", spec.name, stale)
        conn.exec_driver_sql(f"DELETE FROM {q(spec.name)} WHERE {bulk.key_match(conn, key, stale_tmp)}")
        bulk.drop_stage(conn, stale_tmp)
    step("golden_deleted")
    bulk.bulk_insert(conn, spec.name, rows.sort_values([*key, VALID_FROM], kind="stable"))
    step("golden_written")


def rebuild_golden(conn: sa.Connection, *, tables: Iterable[str] | None = None, config: BaseConfig | None = None,
                   chunk_keys: int | None = None, only_if: str | None = None,
                   compute: Engine | None = None) -> dict[str, TableStats]:
    """Recompute the golden histories of ``tables`` (default: all) from every delivered version and write the keys
    whose history changed, ``chunk_keys`` keys at a time — after a change of the survivorship rules or of the
    form golden rows take. ``only_if``: an SQL condition on the golden table; a table with no row meeting it is
    left alone. Runs in the caller's transaction."""
    config = config or base_config()
    stats: dict[str, TableStats] = {}
    q = lambda c: bulk.q(conn, c)  # noqa: E731
    for name in sorted(tables or config.tables):
        spec = config.table(name)
        if only_if is not None and conn.execute(
                sa.text(f"SELECT 1 FROM {q(spec.name)} WHERE {only_if} LIMIT 1")).first() is None:
            continue
        advisory_lock(conn, "table:" + spec.name)
        key = list(spec.key)
        keys = bulk.read_frame(
            conn,
            f"SELECT {bulk.cols_sql(conn, key)} FROM {q(version_table_name(spec.name))} "
            f"UNION SELECT {bulk.cols_sql(conn, key)} FROM {q(spec.name)}",
            key,
        )
        stats[name] = table_stats = TableStats()
        if keys.empty:
            continue
        keys = canonical(keys, spec.columns)
        none = pd.DataFrame({c: pd.Series(dtype=object) for c in version_columns(spec)})
        chunks = max(1, -(-len(keys) // (chunk_keys or CHUNK_KEYS)))
        chunk = _chunk_of(keys[key], chunks)
        for c in range(chunks):  # no partition in memory ("1 = 0"): every version is read back
            _merge_keys(conn, spec, keys[chunk == c], none, "1 = 0", {}, table_stats, lambda _step: None, compute)
    return stats
