"""The production instance (deploy/dagster.postgres.yaml) against the real PostgreSQL server: a fresh database,
a partition of the main job run in-process on it, the run and the materialisations read back - through
Dagster and straight from the tables."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest
import sqlalchemy as sa
from stack import SAMPLE, fresh_database

from jilin_pipelines.definitions import MAIN_JOB, build_definitions
from jilin_pipelines.settings import CHECKOUT, Settings

pytestmark = pytest.mark.postgres

PRODUCTION_YAML = CHECKOUT / "deploy" / "dagster.postgres.yaml"
DAY = "2025-06-03"


def test_the_production_instance_stores_runs_and_materialisations_in_postgres(pg_url, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PRODUCTION_YAML, home / "dagster.yaml")
    settings = Settings.from_env(
        {"JILIN_SOURCES_DIR": str(SAMPLE), "JILIN_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(home)}
    )
    job = build_definitions(settings).resolve_job_def(MAIN_JOB)
    keys = set(job.asset_layer.executable_asset_keys)

    with fresh_database(pg_url) as url:
        monkeypatch.setenv("DAGSTER_PG_URL", url)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            # what the file asks for
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            assert instance.get_settings("telemetry") == {"enabled": False}

            result = job.execute_in_process(partition_key=DAY, instance=instance)
            assert result.success

        # a new instance over the same database sees the run and every materialisation
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = instance.get_run_by_id(result.run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
            assert run.tags["dagster/partition"] == DAY
            for key in keys:
                records = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=key, asset_partitions=[DAY]), limit=5
                ).records
                assert len(records) == 1, key
                assert records[0].asset_materialization.metadata, key  # its metadata came back with it
                assert records[0].run_id == result.run_id

        # ... and it is really in PostgreSQL
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("select count(*) from runs")).scalar() == 1
                materialized = conn.execute(
                    sa.text("select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'")
                ).scalar()
                assert materialized == len(keys)
        finally:
            engine.dispose()
