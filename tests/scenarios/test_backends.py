"""The scenarios give the same decisions and evidence on SQLite and on the real PostgreSQL server: both base
databases are built from the sample run's standardised partitions of two days, then every scenario decides the
second day on each."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from jilin_pipelines.base import merge_partition, upgrade
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.lake import partition_path
from jilin_pipelines.scenarios import SCENARIOS
from jilin_pipelines.scenarios.store import input_dataset, outputs, run_scenario

DAYS = (date(2025, 6, 2), date(2025, 6, 3))


def decide_all(url: str, settings) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    upgrade(url)
    engine = sa.create_engine(url)
    try:
        partitions = {
            (e.id, d): pq.read_table(partition_path(e, d, settings, layer="standardised")).to_pandas()
            for e in catalogue().entries for d in DAYS
        }
        for (dataset, day), frame in partitions.items():
            merge_partition(engine, dataset, day, frame)
        out = {}
        for s in SCENARIOS:
            run = run_scenario(engine, s, DAYS[1], partitions[(input_dataset(s.input), DAYS[1])] if s.input else None)
            with engine.connect() as conn:
                evidence = pd.read_sql(sa.text("select decision_id, used_for, base_table, base_key, base_valid_from, "
                                               "person_id, dataset, delivery_partition, source_row, sha256 "
                                               "from scenario_evidence where scenario = :s"), conn,
                                       params={"s": s.name})
            assert len(evidence) == run.evidence > 0
            out[s.name] = (outputs(engine, s, DAYS[1]), evidence)
        return out
    finally:
        engine.dispose()


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame.astype(str)
    return text.sort_values(list(text.columns)).reset_index(drop=True)


@pytest.mark.postgres
def test_sqlite_and_postgresql_decide_alike(sample_run, pg_schema_url, tmp_path):
    lite = decide_all(f"sqlite:///{tmp_path / 'base.sqlite'}", sample_run.settings)
    pg = decide_all(pg_schema_url, sample_run.settings)
    for name in lite:
        for what, a, b in zip(("decisions", "evidence"), lite[name], pg[name], strict=True):
            pd.testing.assert_frame_equal(canonical(a), canonical(b), obj=f"{name} {what}")
