"""A check result carries its day in every kind of run of one day: one tagged with the partition (``make run``, a
run launched for a day) and one of a one-day partition range (what a backfill under a ``BackfillPolicy``
launches) — never a result without its day beside a planned one with it."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.definitions import MAIN_JOB, build_definitions
from jilin_pipelines.defs.keys import raw_key
from jilin_pipelines.defs.keys import standardised_key
from jilin_pipelines.settings import CHECKOUT, Settings

DAY = "2025-06-03"
ENTRY = next(e for e in catalogue().entries if e.id == "transport.road_transport_permits")
RANGE_TAGS = {"dagster/asset_partition_range_start": DAY, "dagster/asset_partition_range_end": DAY}


@pytest.mark.parametrize("run", ["partition", "one-day range"])
def test_each_check_result_names_its_day(run, tmp_path, monkeypatch):
    sources = tmp_path / "sources"
    shutil.copytree(CHECKOUT / "sample_sources" / "transport", sources / "transport")
    env = {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(tmp_path / "data"),
           "DAGSTER_HOME": str(tmp_path / "home")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    job = build_definitions(Settings.from_env(env)).resolve_job_def(MAIN_JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        kwargs = {"partition_key": DAY} if run == "partition" else {"tags": RANGE_TAGS}
        result = job.execute_in_process(instance=instance, asset_selection=[raw_key(ENTRY), standardised_key(ENTRY)],
                                        **kwargs)
        assert result.success
        evaluations = [e.event_specific_data for e in result.all_events
                       if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
        by_name = {(ev.asset_key.path[1], ev.check_name): ev.partition for ev in evaluations}
        assert by_name[("standardised", "normativity")] == DAY
        assert by_name[("standardised", "held")] == DAY
        assert by_name[("raw", "newest_day")] is None  # judged over the whole history, not a day
        assert {p for (layer, _), p in by_name.items() if layer == "standardised"} == {DAY}
        executions = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(standardised_key(ENTRY), "normativity"), limit=10)
        assert [x.partition for x in executions] == [DAY]  # one row, with its day: no SKIPPED twin
        assert executions[0].status.value in ("SUCCEEDED", "FAILED")
