"""The operations layer, generated from the catalogue: one daily schedule per department, the file-arrival
sensor on the sources directory, and the run-failure alert.

- **Schedules**: ``<department>_daily`` runs the job ``<department>_load`` (the department's raw assets) for
  the previous day's partition at the department's catalogue update time (Asia/Shanghai). A department whose
  datasets are due at different times is loaded once, at the latest of them, when all of them are due.
- **File arrival**: ``source_file_arrival`` watches ``<sources>/<department>/<dataset>/<dataset>_YYYYMMDD.<ext>``
  and requests that one raw partition when a file appears or changes. Its cursor (JSON) holds every file it
  has handled with its modification time, size and SHA-256; the run key is
  ``<dataset>:<day>:<sha256>:<mtime_ns>``: a file touched without a change is not requested again, a
  re-delivery is, and a file whose content is already landed (by the schedule) is not requested at all.
- **Run failure**: ``run_failure_alert`` appends one JSON line per failed run to ``<data>/alerts/alerts.jsonl``
  naming the asset keys of the failed steps, the partition and the reason (the error's first line, personal values
  masked by ``privacy.redaction``), and logs it.
- **The layers after the raw landing** (standardised, the quality scorecard, base, scenarios): declarative
  automation, ``AFTER_INPUTS`` on every asset but the deliveries and their raw landing (``automate``): an asset's partition of the latest
  day runs once all of its inputs of that day are there (or requested in the same run) and none of them is in
  progress; it runs again when an input is updated (a re-delivery). No check blocks: a broken partition is held
  (``quality/holds.py``) and the day flows on without its rows. So a scenario runs after its inputs without a
  time of its own: the clock is the deliveries' (the schedules above), everything after them follows the data.
  Earlier days are a backfill's business (``in_latest_time_window``).

Everything is derived from the catalogue entries passed in, so nothing here lists assets by hand.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import dagster as dg

from jilin_pipelines.alerts import ALERTS_FILE, append_alert, now_utc  # noqa: F401 - ALERTS_FILE: re-exported
from jilin_pipelines.catalogue import Entry
from jilin_pipelines.catalogue.models import FILE_EXTENSIONS
from jilin_pipelines.defs.partitions import DAILY, TIMEZONE
from jilin_pipelines.defs.keys import raw_key
from jilin_pipelines.defs.resources import PipelineSettings
from jilin_pipelines.privacy.redaction import mask_free_text
from jilin_pipelines.settings import Settings
from jilin_pipelines.raw import delivery_files, reads_over_http
from jilin_pipelines.sources.layout import file_sha256

FILE_SENSOR = "source_file_arrival"
FAILURE_SENSOR = "run_failure_alert"
#: At most this many run requests per file-sensor tick; the rest are picked up by the next ticks.
MAX_REQUESTS_PER_TICK = 100
CURSOR_VERSION = 1


#: When a partition of a layer after the raw landing runs: Dagster's ``eager`` (the latest day, once no input of
#: that day is missing or in progress, again when an input updates), and only when the inputs' blocking checks
#: passed (none blocks today: a broken standardised partition is held, written empty, and the day flows on).
AFTER_INPUTS = (dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()).with_label(
    "after_inputs"
)


#: Layers not automated: the departments' deliveries (external, produced outside the platform) and their raw
#: landing (its department's schedule, and the file-arrival sensor, run it).
CLOCK_LAYERS = ("source", "raw")


def automated(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The asset with its automation condition: none for the deliveries and their raw landing, ``AFTER_INPUTS``
    for every layer after them."""
    if spec.tags.get("layer") in CLOCK_LAYERS:
        return spec
    return spec.replace_attributes(automation_condition=AFTER_INPUTS)


def automate(assets: list) -> list:
    """Every asset of the code location with its automation condition (``automated``)."""
    return list(dg.map_asset_specs(automated, assets))


def load_job_name(department: str) -> str:
    return f"{department}_load"


def schedule_name(department: str) -> str:
    return f"{department}_daily"


def _by_department(entries) -> dict[str, list[Entry]]:
    grouped: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.department.department].append(entry)
    return dict(grouped)


def department_update_time(entries: list[Entry]) -> tuple[int, int]:
    """The department's daily load time: the latest ``update_time`` of its datasets (all are due by then)."""
    latest = max(e.dataset.update_time for e in entries)  # "HH:MM" strings sort as times
    hour, minute = latest.split(":")
    return int(hour), int(minute)


@cache
def _load_job(department: str, keys: tuple[dg.AssetKey, ...]) -> dg.UnresolvedAssetJobDefinition:
    # Cached: the schedule and the file sensor must target the very same job object.
    return dg.define_asset_job(
        load_job_name(department),
        selection=dg.AssetSelection.assets(*keys),
        partitions_def=DAILY,
        tags={"department": department},
        description=f"The raw landing of every dataset of {department} for one day.",
    )


def load_jobs(entries) -> dict[str, dg.UnresolvedAssetJobDefinition]:
    """One job per department over its raw assets, keyed by department."""
    return {
        dep: _load_job(dep, tuple(sorted((raw_key(e) for e in dep_entries), key=lambda k: k.path)))
        for dep, dep_entries in _by_department(entries).items()
    }


def previous_day(job: dg.UnresolvedAssetJobDefinition, when: datetime) -> dg.RunRequest | dg.SkipReason:
    """What a department's tick at ``when`` loads: the previous day (Asia/Shanghai) — skipped when that day is no
    partition (after ``JILIN_PARTITIONS_END``, the committed sample's week: not its last day again every day)."""
    day = (when.astimezone(ZoneInfo(TIMEZONE)) - timedelta(days=1)).date()
    first, end = DAILY.start.date(), DAILY.end
    if day < first or (end is not None and day >= end.date()):
        last = (end - timedelta(days=1)).date() if end is not None else "today"
        return dg.SkipReason(f"{day} is not a partition: the partitions run from {first} to {last} "
                             "(JILIN_PARTITIONS_START, JILIN_PARTITIONS_END)")
    key = day.isoformat()
    return job.run_request_for_partition(partition_key=key, run_key=key, tags={"trigger": "schedule"})


def build_schedules(entries) -> list:
    """One schedule per department: the previous day's partition at the department's catalogue update time."""
    jobs = load_jobs(entries)
    schedules = []
    for dep, dep_entries in _by_department(entries).items():
        hour, minute = department_update_time(dep_entries)
        due = ", ".join(f"{e.dataset.name} {e.dataset.update_time}" for e in dep_entries)
        job = jobs[dep]

        @dg.schedule(
            name=schedule_name(dep),
            cron_schedule=f"{minute} {hour} * * *",
            execution_timezone=TIMEZONE,
            job=job,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=(
                f"The daily load of {dep}: the previous day's partition at {hour:02d}:{minute:02d} {TIMEZONE}, "
                f"when every delivery is due ({due})."
            ),
        )
        def _tick(context: dg.ScheduleEvaluationContext, job=job):
            return previous_day(job, context.scheduled_execution_time or datetime.now(ZoneInfo(TIMEZONE)))

        schedules.append(_tick)
    return schedules


# ---------------------------------------------------------------------------------------------------------
# File arrival


def _read_cursor(cursor: str | None) -> dict[str, list]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    return data.get("files", {}) if isinstance(data, dict) and data.get("v") == CURSOR_VERSION else {}


def _write_cursor(files: dict[str, list]) -> str:
    return json.dumps({"v": CURSOR_VERSION, "files": dict(sorted(files.items()))}, separators=(",", ":"))


def _landed_sha256(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> str | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get("source_sha256")
    return getattr(value, "value", None)


@dataclass(frozen=True)
class DeliveryFile:
    """A file named as a delivery of a watched dataset: ``day`` its delivery day, None when the name holds no valid
    date; ``rel`` its path under the sources directory, the key of the sensor's cursor."""

    entry: Entry
    file: Path
    day: date | None
    rel: str


def _delivery_files(s: Settings, watched: list[Entry]) -> Iterator[DeliveryFile]:
    """The files named as deliveries in the watched datasets' folders (and their providers' folders) of the sources
    directory, by name (``raw.delivery_files``); a dataset delivered over HTTP has none."""
    for entry in watched:
        if reads_over_http(entry, s):
            continue
        for path, day in delivery_files(s, entry):
            yield DeliveryFile(entry, path, day, path.relative_to(s.sources_dir).as_posix())


def _arrival(context: dg.SensorEvaluationContext, found: DeliveryFile, seen: dict[str, list],
             last_key: str | None, room: bool) -> dg.RunRequest | None:
    """The run request for a delivery file that is new or changed (None: nothing to request now), recording the
    file in the cursor's ``seen`` once handled. A file whose day has no partition yet, or that finds no ``room`` in
    this tick, is left unrecorded for a later tick."""
    rel = found.rel
    st = found.file.stat()
    previous = seen.get(rel)
    if previous and previous[0] == st.st_mtime_ns and previous[1] == st.st_size:
        return None  # unchanged since it was handled
    if found.day is None:
        context.log.warning(f"{rel}: the file name holds no valid date; ignored")
        seen[rel] = [st.st_mtime_ns, st.st_size, None]
        return None
    partition, first_day = found.day.isoformat(), DAILY.start.date()
    if found.day < first_day:
        context.log.warning(f"{rel}: {partition} is before the first partition {first_day}; ignored")
        seen[rel] = [st.st_mtime_ns, st.st_size, None]
        return None
    if last_key is None or partition > last_key:
        return None  # the day's partition does not exist yet: left for a later tick
    if not room:
        return None  # not recorded: picked up by the next tick
    sha = file_sha256(found.file)
    seen[rel] = [st.st_mtime_ns, st.st_size, sha]
    if previous and previous[2] == sha:
        return None  # touched, same content
    key = raw_key(found.entry)
    if _landed_sha256(context.instance, key, partition) == sha:
        return None  # already landed with this very content (e.g. by the daily schedule)
    return dg.RunRequest(
        # The content and its delivery time: a touched file is no new request, a re-delivery is.
        run_key=f"{found.entry.id}:{partition}:{sha}:{st.st_mtime_ns}",
        job_name=load_job_name(found.entry.department.department),
        partition_key=partition,
        asset_selection=[key],
        tags={"trigger": "file_arrival", "source_file": rel, "source_sha256": sha},
    )


def file_sensor(entries) -> dg.SensorDefinition:
    """The file-arrival sensor over the catalogue's file datasets (front-end database datasets have no files: the
    schedule loads them): a run request per new or changed delivery file, at most ``MAX_REQUESTS_PER_TICK``."""
    watched = [e for e in entries if e.dataset.format.kind in FILE_EXTENSIONS]
    jobs = load_jobs(entries)

    @dg.sensor(
        name=FILE_SENSOR,
        jobs=[jobs[dep] for dep in sorted({e.department.department for e in watched})],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "Requests the raw partition of a delivery when its file appears (or changes) under the sources "
            "directory: <sources>/<department>/<dataset>/[<provider>/]<dataset>_YYYYMMDD.<ext>. Stopped by default: on its "
            "first tick it requests every file not landed yet with the same content."
        ),
    )
    def source_file_arrival(context: dg.SensorEvaluationContext, settings: PipelineSettings):
        s = settings.get()
        seen = _read_cursor(context.cursor)
        last_key = DAILY.get_last_partition_key()
        requests: list[dg.RunRequest] = []
        present: set[str] = set()
        for found in _delivery_files(s, watched):
            present.add(found.rel)
            request = _arrival(context, found, seen, last_key, room=len(requests) < MAX_REQUESTS_PER_TICK)
            if request is not None:
                requests.append(request)
        # Forget files that are gone, so the cursor stays the size of the sources directory.
        seen = {rel: v for rel, v in seen.items() if rel in present}
        if not requests:
            return dg.SensorResult(skip_reason="no new or changed delivery files", cursor=_write_cursor(seen))
        context.log.info(f"{len(requests)} new delivery file(s): " + ", ".join(":".join(r.run_key.split(":")[:2]) for r in requests))
        return dg.SensorResult(run_requests=requests, cursor=_write_cursor(seen))

    return source_file_arrival


# ---------------------------------------------------------------------------------------------------------
# Run failure

def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _user_message(error) -> str:
    """The message of the user's exception: Dagster's wrappers around it (``Dagster…Error`` with a cause) are
    skipped, and what the user's exception was raised from is not: its message is the one meant for people."""
    while (
        error is not None
        and error.cause is not None
        and error.cls_name
        and error.cls_name.startswith("Dagster")
    ):
        error = error.cause
    return _first_line(getattr(error, "message", None))


def _step_assets(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, list[str]]:
    """Step key → the asset keys it materialises, from the run's execution plan snapshot."""
    if not run.execution_plan_snapshot_id:
        return {}
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return {
        step.key: [o.properties.asset_key.to_user_string() for o in step.outputs if o.properties and o.properties.asset_key]
        for step in plan.steps
    }


def _partition(run: dg.DagsterRun) -> str | None:
    tags = run.tags
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        return start if start == end else f"{start}...{end}"
    return None


def failure_alert(context: dg.RunFailureSensorContext) -> dict:
    """The alert record of a failed run: datasets (asset keys of the failed steps), partition, reason."""
    return run_failure_record(context.instance, context.dagster_run, context.get_step_failure_events(),
                              context.failure_event.message)


def run_failure_record(instance: dg.DagsterInstance, run: dg.DagsterRun, step_failures, failure_message: str | None) -> dict:
    """The alert record of a failed run, from its step failure events and the run's failure message: what the
    run-failure sensor writes for daemon runs and ``jilin-pipelines run`` for its own."""
    step_assets = _step_assets(instance, run)
    datasets: list[str] = []
    reasons: list[str] = []
    failed_steps: list[str] = []
    for event in step_failures:
        failed_steps.append(event.step_key)
        datasets += step_assets.get(event.step_key, [])
        data = event.event_specific_data
        reason = _user_message(getattr(data, "error", None)) or _first_line(event.message)
        if reason and reason not in reasons:
            reasons.append(reason)
    if not failed_steps:  # the run failed outside any step (launch, resources, a killed process)
        datasets = sorted(k.to_user_string() for k in (run.asset_selection or ()))
        reasons = [_first_line(failure_message) or "the run failed"]
    return {
        "time": now_utc(),
        "kind": "run_failed",
        "run_id": run.run_id,
        "job": run.job_name,
        "datasets": sorted(set(datasets)),
        "partition": _partition(run),
        "failed_steps": sorted(failed_steps),
        "reason": mask_free_text("; ".join(reasons)),
    }


def failure_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=FAILURE_SENSOR,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Appends an alert (datasets, partition, reason) to <data>/alerts/alerts.jsonl for every failed run.",
    )
    def run_failure_alert(context: dg.RunFailureSensorContext, settings: PipelineSettings):
        record = failure_alert(context)
        path = append_alert(settings.get().data_dir, record)
        context.log.error(
            f"run {record['run_id'][:8]} of {record['job']} failed: {', '.join(record['datasets']) or 'no asset step'}"
            f" [{record['partition'] or 'unpartitioned'}]: {record['reason']} (alert written to {path})"
        )

    return run_failure_alert


AUTOMATION_SENSOR = "after_inputs_automation"


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates ``AFTER_INPUTS``, running by default: Dagster's own default sensor is created
    stopped, and with it stopped the schedules would land raw data that nothing after them ever ran on."""
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Runs each layer after the raw landing once its inputs of the latest day are there (the "
                    "automation condition after_inputs): standardised, scorecard, base, scenarios, fairness.",
    )


def build_sensors(entries) -> list:
    """The file-arrival sensor over the catalogue's file datasets, the run-failure alert and the automation."""
    return [file_sensor(entries), failure_sensor(), automation_sensor()]
