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


def test_layers_are_generated_for_every_dataset_and_base_table():
    from jilin_pipelines.base import tables

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for entry in catalogue().entries:
        assert f"{entry.department.department}/standardised/{entry.dataset.name}" in keys, entry.id
    for table in ("person", "legal_entity", "certificate", "vehicle", "video_point"):
        assert table in tables()
    assert {f"base/{t}" for t in tables()} <= keys
    assert "quality/scorecard" in keys


def test_base_tables_carry_column_lineage_to_the_standardised_layer():
    graph = defs.resolve_asset_graph()
    spec = graph.get(dg.AssetKey(["base", "person"]))
    lineage = spec.metadata["dagster/column_lineage"]
    deps = {(d.asset_key.to_user_string(), d.column_name) for d in lineage.deps_by_column["id_number"]}
    assert ("traffic_police/standardised/driving_licences", "id_number") in deps


def test_every_asset_has_a_column_schema_and_lineage_down_to_the_delivered_fields():
    """Level 1 of lineage: from any scenario column the UI can walk column by column to the source fields."""
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert "dagster/column_schema" in node.metadata, key
        layer = node.tags.get("layer")
        if layer in ("source", "quality"):  # the deliveries are the roots; the scorecard aggregates check results
            continue
        lineage = node.metadata["dagster/column_lineage"]
        columns = {c.name for c in node.metadata["dagster/column_schema"].columns}
        assert lineage.deps_by_column, key
        assert set(lineage.deps_by_column) <= columns, key
        for deps in lineage.deps_by_column.values():
            for dep in deps:  # every dependency names a column its upstream asset has
                upstream = {c.name for c in graph.get(dep.asset_key).metadata["dagster/column_schema"].columns}
                assert dep.column_name in upstream, (key, dep)
