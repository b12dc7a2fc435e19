"""A partition whose blocked share passes the catalogue's threshold stops its downstream assets, and the
check's result is recorded per partition in Dagster."""

import csv
import io
import shutil

import dagster as dg

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.defs.raw_assets import raw_asset
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.defs.standardised_assets import BLOCKED_SHARE_CHECK, standardised_asset, standardised_key
from jilin_pipelines.settings import CHECKOUT, Settings

ENTRY = catalogue().entry("traffic_police.violations")
DAY = "2025-06-03"
FILE = f"traffic_police/violations/violations_{DAY.replace('-', '')}.csv"


def break_rows(path, share: float) -> int:
    """Give the first ``share`` of the delivery's rows a plate type outside its code list."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"))))
    header, body = rows[0], rows[1:]
    column = header.index("号牌种类")
    broken = int(len(body) * share)
    for row in body[:broken]:
        row[column] = "99"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *body])
    path.write_bytes(out.getvalue().encode("gbk"))
    return broken


def run(tmp_path, share: float):
    sources = tmp_path / "sources"
    (sources / FILE).parent.mkdir(parents=True)
    shutil.copy(CHECKOUT / "sample_sources" / FILE, sources / FILE)
    break_rows(sources / FILE, share)
    settings = Settings.from_env({"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(tmp_path / "data")})
    ran = []

    @dg.asset(deps=[standardised_key(ENTRY)], partitions_def=raw_asset(ENTRY).partitions_def)
    def downstream(context: dg.AssetExecutionContext) -> None:
        ran.append(context.partition_key)

    defs = dg.Definitions(
        assets=[raw_asset(ENTRY), standardised_asset(ENTRY), downstream],
        resources={"settings": PipelineSettings.from_settings(settings)},
        executor=dg.in_process_executor,
    )
    job = defs.resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(partition_key=DAY, instance=instance, raise_on_error=False)
    return result, ran, instance


def blocked_share_evaluation(instance):
    key = dg.AssetCheckKey(standardised_key(ENTRY), BLOCKED_SHARE_CHECK)
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
    assert records, "no evaluation of the blocked-share check was recorded"
    return records[0]


def test_a_mostly_broken_delivery_stops_downstream(tmp_path):
    result, ran, instance = run(tmp_path, share=0.6)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[BLOCKED_SHARE_CHECK].passed is False
    assert evaluations[BLOCKED_SHARE_CHECK].metadata["blocked_share"].value >= 0.6
    assert ran == [], "the downstream asset ran although the blocking check failed"
    record = blocked_share_evaluation(instance)  # what the UI shows on the check's page, per run and partition
    assert instance.get_run_by_id(record.run_id).tags["dagster/partition"] == DAY
    assert record.status.value == "FAILED"


def test_a_delivery_under_the_threshold_flows_on(tmp_path):
    result, ran, instance = run(tmp_path, share=0.05)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[BLOCKED_SHARE_CHECK].passed is True
    assert evaluations["normativity"].passed is False  # the broken plate types are reported
    assert ran == [DAY]
