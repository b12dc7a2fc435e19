"""A partition whose blocked rows are over the catalogue's share *and* at least its minimum is held: its checks
say why, none of its rows flow on (its standardised partition is empty), the hold is recorded and alerted, and the
assets after it still run for the day. A small increment with a few bad rows flows on. A release after review lets
the held delivery's unblocked rows through."""

import csv
import io
import json
import shutil
from datetime import date

import dagster as dg
import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.defs.raw_assets import raw_asset
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.defs.standardised_assets import BLOCKED_SHARE_CHECK, HELD_CHECK, standardised_asset
from jilin_pipelines.defs.keys import standardised_key
from jilin_pipelines.lake import partition_path
from jilin_pipelines.settings import CHECKOUT, Settings

ENTRY = catalogue().entry("traffic_police.violations")
DAY = "2025-06-03"
FILE = f"traffic_police/violations/violations_{DAY.replace('-', '')}.csv"


def break_rows(path, share: float, keep: int | None = None) -> tuple[int, int]:
    """Keep the first ``keep`` rows (all by default) and give the first ``share`` of them a plate type outside its
    code list; returns (rows, broken)."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"))))
    header, body = rows[0], rows[1:][:keep]
    column = header.index("号牌种类")
    broken = int(len(body) * share)
    for row in body[:broken]:
        row[column] = "99"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *body])
    path.write_bytes(out.getvalue().encode("gbk"))
    return len(body), broken


def run(tmp_path, share: float, keep: int | None = None, release: str = "", instance=None):
    sources = tmp_path / "sources"
    if not (sources / FILE).exists():
        (sources / FILE).parent.mkdir(parents=True)
        shutil.copy(CHECKOUT / "sample_sources" / FILE, sources / FILE)
        break_rows(sources / FILE, share, keep)
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
    instance = instance or dg.DagsterInstance.ephemeral()
    config = {"ops": {standardised_key(ENTRY).to_python_identifier(): {"config": {"release_reason": release}}}}
    result = job.execute_in_process(partition_key=DAY, instance=instance, raise_on_error=False, run_config=config)
    return result, ran, instance, settings


def holds_table(settings) -> list[tuple]:
    engine = sa.create_engine(settings.base_db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT dataset, partition, kind, released_at IS NOT NULL FROM partition_hold"))]
    finally:
        engine.dispose()


def standardised_rows(settings) -> int:
    return pq.read_metadata(partition_path(ENTRY, date.fromisoformat(DAY), settings, layer="standardised")).num_rows


def test_a_mostly_broken_delivery_is_held_and_the_day_flows_on(tmp_path):
    result, ran, instance, settings = run(tmp_path, share=0.6)
    assert result.success  # held is no failure of ours
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[BLOCKED_SHARE_CHECK].passed is False
    assert evaluations[BLOCKED_SHARE_CHECK].metadata["blocked_share"].value >= 0.6
    assert evaluations[HELD_CHECK].passed is False
    assert "over the limit" in evaluations[HELD_CHECK].description
    assert ran == [DAY], "the assets after a held partition must still run for the day"
    assert standardised_rows(settings) == 0  # none of its rows flow on
    assert [(d, str(p)[:10], k, released) for d, p, k, released in holds_table(settings)] == [
        (ENTRY.id, DAY, "blocked", 0)]
    alert = json.loads((settings.data_dir / "alerts" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert (alert["kind"], alert["datasets"], alert["partition"]) == ("held", [ENTRY.id], DAY)
    key = dg.AssetCheckKey(standardised_key(ENTRY), HELD_CHECK)  # what the UI shows, per run and partition
    record = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)[0]
    assert instance.get_run_by_id(record.run_id).tags["dagster/partition"] == DAY
    assert record.status.value == "FAILED"

    # released after review (the launchpad's config): its unblocked rows flow, the hold is kept as released
    released, _, _, settings = run(tmp_path, share=0.6, release="reviewed: the plate types are a new code list",
                                   instance=instance)
    assert released.success
    assert {e.check_name: e.passed for e in released.get_asset_check_evaluations()}[HELD_CHECK] is True
    assert standardised_rows(settings) > 0
    assert [k for *_, k in holds_table(settings)] == [1]


def test_a_delivery_under_the_threshold_flows_on(tmp_path):
    result, ran, instance, settings = run(tmp_path, share=0.05)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[BLOCKED_SHARE_CHECK].passed is True
    assert evaluations[HELD_CHECK].passed is True
    assert evaluations["normativity"].passed is False  # the broken plate types are reported
    assert ran == [DAY]
    assert holds_table(settings) == []


def test_a_small_increment_with_a_few_bad_rows_is_quarantined_not_held(tmp_path):
    # 2 bad rows of 3 is 67 %, over the share, but far from the minimum of rows that is evidence of a broken export
    result, ran, instance, settings = run(tmp_path, share=0.67, keep=3)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[BLOCKED_SHARE_CHECK].metadata["blocked_share"].value > ENTRY.dataset.max_blocked_share
    assert evaluations[BLOCKED_SHARE_CHECK].passed is True and evaluations[HELD_CHECK].passed is True
    assert holds_table(settings) == []
    assert standardised_rows(settings) == 1
