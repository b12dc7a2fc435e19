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
    FAILURE_SENSOR,
    FILE_SENSOR,
    load_job_name,
    mask_identifiers,
    schedule_name,
)
from jilin_pipelines.defs.raw_assets import raw_key
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

        # The tick at the catalogue time on 3 June (Shanghai) loads 2 June - also across the UTC date line.
        for tick_day, expected in (("2025-06-03", "2025-06-02"), ("2025-07-01", "2025-06-30")):
            y, m, d = (int(x) for x in tick_day.split("-"))
            when = datetime(y, m, d, hour, minute, tzinfo=SHANGHAI)
            data = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
            assert [r.partition_key for r in data.run_requests] == [expected], (department, tick_day)

        # ... and the job it runs lands exactly the department's raw datasets.
        job = defs.resolve_job_def(load_job_name(department))
        assert set(job.asset_layer.executable_asset_keys) == {raw_key(e) for e in entries}


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


def test_mask_identifiers_hides_id_numbers_and_usccs():
    text = "row 3: 220102199003071234 and 91220101MA0Y3XXX7L, date 20250602, 15-digit 220102900307123"
    masked = mask_identifiers(text)
    assert "220102199003071234" not in masked and "220102********1234" in masked
    assert "91220101MA0Y3XXX7L" not in masked and "912201********XX7L" in masked
    assert "220102900307123" not in masked
    assert "20250602" in masked  # dates are no identifiers


def test_a_failed_run_writes_an_alert_naming_dataset_partition_and_reason(tmp_path, capfd):
    # A sources directory whose path holds an ID number, so the error message carries one.
    sources = tmp_path / "220102199003071234" / "sources"
    deliver(sources, "transport", "road_transport_permits", "xlsx", "2025-06-02", content=b"this is no workbook")
    settings = _settings(sources, tmp_path / "data", tmp_path / "home")
    defs = build_definitions(settings)
    job = defs.resolve_job_def(load_job_name("transport"))
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
    assert alert["datasets"] == ["transport/raw/road_transport_permits"]  # not the dataset that landed fine
    assert alert["partition"] == "2025-06-02"
    assert alert["job"] == load_job_name("transport")
    assert alert["run_id"] == result.run_id
    assert "not a readable XLSX workbook" in alert["reason"]
    assert "road_transport_permits_20250602.xlsx" in alert["reason"]
    assert "\n" not in alert["reason"]
    assert "220102199003071234" not in lines[0] and "220102********1234" in alert["reason"]
    assert "transport/raw/road_transport_permits" in logged and "2025-06-02" in logged
    assert "220102199003071234" not in logged
