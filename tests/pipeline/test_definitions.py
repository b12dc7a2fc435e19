"""The Dagster definitions load, and every catalogue dataset has its raw asset."""

import dagster as dg

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.definitions import MAIN_JOB, defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def(MAIN_JOB) is not None


def test_every_dataset_has_its_raw_asset():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for entry in catalogue().entries:
        assert f"{entry.department.department}/raw/{entry.dataset.name}" in keys, entry.id


def test_raw_assets_are_daily_partitioned_in_shanghai_with_a_backfill_policy():
    graph = defs.resolve_asset_graph()
    for entry in catalogue().entries:
        node = graph.get(dg.AssetKey([entry.department.department, "raw", entry.dataset.name]))
        partitions = node.partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition)
        assert partitions.timezone == "Asia/Shanghai"
        assert partitions.start.strftime("%Y-%m-%d") == "2025-06-01"
        assert node.backfill_policy is not None
