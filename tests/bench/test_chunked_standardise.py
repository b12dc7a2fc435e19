"""The standardised layer's chunk budget changes how much is held at once, never the result: every delivery of
the committed sample standardised a few rows at a time (many chunks, exact duplicates and key re-deliveries across
chunk borders) gives the same rows, quarantine, expectation results, examples and counts as in one chunk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.quality.standardise import standardise
from jilin_pipelines.raw import days_in_sources, land_day
from jilin_pipelines.settings import CHECKOUT, Settings


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    settings = Settings.from_env({"JILIN_SOURCES_DIR": str(CHECKOUT / "sample_sources"), "JILIN_DATA_DIR": str(data)})
    entries = list(catalogue().entries)
    days = days_in_sources(settings, entries)
    out = []
    for e in entries:
        for d in days[:2]:  # two days: deliveries of every format, some empty; enough chunk borders
            landing = land_day(e, d, settings)  # a CSV delivery lands a piece at a time: its rows are in the file
            out.append((e, d, Landed(pq.read_table(landing.path), landing.delivery.sha256, landing.path)))
    return out


@dataclass
class Landed:
    table: pa.Table
    sha256: str | None
    path: Path


def _same(whole, chunked) -> None:
    assert chunked.table.equals(whole.table)
    pd.testing.assert_frame_equal(chunked.quarantine, whole.quarantine)
    assert chunked.stats == whole.stats
    assert chunked.examples == whole.examples
    assert [r.rule.id for r in chunked.results] == [r.rule.id for r in whole.results]
    for a, b in zip(chunked.results, whole.results, strict=True):
        assert (a.success, a.element_count, a.unexpected_count, a.unexpected_percent) == \
               (b.success, b.element_count, b.unexpected_count, b.unexpected_percent), a.rule.id
        assert np.array_equal(a.unexpected_rows, b.unexpected_rows), a.rule.id


def test_chunked_standardise_equals_one_chunk(landed):
    checked = 0
    for entry, day, delivery in landed:
        whole = standardise(entry, delivery.table, day, delivery.sha256, chunk_rows=10**9)
        chunked = standardise(entry, delivery.table, day, delivery.sha256, chunk_rows=53)
        _same(whole, chunked)
        checked += whole.stats["checked_rows"]
    assert checked > 1500


def test_exact_duplicates_across_chunks(landed):
    entry, day, delivery = next((e, d, x) for e, d, x in landed if e.id == "traffic_police.motor_vehicles" and x.table.num_rows)
    table = delivery.table
    doubled = pa.concat_tables([table, table.slice(0, 50)])  # 50 exact duplicates, far from their first rows
    whole = standardise(entry, doubled, day, "x", chunk_rows=10**9)
    chunked = standardise(entry, doubled, day, "x", chunk_rows=64)
    assert whole.stats["exact_duplicates"] >= 50
    _same(whole, chunked)


def test_an_empty_delivery(landed):
    entry, day, delivery = landed[0]
    empty = delivery.table.slice(0, 0)
    _same(standardise(entry, empty, day, None, chunk_rows=10**9), standardise(entry, empty, day, None, chunk_rows=5))
    assert standardise(entry, empty, date(2025, 6, 2), None).stats["checked_rows"] == 0


def test_validations_keep_nothing_behind(landed):
    """Great Expectations' ephemeral context stores every run's result (unexpected row lists included) for the life
    of the process, and its execution engine the last batch with its metrics: each chunk's validation must leave
    none of them behind, or memory grows with every row checked."""
    from jilin_pipelines.quality import expectations

    entry, day, delivery = next((e, d, x) for e, d, x in landed if e.id == "traffic_police.motor_vehicles" and x.table.num_rows)
    outcome = standardise(entry, delivery.table, day, delivery.sha256, chunk_rows=64)
    assert any(r.unexpected_count for r in outcome.results)  # the sample's defects: results worth keeping, were any kept
    assert expectations._context().validation_results_store.list_keys() == []
    engine = next(v for (name, _), v in expectations._validations.items() if name == entry.id) \
        .batch_definition.data_asset.datasource.get_execution_engine()
    manager = engine.batch_manager
    assert not manager.batch_cache and not manager.batch_data_cache and not engine._metric_cache  # nor the last batch


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.sampled_from(["x", "y"]),
                          st.one_of(st.none(), st.integers(0, 3))), max_size=40))
def test_newest_per_key_is_pandas_newest_version(rows):
    """The Arrow newest-per-key against the plain pandas reading: sort by update time (none first), then source
    row, keep each key's last row (the rows kept stay in their order, the raw landing's: source-row order)."""
    import pyarrow as pa
    from datetime import datetime, timedelta

    from jilin_pipelines.quality.layout import SOURCE_ROW
    from jilin_pipelines.quality.standardise import _newest_rows

    entry = catalogue().entry("social_security.insured_persons")
    ds = entry.dataset
    key, updated = list(ds.key), ds.updated_field
    assert updated and len(key) >= 2
    order = np.random.default_rng(len(rows)).permutation(len(rows))  # source rows in any order
    frame = pd.DataFrame({
        key[0]: [r[0] for r in rows], key[1]: [r[1] for r in rows],
        **{k: "k" for k in key[2:]},
        updated: [None if r[2] is None else datetime(2025, 6, 2) + timedelta(hours=r[2]) for r in rows],
        SOURCE_ROW: (order + 1).astype("int64"),
    })
    table = pa.Table.from_pandas(frame, preserve_index=False)
    keep, superseded = _newest_rows(table, entry)
    expected = frame.sort_values([updated, SOURCE_ROW], kind="stable", na_position="first")
    expected = expected[~expected.duplicated(subset=key, keep="last")]
    assert table.filter(pa.array(keep)).column(SOURCE_ROW).to_pylist() == frame[SOURCE_ROW][keep].tolist()
    assert sorted(frame[SOURCE_ROW][keep]) == sorted(expected[SOURCE_ROW])
    assert superseded == len(rows) - len(expected)


def test_the_raw_file_standardised_into_a_file_equals_the_table_standardised(landed, tmp_path):
    """What the standardised asset does: the raw landing's file read a chunk at a time, the standardised rows
    written to their file as they are kept (``Outcome.table`` is then None)."""
    checked = 0
    for i, (entry, day, delivery) in enumerate(landed):
        whole = standardise(entry, delivery.table, day, delivery.sha256, chunk_rows=10**9)
        out = tmp_path / f"{i}.parquet"
        streamed = standardise(entry, delivery.path, day, delivery.sha256, chunk_rows=41, out=out)
        assert streamed.table is None
        streamed.table = pq.read_table(out)
        _same(whole, streamed)
        checked += whole.stats["standardised_rows"]
    assert checked > 1500
