"""Our pipeline, as ``make run`` runs it: ``runner.run_days`` over every day of the sources, through Dagster's
in-process execution, on a fresh data directory and DAGSTER_HOME; then the time of every step from the run's
event log (STEP_START → STEP_SUCCESS), summed per stage. A stage is the layer of the asset group the step
materialises: ``<department>_raw`` → raw, ``<department>_standardised`` → standardised, ``quality``, ``base``,
``scenario_*`` → scenarios; what the runs take beyond their steps is ``dagster_overhead``.
"""

from __future__ import annotations

import io
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ENV_KEYS = ("JILIN_SOURCES_DIR", "JILIN_DATA_DIR", "DAGSTER_HOME", "JILIN_BASE_DB_URL", "JILIN_SOURCES_API_URL",
            "JILIN_SOURCES_API_TOKEN", "JILIN_SOCIAL_SECURITY_DB_URL")
OVERHEAD = "dagster_overhead"


def stage_of(group: str | None) -> str:
    if not group:
        return "other"
    if group == "raw" or group.endswith("_raw"):
        return "raw"
    if group == "standardised" or group.endswith("_standardised"):
        return "standardised"
    if group.startswith("scenario"):
        return "scenarios"
    return group  # quality, base, and whatever else the job has


@dataclass
class OursResult:
    seconds: float  # the whole run_days call
    exit_code: int
    output: str
    stage_seconds: dict[str, float] = field(default_factory=dict)
    day_seconds: list[float] = field(default_factory=list)  # each run (day order), RUN_START → RUN_SUCCESS/FAILURE
    step_seconds: dict[str, float] = field(default_factory=dict)  # per step key, summed over the days
    landed_rows: dict[str, int] = field(default_factory=dict)  # delivered rows landed per dataset
    failed_steps: list[str] = field(default_factory=list)
    step_intervals: list[tuple[str, str, float, float]] = field(default_factory=list)  # (stage, step, start, end)


@contextmanager
def environment(values: dict[str, str], keys: tuple[str, ...] = ENV_KEYS):
    """For the block: ``values`` in the environment and every other variable of ``keys`` unset; then as before."""
    saved = {k: os.environ.get(k) for k in (*keys, *values)}
    try:
        for k in keys:
            os.environ.pop(k, None)
        os.environ.update(values)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(sources_dir: Path, data_dir: Path, dagster_home: Path, base_db_url: str,
        engine: str = "embedded") -> OursResult:
    from jilin_pipelines.runner import run_days

    env = {"JILIN_SOURCES_DIR": str(sources_dir), "JILIN_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(dagster_home),
           "JILIN_BASE_DB_URL": base_db_url, "JILIN_ENGINE": engine}
    with environment(env):
        out = io.StringIO()
        began = time.perf_counter()
        code = run_days(start=None, end=None, force=True, out=out)
        took = time.perf_counter() - began
        result = OursResult(seconds=took, exit_code=code, output=out.getvalue())
        _timings(result)
        _landed(result)
    return result


def _timings(result: OursResult) -> None:
    import dagster as dg

    from jilin_pipelines.definitions import build_definitions
    from jilin_pipelines.settings import Settings

    T = dg.DagsterEventType  # noqa: N806
    graph = build_definitions(Settings.from_env()).resolve_asset_graph()
    stage_of_key = {key: stage_of(graph.get(key).group_name) for key in graph.get_all_asset_keys()}
    stages: dict[str, float] = {}
    runs: list[tuple[float, float]] = []
    with dg.DagsterInstance.get() as instance:
        for run in instance.get_runs():
            starts, steps, step_stage, spans = {}, {}, {}, {}
            run_start = run_end = None
            for record in instance.all_logs(run.run_id):
                ev = record.dagster_event
                if ev is None:
                    continue
                kind = ev.event_type
                if kind == T.RUN_START:
                    run_start = record.timestamp
                elif kind in (T.RUN_SUCCESS, T.RUN_FAILURE):
                    run_end = record.timestamp
                elif kind == T.STEP_START:
                    starts[ev.step_key] = record.timestamp
                elif kind in (T.STEP_SUCCESS, T.STEP_FAILURE) and ev.step_key in starts:
                    steps[ev.step_key] = record.timestamp - starts[ev.step_key]
                    spans[ev.step_key] = (starts[ev.step_key], record.timestamp)
                    if kind == T.STEP_FAILURE:
                        result.failed_steps.append(ev.step_key)
                elif kind == T.ASSET_MATERIALIZATION and ev.step_key:
                    key = ev.event_specific_data.materialization.asset_key
                    step_stage.setdefault(ev.step_key, stage_of_key.get(key, "other"))
            for step, (began, ended) in spans.items():
                result.step_intervals.append((step_stage.get(step, "other"), step, began, ended))
            for step, seconds in steps.items():
                stage = step_stage.get(step, "other")
                stages[stage] = stages.get(stage, 0.0) + seconds
                result.step_seconds[step] = result.step_seconds.get(step, 0.0) + seconds
            if run_start is not None and run_end is not None:
                runs.append((run_start, run_end - run_start))
    result.day_seconds = [seconds for _, seconds in sorted(runs)]  # runs are listed newest first
    # what the process spent outside the steps: definitions, instance, event log, run bookkeeping
    stages[OVERHEAD] = max(0.0, result.seconds - sum(stages.values()))
    result.stage_seconds = stages


def _landed(result: OursResult) -> None:
    from jilin_pipelines.catalogue import catalogue
    from jilin_pipelines.raw import days_in_sources, landed_summary
    from jilin_pipelines.lake import partition_path
    from jilin_pipelines.settings import Settings

    settings = Settings.from_env()
    entries = list(catalogue().entries)
    days = days_in_sources(settings, entries)
    for entry in entries:
        n = 0
        for day in days:
            facts = landed_summary(partition_path(entry, day, settings)) or {}
            n += int(facts.get("delivered_rows", 0))
        result.landed_rows[entry.id] = n
