"""The operations layer: schedules at the catalogue times, the file-arrival sensor, the run-failure alert.

Real files in tmp_path, real runs executed in-process on a real (temporary) instance; the sensors and
schedules are evaluated the way the daemon evaluates them (``evaluate_tick``).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.definitions import build_definitions
from jilin_pipelines.defs.automation import (
    AFTER_INPUTS,
    FAILURE_SENSOR,
    FILE_SENSOR,
    load_job_name,
    mask_free_text,
    schedule_name,
)
from jilin_pipelines.defs.partitions import DAILY
from jilin_pipelines.defs.raw_assets import FRESHNESS_GRACE, freshness_policy
from jilin_pipelines.defs.keys import raw_key
from jilin_pipelines.defs.standardised_assets import HELD_CHECK
from jilin_pipelines.defs.keys import standardised_key
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.settings import CHECKOUT, Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE = CHECKOUT / "sample_sources"
VEHICLES = ("traffic_police", "motor_vehicles", "csv")


def _settings(sources: Path, data: Path, home: Path) -> Settings:
    return Settings.from_env(
        {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    )


@pytest.fixture()
def env(tmp_path):
    """An empty sources directory, a data directory, the definitions and a persistent test instance over them."""
    sources = tmp_path / "sources"
    sources.mkdir()
    settings = _settings(sources, tmp_path / "data", tmp_path / "home")
    defs = build_definitions(settings)
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        yield {
            "sources": sources,
            "settings": settings,
            "resource": PipelineSettings.from_settings(settings),
            "defs": defs,
            "instance": instance,
        }


def deliver(sources: Path, department: str, dataset: str, ext: str, day: str, content: bytes | None = None) -> Path:
    """Put a delivery file in place: the sample's file for that day, or the given bytes."""
    name = f"{dataset}_{day.replace('-', '')}.{ext}"
    target = sources / department / dataset / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        shutil.copyfile(SAMPLE / department / dataset / name, target)
    else:
        target.write_bytes(content)
    return target


def tick(env, cursor: str | None):
    sensor = env["defs"].resolve_sensor_def(FILE_SENSOR)
    with dg.build_sensor_context(
        instance=env["instance"], cursor=cursor, resources={"settings": env["resource"]}, definitions=env["defs"]
    ) as context:
        return sensor.evaluate_tick(context)


# ---------------------------------------------------------------------------------------------------------
# Schedules


def test_one_schedule_per_department_at_its_catalogue_time_for_the_previous_day(tmp_path):
    defs = build_definitions()
    instance = dg.DagsterInstance.ephemeral()
    by_department: dict[str, list] = {}
    for entry in catalogue().entries:
        by_department.setdefault(entry.department.department, []).append(entry)
    names = {s.name for s in defs.get_repository_def().schedule_defs}
    assert names == {schedule_name(d) for d in by_department}

    for department, entries in by_department.items():
        due = max(e.dataset.update_time for e in entries)  # every delivery of the department is due by then
        hour, minute = (int(x) for x in due.split(":"))
        schedule = defs.resolve_schedule_def(schedule_name(department))
        assert schedule.cron_schedule == f"{minute} {hour} * * *", department
        assert schedule.execution_timezone == "Asia/Shanghai"
        assert schedule.job_name == load_job_name(department)

        # The tick at the catalogue time on 3 June (Shanghai) loads 2 June - also across the UTC date line; the
        # day after the last partition (the committed sample's week: this process's settings) is skipped, not
        # loaded again.
        for tick_day, expected in (("2025-06-03", ["2025-06-02"]), ("2025-06-09", ["2025-06-08"]),
                                   ("2025-06-10", [])):
            y, m, d = (int(x) for x in tick_day.split("-"))
            when = datetime(y, m, d, hour, minute, tzinfo=SHANGHAI)
            data = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
            assert [r.partition_key for r in data.run_requests] == expected, (department, tick_day)
            assert all(r.run_key == r.partition_key for r in data.run_requests)
            if not expected:
                assert "2025-06-09 is not a partition" in data.skip_message and "2025-06-08" in data.skip_message

        # ... and the job it runs lands exactly the department's raw datasets.
        job = defs.resolve_job_def(load_job_name(department))
        assert set(job.asset_layer.executable_asset_keys) == {raw_key(e) for e in entries}


def test_every_raw_asset_is_fresh_against_its_catalogue_update_time():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    entries = catalogue().entries
    for entry in entries:
        policy = freshness_policy(entry)  # on the raw asset when the partitions are open-ended (tests/ops/test_e2e)
        assert isinstance(policy, dg.FreshnessPolicy), entry.id
        # due when its department's schedule lands it: at the dataset's update time, or the department's later one
        # (social security's 01:00 datasets are landed with its 06:00 applications) - never stale before that
        department = [e for e in entries if e.department.department == entry.department.department]
        landed = max(e.dataset.update_time for e in department)
        assert landed >= entry.dataset.update_time
        assert defs.resolve_schedule_def(schedule_name(entry.department.department)).cron_schedule == (
            f"{int(landed[3:])} {int(landed[:2])} * * *"
        )
        hour, minute = (int(x) for x in landed.split(":"))
        due = datetime(2025, 6, 3, hour, minute) + FRESHNESS_GRACE  # the landing may take the grace period
        assert entry.dataset.update_cycle == "daily"  # every dataset of the catalogue today
        assert policy.deadline_cron == f"{due.minute} {due.hour} * * *", entry.id
        assert policy.timezone == "Asia/Shanghai"
        assert policy.lower_bound_delta == timedelta(days=1), entry.id  # landed within the day before the deadline
    # e.g. JiShiBan's requests, due 07:00, are stale from 08:00 on when not landed
    jishiban = next(e for e in entries if e.id == "jishiban.verification_requests")
    assert freshness_policy(jishiban).deadline_cron == "0 8 * * *"
    # only the raw landings: the layers after them follow their inputs
    assert all(graph.get(k).freshness_policy is None for k in graph.materializable_asset_keys if k.path[1:2] != ["raw"])
    # a history with a last day (this process: the committed sample's week) is never fresh: no policy says it is
    assert DAILY.end is not None and all(graph.get(raw_key(e)).freshness_policy is None for e in entries)


# ---------------------------------------------------------------------------------------------------------
# Declarative automation of the layers after the raw landing


def _land(instance, keys, day: str) -> None:
    """Record materialisations of the day's partitions, as the runs of the schedules and sensors would, with the
    standardised layer's held check passed (its step yields it with the materialisation)."""
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day))
        if key.path[1:2] == ["standardised"]:
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(asset_key=key, check_name=HELD_CHECK, passed=True, partition=day)
            )


def test_the_layers_after_the_raw_landing_run_after_their_inputs(env):
    defs, instance = env["defs"], env["instance"]
    graph = defs.resolve_asset_graph()
    keys = graph.materializable_asset_keys
    layer = {k: graph.get(k).tags.get("layer") for k in keys}
    assert all(graph.get(k).automation_condition is None for k in keys if layer[k] == "raw")  # the schedules' job
    assert all(graph.get(k).automation_condition == AFTER_INPUTS for k in keys if layer[k] != "raw")

    of = lambda name: {k for k in keys if layer[k] == name}  # noqa: E731
    late = {e for e in catalogue().entries if e.id == "jishiban.verification_requests"}  # due last (07:00)
    day, when = "2025-06-03", datetime(2025, 6, 4, 7, 30, tzinfo=SHANGHAI)  # the latest partition is 3 June

    def evaluate(cursor):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=when, cursor=cursor)
        requested = {k for k in keys if result.get_num_requested(k)}
        assert all(result.get_requested_partitions(k) == {day} for k in requested)  # the latest day only
        return result.cursor, requested

    cursor, requested = evaluate(None)
    assert requested == set()  # nothing landed yet
    # every department but JiShiBan has landed (their schedules ran)
    landed = of("raw") - {raw_key(e) for e in late}
    _land(instance, landed, day)
    cursor, requested = evaluate(cursor)
    assert requested == of("standardised") - {standardised_key(e) for e in late}
    _land(instance, requested, day)
    cursor, requested = evaluate(cursor)
    # "as of D" is every partition up to D: the base of 3 June waits for the merge of 2 June
    assert requested == set()
    _land(instance, of("base"), "2025-06-02")
    cursor, requested = evaluate(cursor)
    # the base tables whose every input is standardised (their blocking checks passed), and in the same tick
    # (one run, in the graph's order) the scenarios whose inputs are all there then, with their fairness audits:
    # not the certificate verification (its requests are not delivered yet), nor the scorecard (it waits for
    # JiShiBan's dataset)
    certificates = dg.AssetKey(["scenario", "certificate_verification"])
    waiting = {dg.AssetKey(["base", "verification_request"]), certificates,
               dg.AssetKey(["fairness", "certificate_verification"])}
    assert requested == (of("base") | of("scenario") | of("fairness")) - waiting
    _land(instance, requested, day)
    cursor, requested = evaluate(cursor)
    assert requested == set()  # each once

    # JiShiBan's delivery lands: its layers follow in one tick (one run, in the graph's order: no check blocks — a
    # broken partition is held and the day flows on without its rows), the certificate verification with them
    _land(instance, {raw_key(e) for e in late}, day)
    cursor, requested = evaluate(cursor)
    assert requested == {standardised_key(e) for e in late} | {dg.AssetKey(["quality", "scorecard"])} | waiting
    _land(instance, requested, day)
    cursor, requested = evaluate(cursor)
    assert requested == set()

    # A re-delivery: its standardised partition and everything after it, in one tick (one run, in which the
    # standardised step's blocking check guards the steps after it).
    permits = next(e for e in catalogue().entries if e.id == "transport.road_transport_permits")
    _land(instance, {raw_key(permits)}, day)
    cursor, requested = evaluate(cursor)
    assert {standardised_key(permits), dg.AssetKey(["base", "road_transport_permit"]),
            dg.AssetKey(["scenario", "commercial_vehicle_risk"])} <= requested


def test_a_held_partition_does_not_stop_the_day(env):
    """A held standardised partition (its ``held`` check failed: written empty, none of its rows flow) holds back
    nothing else: every base table and every scenario of the day runs, those it feeds too (without its rows)."""
    defs, instance = env["defs"], env["instance"]
    graph = defs.resolve_asset_graph()
    keys = graph.materializable_asset_keys
    day, when = "2025-06-04", datetime(2025, 6, 5, 7, 30, tzinfo=SHANGHAI)
    permits = standardised_key(next(e for e in catalogue().entries if e.id == "transport.road_transport_permits"))

    def evaluate(cursor):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=when, cursor=cursor)
        return result.cursor, {k for k in keys if result.get_num_requested(k)}

    cursor, _ = evaluate(None)
    _land(instance, {k for k in keys if k.path[0] == "base"}, "2025-06-03")  # the day before is merged
    _land(instance, {k for k in keys if k.path[1:2] == ["raw"]}, day)
    cursor, requested = evaluate(cursor)
    # one run for the whole day, whatever its standardised steps will find: no check of theirs can stop the rest
    base = {k for k in keys if k.path[0] == "base"}
    fed = {k for k in base if permits in graph.get(k).parent_keys}
    assert fed and dg.AssetKey(["base", "road_transport_permit"]) in fed
    assert permits in requested and base <= requested  # every base table, those the permits feed too
    assert {dg.AssetKey(["scenario", "commercial_vehicle_risk"]),
            dg.AssetKey(["scenario", "budget_staff_basic_info"])} <= requested
    # the run: the road transport permits' partition was held (its held check failed), everything else landed
    _land(instance, requested - {permits}, day)
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=permits, partition=day))
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(asset_key=permits, check_name=HELD_CHECK, passed=False, partition=day)
    )
    cursor, requested = evaluate(cursor)
    assert requested == set()  # nothing waits on it, nothing runs twice


# ---------------------------------------------------------------------------------------------------------
# File arrival


def test_a_new_file_is_requested_once(env):
    deliver(env["sources"], *VEHICLES, "2025-06-03")
    first = tick(env, None)
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    assert request.partition_key == "2025-06-03"
    assert request.asset_selection == [dg.AssetKey(["traffic_police", "raw", "motor_vehicles"])]
    assert request.job_name == load_job_name("traffic_police")
    assert request.run_key.startswith("traffic_police.motor_vehicles:2025-06-03:")
    assert json.loads(first.cursor)["files"]  # the cursor is JSON and names the file

    # The same file again: nothing. Touched without a change: nothing either.
    again = tick(env, first.cursor)
    assert again.run_requests == [] and again.skip_message
    path = env["sources"] / "traffic_police" / "motor_vehicles" / "motor_vehicles_20250603.csv"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    touched = tick(env, again.cursor)
    assert touched.run_requests == []

    # A second delivery (another day, another format) and a re-delivery with new content: one request each.
    deliver(env["sources"], "transport", "road_transport_permits", "xlsx", "2025-06-04")
    path.write_bytes(path.read_bytes() + b"\n")
    more = tick(env, touched.cursor)
    assert sorted((r.run_key.split(":")[0], r.partition_key) for r in more.run_requests) == [
        ("traffic_police.motor_vehicles", "2025-06-03"),
        ("transport.road_transport_permits", "2025-06-04"),
    ]
    assert request.run_key not in {r.run_key for r in more.run_requests}


def test_files_that_are_no_deliveries_are_not_requested(env):
    folder = env["sources"] / "traffic_police" / "motor_vehicles"
    folder.mkdir(parents=True)
    (folder / "motor_vehicles_20250603.csv.part").write_bytes(b"x")  # still being copied
    (folder / "notes.txt").write_text("x")
    (folder / "motor_vehicles_20250631.csv").write_bytes(b"x")  # no such day
    (folder / "motor_vehicles_20250530.csv").write_bytes(b"x")  # before the first partition
    future = datetime.now(SHANGHAI).date() + timedelta(days=400)
    (folder / f"motor_vehicles_{future:%Y%m%d}.csv").write_bytes(b"x")  # its partition does not exist yet
    result = tick(env, None)
    assert result.run_requests == []
    # the future file is not marked as handled: it is requested once its day has become a partition
    assert not any(future.strftime("%Y%m%d") in name for name in json.loads(result.cursor)["files"])


def test_a_file_already_landed_with_the_same_content_is_not_requested(env):
    deliver(env["sources"], "transport", "road_transport_permits", "xlsx", "2025-06-02")
    job = env["defs"].resolve_job_def(load_job_name("transport"))
    assert job.execute_in_process(partition_key="2025-06-02", instance=env["instance"]).success
    assert tick(env, None).run_requests == []  # the schedule got there first
    # new content for the same day is a new delivery
    deliver(env["sources"], "transport", "road_transport_permits", "xlsx", "2025-06-03")
    shutil.copyfile(
        env["sources"] / "transport" / "road_transport_permits" / "road_transport_permits_20250603.xlsx",
        env["sources"] / "transport" / "road_transport_permits" / "road_transport_permits_20250602.xlsx",
    )
    requested = tick(env, None).run_requests
    assert sorted(r.partition_key for r in requested) == ["2025-06-02", "2025-06-03"]


def test_a_providers_delivery_file_is_requested(tmp_path):
    """A dataset of many providers: each delivers into its own folder below the dataset's; a new file there is a
    delivery of the dataset's day like any other."""
    sources = tmp_path / "sources"
    county = {"code": "220102", "division": "220102", "level": "county", "name": "南关区", "parent": "220100",
              "datasets": ["traffic_police.motor_vehicles"]}
    registry = [{"code": "220000", "division": "220000", "level": "province", "name": "吉林省"},
                {"code": "220100", "division": "220100", "level": "city", "name": "长春市", "parent": "220000"}, county]
    sources.mkdir()
    (sources / "providers.yaml").write_text(json.dumps({"providers": registry}, ensure_ascii=False), encoding="utf-8")
    settings = _settings(sources, tmp_path / "data", tmp_path / "home")
    folder = sources / "traffic_police" / "motor_vehicles" / "220102"
    folder.mkdir(parents=True)
    shutil.copyfile(SAMPLE / "traffic_police" / "motor_vehicles" / "motor_vehicles_20250603.csv",
                    folder / "motor_vehicles_20250603.csv")
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        env = {"defs": build_definitions(settings), "instance": instance,
               "resource": PipelineSettings.from_settings(settings)}
        result = tick(env, None)
    assert [(r.run_key.split(":")[0], r.partition_key) for r in result.run_requests] == [
        ("traffic_police.motor_vehicles", "2025-06-03")]
    assert result.run_requests[0].tags["source_file"] == "traffic_police/motor_vehicles/220102/motor_vehicles_20250603.csv"


def test_the_requested_run_lands_the_delivery(env):
    deliver(env["sources"], *VEHICLES, "2025-06-05")
    (request,) = tick(env, None).run_requests
    job = env["defs"].resolve_job_def(request.job_name)
    result = job.execute_in_process(
        partition_key=request.partition_key, instance=env["instance"], asset_selection=request.asset_selection
    )
    assert result.success
    landed = env["settings"].lake_dir / "raw" / "traffic_police" / "motor_vehicles" / "2025-06-05.parquet"
    assert landed.exists()
    # only the requested dataset ran
    keys = [e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert keys == [dg.AssetKey(["traffic_police", "raw", "motor_vehicles"])]


# ---------------------------------------------------------------------------------------------------------
# Run failure


def test_alerts_mask_id_numbers_and_usccs_with_the_redaction_service():
    text = "row 3: 220102199003071234 and 91220101MA0Y3XXX7L, date 20250602, 15-digit 220102900307123"
    masked = mask_free_text(text)
    assert "220102199003071234" not in masked and "220102********1234" in masked
    assert "91220101MA0Y3XXX7L" not in masked and "912201********XX7L" in masked
    assert "220102900307123" not in masked
    assert "20250602" in masked  # dates are no identifiers


def test_a_failed_run_writes_an_alert_naming_dataset_partition_and_reason(tmp_path, capfd):
    # The front-end database cannot be reached (its file is missing): a source unavailable fails the landing (a
    # broken delivery would be held instead). The sources directory's path holds an ID number, so the error
    # message carries one.
    sources = tmp_path / "220102199003071234" / "sources"
    sources.mkdir(parents=True)
    settings = _settings(sources, tmp_path / "data", tmp_path / "home")
    defs = build_definitions(settings)
    job = defs.resolve_job_def(load_job_name("social_security"))
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        result = job.execute_in_process(partition_key="2025-06-02", instance=instance, raise_on_error=False)
        assert not result.success
        with (
            dg.build_run_status_sensor_context(
                sensor_name=FAILURE_SENSOR,
                dagster_event=result.get_run_failure_event(),
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                resources={"settings": PipelineSettings.from_settings(settings)},
            ) as context
        ):
            capfd.readouterr()
            defs.resolve_sensor_def(FAILURE_SENSOR)(context)
            logged = "".join(capfd.readouterr())

    lines = (settings.data_dir / "alerts" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    alert = json.loads(lines[0])
    frontdb = [f"social_security/raw/{e.dataset.name}" for e in catalogue().entries
               if e.department.department == "social_security" and e.dataset.format.kind == "frontdb"]
    assert alert["datasets"] == sorted(frontdb)  # not the datasets that landed fine ("no delivery")
    assert alert["kind"] == "run_failed" and alert["partition"] == "2025-06-02"
    assert alert["job"] == load_job_name("social_security")
    assert alert["run_id"] == result.run_id
    assert "the database file does not exist" in alert["reason"]
    assert "exchange.sqlite" in alert["reason"]
    assert "\n" not in alert["reason"]
    assert "220102199003071234" not in lines[0] and "220102********1234" in alert["reason"]
    assert "social_security/raw/employers" in logged and "2025-06-02" in logged
    assert "220102199003071234" not in logged
