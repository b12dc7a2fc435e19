"""Cross-department consistency: the persons whose departments name them differently are exactly the name
disagreements the generator put into its world (``world/inconsistencies.parquet``)."""

from datetime import date

import pandas as pd

from base_testkit import SAMPLE_CLEAN, clean_truth
from jilin_pipelines.base import merge_partition
from jilin_pipelines.base.consistency import name_conflicts


def test_name_conflicts_are_the_generators_name_mismatches(engine, sample):
    for dataset_id, days in sample.items():
        for day, frame in days.items():
            merge_partition(engine, dataset_id, day, frame)
    last = max(day for days in sample.values() for day in days)
    found = set(name_conflicts(engine, last)["id_number"])

    world = pd.read_parquet(SAMPLE_CLEAN.parent / "world" / "inconsistencies.parquet")
    mismatches = world[world["kind"] == "name_mismatch"]
    assert len(mismatches) > 0
    expected = set()
    for row in mismatches.itertuples():
        clean = clean_truth(row.dataset)
        hit = clean[(clean["day"].astype(str) == str(row.day)) & (clean["source_row"] == int(row.source_row))]
        expected.add(hit["AAC002"].iloc[0] if "AAC002" in hit else hit.iloc[0, 0])
    assert found == expected
    # before any delivery there is nothing to disagree about
    assert name_conflicts(engine, date(2025, 6, 1)).empty
