"""After the sample run, the ``delivery`` table holds each merged delivery once, with the facts its raw landing
recorded (SHA-256, size, rows delivered) and its standardised partition's row count; delivered versions and golden
provenance name deliveries only by id, and every id they name is there."""

from __future__ import annotations

import json
from datetime import date

import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.base import base_config
from jilin_pipelines.base.schema import newest_table_name, version_table_name
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.quality.day import LAYER
from jilin_pipelines.raw import landed_summary
from jilin_pipelines.lake import partition_path


def test_every_merged_delivery_is_listed_once_with_what_its_landing_recorded(sample_run):
    settings = sample_run.settings
    engine = sa.create_engine(settings.base_db_url)
    try:
        with engine.connect() as conn:
            deliveries = conn.execute(sa.text(
                "SELECT id, dataset, partition, sha256, size_bytes, delivered_rows, standardised_rows FROM delivery"
            )).fetchall()
            named: set[int] = set()
            for table in base_config().tables:
                for name in (version_table_name(table), newest_table_name(table)):
                    named |= {r[0] for r in conn.exec_driver_sql(f'SELECT DISTINCT _delivery FROM "{name}"')}
                for (text,) in conn.exec_driver_sql(f'SELECT provenance FROM "{table}"'):
                    assert "sha256" not in text and "partition" not in text, text
                    named |= {src["delivery"] for src in json.loads(text)["sources"]}
    finally:
        engine.dispose()

    assert deliveries, "the sample run merged no delivery"
    ids = [r.id for r in deliveries]
    assert len(ids) == len(set(ids))
    assert named == set(ids)  # every id named is listed, and a listed delivery is named by some version
    assert len({(r.dataset, str(r.partition)) for r in deliveries}) == len(deliveries)  # one per partition here
    for r in deliveries:
        entry = catalogue().entry(r.dataset)
        day = date.fromisoformat(str(r.partition)[:10])
        facts = landed_summary(partition_path(entry, day, settings))
        where = f"{r.dataset} {day}"
        assert facts is not None, where
        assert r.sha256 == facts["source_sha256"], where
        assert r.size_bytes == facts["source_size_bytes"] and r.size_bytes > 0, where
        assert r.delivered_rows == facts["delivered_rows"], where
        standardised = partition_path(entry, day, settings, layer=LAYER)
        assert r.standardised_rows == pq.ParquetFile(standardised).metadata.num_rows, where
