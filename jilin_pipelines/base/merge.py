"""Merge one standardised (dataset, partition) into the base databases: one transaction, idempotent, bulk.

For every base table the dataset feeds (in sorted order):

1. the partition's previous versions of that table are deleted and the new ones staged and inserted
   (``<t>_source_version``, keyed by (key, dataset, role, partition)): re-merging replaces exactly them;
2. the touched keys (keys of the old and the new versions) are staged; on PostgreSQL a per-table advisory lock is
   taken here, so concurrent merges serialise only the golden recomputation and see each other's committed versions;
3. every delivered version of the touched keys is read back, their golden SCD2 history recomputed in pandas
   (``golden.compute_golden``), compared with the stored history by fingerprint, and only the keys whose history
   changed are deleted and re-inserted (staging + set-based SQL).

SQLite: the whole merge runs under ``BEGIN IMMEDIATE`` (one writer at a time). PostgreSQL: READ COMMITTED with
advisory locks per (table, dataset, partition) and per table, always taken in table order. Either way a failure anywhere rolls everything back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from jilin_pipelines.base import bulk
from jilin_pipelines.base.config import BaseConfig, TableSpec, base_config
from jilin_pipelines.base.golden import (
    canonical,
    compute_golden,
    delivered_versions,
    golden_columns,
    row_hash,
    version_columns,
    version_types,
)
from jilin_pipelines.base.schema import DATASET, PARTITION, RECORD_HASH, VALID_FROM, version_table_name
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.quality import layout

CHUNK_KEYS = 25_000
"""The merge's chunk budget: the golden histories of at most about this many touched keys are recomputed at once."""

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
    dataset: str
    partition: date
    tables: dict[str, TableStats] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-safe: ``{"dataset", "partition", "tables": {table: {versions, inserted, updated, unchanged, deleted}}}``."""
        return {
            "dataset": self.dataset,
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


def merge_partition(
    engine: sa.Engine,
    dataset_id: str,
    partition: date | str,
    frame: pd.DataFrame,
    *,
    tables: Iterable[str] | None = None,
    on_step: StepHook | None = None,
    config: BaseConfig | None = None,
    chunk_keys: int | None = None,
) -> MergeStats:
    """Merge one standardised partition (``quality/layout.py`` contract) into every base table it feeds, or only
    into ``tables`` (so that a per-table asset ``base/<table>`` can merge just its own table).

    Idempotent (merging the same frame again changes nothing), order-independent (the result depends only on the
    set of partitions merged), atomic (one transaction). Returns per-table counts.

    The golden histories are recomputed in chunks of about ``chunk_keys`` touched keys (default
    :data:`CHUNK_KEYS`), split by a fingerprint of the key: every step is key-local, so the result is the same
    for any chunking, and the memory the recomputation needs (the keys' other versions read back, their
    histories and provenance) stays within the chunk budget however large the partition.
    """
    config = config or base_config()
    partition = _as_date(partition)
    entry = catalogue().entry(dataset_id)
    _check_frame(dataset_id, partition, frame)
    fed = config.tables_fed_by(dataset_id)
    if tables is not None:
        wanted = set(tables)
        unknown = sorted(wanted - set(fed))
        if unknown:
            raise ValueError(f"{dataset_id} does not feed {unknown} (it feeds {list(fed)})")
        fed = tuple(t for t in fed if t in wanted)
    stats = MergeStats(dataset_id, partition)
    with write_transaction(engine) as conn:
        for t in fed:  # sorted: locks are always taken in one order, so concurrent merges cannot deadlock
            advisory_lock(conn, f"{t}|{dataset_id}|{partition.isoformat()}")
            new = delivered_versions(config.table(t), dataset_id, entry.dataset, partition, frame)  # one table's
            stats.tables[t] = _merge_table(conn, config.table(t), dataset_id, partition, new, on_step,
                                           chunk_keys or CHUNK_KEYS)
            del new
    return stats


def _merge_table(
    conn: sa.Connection,
    spec: TableSpec,
    dataset_id: str,
    partition: date,
    new: pd.DataFrame,
    on_step: StepHook | None,
    chunk_keys: int = 0,
) -> TableStats:
    def step(name: str) -> None:
        if on_step is not None:
            on_step(spec.name, name)

    q = lambda c: bulk.q(conn, c)  # noqa: E731
    key = list(spec.key)
    vt = version_table_name(spec.name)
    where_partition = f"{q(DATASET)} = :ds AND {q(PARTITION)} = :p"
    params = {"ds": dataset_id, "p": partition.isoformat()}
    if conn.dialect.name == "postgresql":
        where_partition = f"{q(DATASET)} = :ds AND {q(PARTITION)} = CAST(:p AS DATE)"

    # 1. replace this partition's delivered versions
    old_keys = bulk.read_frame(
        conn, f"SELECT DISTINCT {bulk.cols_sql(conn, key)} FROM {q(vt)} WHERE {where_partition}", key, params
    )
    conn.execute(sa.text(f"DELETE FROM {q(vt)} WHERE {where_partition}"), params)
    step("versions_deleted")
    stats = TableStats(versions=bulk.bulk_insert(conn, vt, new[version_columns(spec)]))
    step("versions_written")

    # 2. the touched keys
    touched = pd.concat([canonical(old_keys, spec.columns), new[key]], ignore_index=True).drop_duplicates()
    if touched.empty:
        return stats
    del old_keys
    advisory_lock(conn, "table:" + spec.name)

    # 3. chunks of touched keys, by key fingerprint: each key's history is recomputed within one chunk
    chunks = max(1, -(-len(touched) // chunk_keys)) if chunk_keys else 1
    if chunks == 1:
        _merge_keys(conn, spec, touched, new, where_partition, params, stats, step)
        return stats
    touched_chunk = _chunk_of(touched[key], chunks)
    new_chunk = _chunk_of(new[key].astype(touched[key].dtypes.to_dict()), chunks)  # the same dtypes, the same hashes
    for c in range(chunks):
        keys = touched[touched_chunk == c]
        if len(keys):
            _merge_keys(conn, spec, keys, new[new_chunk == c], where_partition, params, stats, step)
    return stats


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
    golden = compute_golden(spec, versions)
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
    changed = pd.concat(
        [old.loc[np.isin(old_key, changed_keys), key], golden.loc[np.isin(new_key, changed_keys), key]],
        ignore_index=True,
    ).drop_duplicates()
    rows = golden[np.isin(new_key, changed_keys)][golden_columns(spec)]
    del golden

    # replace the changed keys' golden versions
    changed_tmp = bulk.stage_frame(conn, "jlbase_changed", spec.name, changed)
    conn.exec_driver_sql(f"DELETE FROM {q(spec.name)} WHERE {bulk.key_match(conn, key, changed_tmp)}")
    step("golden_deleted")
    bulk.bulk_insert(conn, spec.name, rows)
    bulk.drop_stage(conn, changed_tmp)
    step("golden_written")


def rebuild_golden(conn: sa.Connection, *, tables: Iterable[str] | None = None, config: BaseConfig | None = None,
                   chunk_keys: int | None = None, only_if: str | None = None) -> dict[str, TableStats]:
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
            _merge_keys(conn, spec, keys[chunk == c], none, "1 = 0", {}, table_stats, lambda _step: None)
    return stats
