"""``defs.openlineage_run.lineage_run`` around real Dagster materialisations: START then COMPLETE or FAIL, the
asset's own error kept, and lineage that cannot be delivered (endpoint down, file unwritable) never failing the
asset. Events go to the data directory's JSON Lines file and to real HTTP servers on loopback."""

import json
import logging
import socket
import time
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pytest

from jilin_pipelines.defs.openlineage_run import lineage_run, scenario_parent
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.lineage import (
    BASE_NAMESPACE,
    LAKE_NAMESPACE,
    Assertion,
    DatasetRef,
    LineageEmitter,
    Purpose,
    default_path,
    run_id_for,
    scenario_job_name,
    validate_event,
)
from jilin_pipelines.settings import Settings

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2025-06-01", timezone="Asia/Shanghai")
DAY = "2025-06-02"
ID = "220102199003071234"
NAME = "欧阳娜娜"
PHONE = "13912345678"
RAW = DatasetRef(LAKE_NAMESPACE, "raw/traffic_police/motor_vehicles")
OUT = DatasetRef(LAKE_NAMESPACE, "standardised/traffic_police/motor_vehicles")


def resource(tmp_path: Path, url: str | None = None) -> PipelineSettings:
    env = {"JILIN_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    if url:
        env["JILIN_OPENLINEAGE_URL"] = url
    return PipelineSettings.from_settings(Settings.from_env(env))


def events_of(tmp_path: Path) -> list[dict]:
    path = default_path(tmp_path / "data")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


INSTANCE = dg.DagsterInstance.ephemeral()


@pytest.fixture(autouse=True)
def fresh_cooldowns():
    """Each test starts with no endpoint marked as failed (the helper leaves a failed endpoint alone for 60 s)."""
    LineageEmitter.reset_cooldowns()
    yield
    LineageEmitter.reset_cooldowns()


def materialise(assets, tmp_path, url=None, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, partition_key=DAY, resources={"settings": resource(tmp_path, url)},
                          raise_on_error=False, instance=INSTANCE, **kwargs)


def logged(result: dg.ExecuteInProcessResult, level: int) -> list[str]:
    """What the steps logged at ``level`` (the user messages of the run's event log)."""
    return [r.user_message for r in INSTANCE.all_logs(result.run_id) if r.level == level and not r.is_dagster_event]


class DeliveryUnreadable(Exception):
    pass


@dg.asset(key=["traffic_police", "standardised", "motor_vehicles"], partitions_def=PARTITIONS)
def failing(context: dg.AssetExecutionContext, settings: PipelineSettings):
    with lineage_run(context, settings, inputs=[RAW], outputs=[OUT]):
        raise DeliveryUnreadable(f"row 17: owner_id={ID}, owner_name={NAME}, phone {PHONE}: cannot be read")


@dg.asset(key=["traffic_police", "standardised", "motor_vehicles"], partitions_def=PARTITIONS)
def working(context: dg.AssetExecutionContext, settings: PipelineSettings):
    with lineage_run(context, settings, inputs=[RAW], outputs=[OUT]) as run:
        run.outputs(DatasetRef(OUT.namespace, OUT.name, [("plate_no", "string")],
                               {"plate_no": [(RAW.namespace, RAW.name, "号牌号码")]}, row_count=3))
        run.assertions(Assertion("not_null", False, "plate_no", "error", "plate_no.required"))
        yield dg.MaterializeResult(metadata={"openlineage_run_id": run.run_id})
        context.log.info("still inside the run after the materialisation")


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    return error.message + (error.cause.message if error.cause else "")


def test_a_failing_body_emits_start_then_fail_and_the_asset_fails_with_its_own_error(tmp_path, spec_dir):
    result = materialise([failing], tmp_path)
    assert not result.success
    message = failure_message(result)
    assert "DeliveryUnreadable" in message and ID in message  # the asset's own error, untouched

    events = events_of(tmp_path)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    for e in events:
        validate_event(e, spec_dir)
    start, fail = events
    assert start["run"]["runId"] == fail["run"]["runId"] == run_id_for(
        result.run_id, "traffic_police/standardised/motor_vehicles", DAY)
    assert fail["job"]["name"] == "traffic_police/standardised/motor_vehicles"
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"].startswith("DeliveryUnreadable: row 17")
    assert "DeliveryUnreadable" in error["stackTrace"]
    text = json.dumps(events, ensure_ascii=False)
    for secret in (ID, NAME, PHONE):
        assert secret not in text
    assert "220102********1234" in error["message"] and "owner_name=欧" in error["message"]


def test_a_working_body_emits_start_then_complete_with_what_it_learnt(tmp_path, spec_dir):
    result = materialise([working], tmp_path)
    assert result.success
    events = events_of(tmp_path)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for e in events:
        validate_event(e, spec_dir)
    start, complete = events
    assert "facets" not in start["outputs"][0]  # before the work, only the name
    out = complete["outputs"][0]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 3
    assert out["facets"]["columnLineage"]["fields"]["plate_no"]["inputFields"][0]["field"] == "号牌号码"
    assert out["facets"]["dataQualityAssertions"]["assertions"][0]["name"] == "plate_no.required"
    assert complete["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2025-06-02T00:00:00+08:00"
    (mat,) = result.asset_materializations_for_node("traffic_police__standardised__motor_vehicles")
    assert mat.metadata["openlineage_run_id"].value == complete["run"]["runId"] == start["run"]["runId"]
    assert complete["eventTime"] >= start["eventTime"]


def test_events_are_posted_to_the_configured_endpoint(tmp_path, endpoint, spec_dir):
    ol = endpoint(200)
    assert materialise([working], tmp_path, ol.url).success
    assert [r["path"] for r in ol.requests] == ["/api/v1/lineage"] * 2
    assert ol.bodies == events_of(tmp_path)  # the same events in the file and at the endpoint
    assert [b["eventType"] for b in ol.bodies] == ["START", "COMPLETE"]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_endpoint_does_not_fail_the_asset(tmp_path, spec_dir):
    url = f"http://127.0.0.1:{unused_port()}"
    result = materialise([working], tmp_path, url)
    assert result.success
    assert [e["eventType"] for e in events_of(tmp_path)] == ["START", "COMPLETE"]  # the file has them all the same
    warnings = [m for m in logged(result, logging.WARNING) if m.startswith("OpenLineage")]
    assert len(warnings) == 2, warnings
    assert "START" in warnings[0] and "not delivered to" in warnings[0] and "ConnectionError" in warnings[0]
    assert "COMPLETE" in warnings[1] and "skipped" in warnings[1]  # the failed endpoint is not tried again at once


def test_a_hanging_endpoint_costs_one_events_time_outs_not_every_events(tmp_path, endpoint):
    ol = endpoint(200, hang=30)
    started = time.monotonic()
    results = [materialise([working], tmp_path / str(i), ol.url) for i in range(3)]
    elapsed = time.monotonic() - started
    assert all(r.success for r in results)
    assert len(ol.requests) == 2  # START of the first asset, tried twice (2 s time-out); then left alone
    assert elapsed < 4.2 + 6, f"{elapsed:.1f} s"
    assert all(len(events_of(tmp_path / str(i))) == 2 for i in range(3))


def test_an_endpoint_answering_500_does_not_fail_the_asset_nor_change_its_error(tmp_path, endpoint):
    ol = endpoint(500)
    ok = materialise([working], tmp_path / "ok", ol.url)
    assert ok.success
    failed = materialise([failing], tmp_path / "failed", ol.url)
    assert not failed.success and "DeliveryUnreadable" in failure_message(failed)
    assert [e["eventType"] for e in events_of(tmp_path / "failed")] == ["START", "FAIL"]


def test_an_unwritable_lineage_file_does_not_fail_the_asset(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lineage").write_text("a file where the lineage folder should be")
    result = materialise([working], tmp_path)
    assert result.success
    errors = logged(result, logging.ERROR)
    assert any("OpenLineage START event" in m and "not recorded" in m for m in errors), errors
    assert any("OpenLineage COMPLETE event" in m and "not recorded" in m for m in errors), errors


TABLES = ("person", "vehicle")


@dg.multi_asset(specs=[dg.AssetSpec(["base", t]) for t in TABLES], partitions_def=PARTITIONS, can_subset=True)
def merge(context: dg.AssetExecutionContext, settings: PipelineSettings):
    with ExitStack() as stack:
        runs = {k.path[-1]: stack.enter_context(lineage_run(context, settings, asset_key=k, inputs=[OUT],
                                                            outputs=[DatasetRef(BASE_NAMESPACE, k.path[-1])]))
                for k in sorted(context.selected_asset_keys)}
        for table, run in runs.items():
            if table == "vehicle" and context.run.tags.get("fail") == "yes":
                raise RuntimeError("vehicle merge failed")
            yield dg.MaterializeResult(asset_key=["base", table], metadata={"openlineage_run_id": run.run_id})


def test_a_multi_asset_reports_one_run_per_output_and_they_fail_together(tmp_path, spec_dir):
    assert materialise([merge], tmp_path / "ok").success
    events = events_of(tmp_path / "ok")
    assert sorted((e["job"]["name"], e["eventType"]) for e in events) == [
        ("base/person", "COMPLETE"), ("base/person", "START"), ("base/vehicle", "COMPLETE"), ("base/vehicle", "START")]
    assert len({e["run"]["runId"] for e in events}) == 2

    failed = materialise([merge], tmp_path / "failed", tags={"fail": "yes"})
    assert not failed.success
    events = events_of(tmp_path / "failed")
    assert sorted((e["job"]["name"], e["eventType"]) for e in events) == [
        ("base/person", "FAIL"), ("base/person", "START"), ("base/vehicle", "FAIL"), ("base/vehicle", "START")]
    for e in events:
        validate_event(e, spec_dir)

    subset = materialise([merge], tmp_path / "subset", selection=[dg.AssetKey(["base", "vehicle"])])
    assert subset.success
    assert {e["job"]["name"] for e in events_of(tmp_path / "subset")} == {"base/vehicle"}


SCENARIO = "social_assistance_verification"
PURPOSE = Purpose(SCENARIO, "社会救助家庭经济状况核对", "《社会救助暂行办法》第十一条")


@dg.asset(key=[f"scenario_{SCENARIO}", "decisions"], partitions_def=PARTITIONS)
def decisions(context: dg.AssetExecutionContext, settings: PipelineSettings):
    with lineage_run(context, settings, inputs=[DatasetRef(BASE_NAMESPACE, "person")], purpose=PURPOSE,
                     parent=scenario_parent(context, SCENARIO)):
        return dg.MaterializeResult()


def test_a_scenario_run_names_its_purpose_and_the_scenario_run_as_parent(tmp_path, spec_dir):
    result = materialise([decisions], tmp_path)
    assert result.success
    for e in events_of(tmp_path):
        validate_event(e, spec_dir)
        facets = e["run"]["facets"]
        assert facets["jilin_purpose"]["scenario"] == SCENARIO
        assert facets["parent"]["job"]["name"] == scenario_job_name(SCENARIO)
        assert facets["parent"]["run"]["runId"] == run_id_for(result.run_id, scenario_job_name(SCENARIO), DAY)


def test_the_run_id_is_one_per_asset_partition_and_dagster_run(tmp_path):
    first = materialise([working], tmp_path)
    second = materialise([working], tmp_path)
    ids = [e["run"]["runId"] for e in events_of(tmp_path)]
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert ids[2] == run_id_for(second.run_id, "traffic_police/standardised/motor_vehicles", DAY)
    assert first.run_id != second.run_id


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
