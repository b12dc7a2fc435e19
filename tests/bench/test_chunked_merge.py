"""The merge's chunk budget changes how much is held at once, never the result: the committed sample merged with a
budget of a few dozen keys (many buckets per partition, spilled; its files read a few dozen rows at a time) gives
the same database, row for row, and the same counts as merged in one chunk."""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "base"))

from base_testkit import dump, sample_partitions  # noqa: E402

from jilin_pipelines.base import merge, upgrade  # noqa: E402
from jilin_pipelines.base.merge import merge_partition  # noqa: E402


def _merge_all(url: str, partitions, chunk_keys: int | None) -> tuple[dict, list]:
    upgrade(url)
    engine = sa.create_engine(url)
    stats = []
    try:
        for day in sorted({d for days in partitions.values() for d in days}):
            for dataset_id in sorted(partitions):
                if day in partitions[dataset_id]:
                    stats.append(merge_partition(engine, dataset_id, day, partitions[dataset_id][day],
                                                 chunk_keys=chunk_keys).as_dict())
        # the same partition again, chunked: idempotent
        dataset_id = "traffic_police.driving_licences"
        day = max(partitions[dataset_id])
        stats.append(merge_partition(engine, dataset_id, day, partitions[dataset_id][day], chunk_keys=chunk_keys).as_dict())
        return dump(engine), stats
    finally:
        engine.dispose()


def test_chunked_merge_equals_one_chunk(tmp_path):
    partitions = sample_partitions()
    whole, whole_stats = _merge_all(f"sqlite:///{tmp_path / 'whole.sqlite'}", partitions, chunk_keys=10**9)
    chunked, chunked_stats = _merge_all(f"sqlite:///{tmp_path / 'chunked.sqlite'}", partitions, chunk_keys=90)
    assert sum(len(rows) for rows in whole.values()) > 10_000  # the sample fills the base tables
    assert chunked_stats == whole_stats
    assert chunked.keys() == whole.keys()
    for table in whole:
        assert chunked[table] == whole[table], table


def test_merging_the_files_in_batches_equals_merging_the_frames(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jilin_pipelines.catalogue import catalogue
    from jilin_pipelines.quality.layout import standard_schema

    partitions = sample_partitions()
    files = {}
    for dataset_id, days in partitions.items():
        schema = standard_schema(catalogue().entry(dataset_id).dataset)
        files[dataset_id] = {}
        for day, frame in days.items():
            path = tmp_path / f"{dataset_id}_{day}.parquet"
            pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)
            files[dataset_id][day] = path  # as the standardised asset writes it
    assert max(pq.ParquetFile(p).metadata.num_rows for days in files.values() for p in days.values()) > 400
    frames, frame_stats = _merge_all(f"sqlite:///{tmp_path / 'frames.sqlite'}", partitions, chunk_keys=10**9)
    batched, batched_stats = _merge_all(f"sqlite:///{tmp_path / 'files.sqlite'}", files, chunk_keys=90)
    assert batched_stats == frame_stats
    assert batched == frames


def test_chunks_split_by_key_fingerprint():
    import pandas as pd

    keys = pd.DataFrame({"a": [f"k{i}" for i in range(1000)], "b": ["x"] * 1000})
    chunk = merge._chunk_of(keys, 7)
    assert set(chunk) == set(range(7))
    assert (merge._chunk_of(keys.iloc[::-1].reset_index(drop=True), 7) == chunk[::-1]).all()  # per key, not position
