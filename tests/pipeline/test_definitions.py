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
        # the committed sample's week (this process runs on the embedded default): a fresh run fills every day
        assert partitions.get_partition_keys()[0] == "2025-06-02"
        assert partitions.get_partition_keys()[-1] == "2025-06-08"
        assert node.backfill_policy is not None


def test_the_partitions_fit_the_deployment(tmp_path):
    from datetime import date

    import pytest

    from jilin_pipelines.defs.partitions import daily_partitions
    from jilin_pipelines.settings import Settings

    sample = Settings.from_env({})
    assert (sample.partitions_start, sample.partitions_end) == (date(2025, 6, 2), date(2025, 6, 8))
    other = Settings.from_env({"JILIN_SOURCES_DIR": str(tmp_path)})  # any other sources: a partition a day
    assert (other.partitions_start, other.partitions_end) == (date(2025, 6, 1), None)
    assert daily_partitions(other).end is None
    chosen = Settings.from_env({"JILIN_SOURCES_DIR": str(tmp_path), "JILIN_PARTITIONS_START": "2024-01-01",
                                "JILIN_PARTITIONS_END": "2024-01-31"})
    keys = daily_partitions(chosen).get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2024-01-01", "2024-01-31", 31)
    with pytest.raises(ValueError, match="JILIN_PARTITIONS_END=2024-01-01 is before JILIN_PARTITIONS_START=2024-02-01"):
        Settings.from_env({"JILIN_PARTITIONS_START": "2024-02-01", "JILIN_PARTITIONS_END": "2024-01-01"})
    with pytest.raises(ValueError, match="JILIN_PARTITIONS_START='June': expected a day as YYYY-MM-DD"):
        Settings.from_env({"JILIN_PARTITIONS_START": "June"})


def test_every_check_is_judged_per_day():
    """Each check result carries the day it judged (partitioned checks), so the UI shows a day's checks; but the
    newest day landed, which judges the whole history."""
    graph = defs.resolve_asset_graph()
    checks = list(graph.asset_check_keys)
    assert len(checks) > 40
    for key in checks:
        if key.name == "newest_day":
            assert graph.get(key).partitions_def is None and key.asset_key.path[1] == "raw", key
            continue
        assert isinstance(graph.get(key).partitions_def, dg.DailyPartitionsDefinition), key


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


def test_every_base_and_scenario_column_is_described():
    """The UI's column schema says what each column means: survivorship from tables.yaml, outcomes and reasons
    from the scenario declarations."""
    graph = defs.resolve_asset_graph()

    def described(*path: str) -> dict[str, str]:
        schema = graph.get(dg.AssetKey(list(path))).metadata["dagster/column_schema"]
        return {c.name: c.description for c in schema.columns}

    for key in graph.get_all_asset_keys():
        if key.path[0] in ("base", "scenario"):
            empty = [c for c, d in described(*key.path).items() if not d]
            assert not empty, (key, empty)
    person = described("base", "person")
    assert person["id_number"].startswith("身份证明号码") and "GB 11643" in person["id_number"]
    assert "survivorship" in person["name"] and (
        "traffic_police.driving_licences > transport.practitioner_qualifications > social_security.insured_persons"
        in person["name"])
    assert "social_security.employers, then any other source" in described("base", "legal_entity")["name"]
    assert "one source" in person["division_code"]
    assert "one source" in described("base", "employer")["employer_type"]
    result = described("scenario", "certificate_verification")["result"]
    assert "holder_mismatch (the presented holder ID or name is not the certificate's" in result
    decision = described("scenario", "social_assistance_decision")
    assert "identity_unverified" in decision["decision"] and "flags that hold" in decision["reasons"]
