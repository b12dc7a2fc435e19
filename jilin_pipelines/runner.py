"""What ``jilin-pipelines run`` (and so ``make run``) does: materialise the main job through Dagster for
every day of the sources, on the instance at DAGSTER_HOME so the runs show in the UI, skipping days whose
sources are unchanged since their last materialisation, then print a summary per dataset."""

from __future__ import annotations

import time
from datetime import date
from typing import TextIO

import dagster as dg

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.raw import days_in_sources, landed_summary, landing_path, source_fingerprint
from jilin_pipelines.settings import Settings, ensure_dagster_home


# The console shows warnings (bad deliveries) and errors; the full event log is in the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> dict | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def day_is_current(instance: dg.DagsterInstance, job: dg.JobDefinition, day: date, settings: Settings) -> bool:
    """True when every asset of the job has a materialisation for the day and every raw landing recorded the
    same source fingerprint the sources have now."""
    from jilin_pipelines.defs.raw_assets import raw_key

    partition = day.isoformat()
    raw_keys = {}
    for entry in catalogue().entries:
        raw_keys[raw_key(entry)] = entry
    for key in job.asset_layer.executable_asset_keys:
        meta = _latest_metadata(instance, key, partition)
        if meta is None:
            return False
        entry = raw_keys.get(key)
        if entry is not None and meta.get("source_sha256") != source_fingerprint(entry, day, settings):
            return False
    return True


def summary_rows(settings: Settings, days: list[date]) -> list[tuple[str, int, int, int, int]]:
    """Per dataset over the days: rows delivered, landed, kept as unparseable, and quarantined so far."""
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.quality.quarantine import counts

    quarantined = counts(base_engine(settings.base_db_url))
    rows = []
    for entry in catalogue().entries:
        delivered = landed = unparseable = 0
        for day in days:
            facts = landed_summary(landing_path(entry, day, settings)) or {}
            delivered += facts.get("delivered_rows", 0)
            landed += facts.get("landed_rows", 0)
            unparseable += facts.get("unparseable_rows", 0)
        rows.append((entry.id, delivered, landed, unparseable, quarantined.get(entry.id, 0)))
    return rows


def scenario_summary(settings: Settings, days: list[date]) -> list[tuple[str, dict[str, int]]]:
    """Per scenario, its decisions of the days by outcome (decision, result or risk; else the number of rows)."""
    import sqlalchemy as sa

    from jilin_pipelines.base.schema import metadata
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.scenarios import SCENARIOS
    from jilin_pipelines.scenarios.store import day_column

    engine = base_engine(settings.base_db_url)
    rows = []
    with engine.connect() as conn:
        for s in SCENARIOS:
            t = metadata().tables[s.output]
            outcome = next((t.c[c] for c in ("decision", "result", "risk") if c in t.c), None)
            when = t.c[day_column(s)].between(days[0], days[-1])
            if outcome is None:
                counts = {"rows": conn.execute(sa.select(sa.func.count()).where(when)).scalar_one()}
            else:
                result = conn.execute(sa.select(outcome, sa.func.count()).where(when).group_by(outcome).order_by(outcome))
                counts = {str(k): int(n) for k, n in result}
            rows.append((s.name, counts))
    return rows


def run_days(start: date | None, end: date | None, force: bool, out: TextIO) -> int:
    from jilin_pipelines.definitions import MAIN_JOB, build_definitions

    settings = Settings.from_env()
    ensure_dagster_home(settings)
    entries = list(catalogue().entries)
    found = days_in_sources(settings, entries)
    if not found and (start is None or end is None):
        out.write(f"no deliveries found in {settings.sources_dir}; give --start and --end to run anyway\n")
        return 1
    start = start or found[0]
    end = end or found[-1]
    if end < start:
        out.write(f"--end {end} is before --start {start}\n")
        return 2
    days = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]
    out.write(f"sources: {settings.sources_dir}\ndata: {settings.data_dir}\nDAGSTER_HOME: {settings.dagster_home}\n")
    out.write(f"days: {start} … {end} ({len(days)})\n")

    job = build_definitions(settings).resolve_job_def(MAIN_JOB)
    failed: list[str] = []
    with dg.DagsterInstance.get() as instance:
        for i, day in enumerate(days, 1):
            prefix = f"[{i}/{len(days)}] {day}"
            if not force and day_is_current(instance, job, day, settings):
                out.write(f"{prefix}: unchanged, skipped\n")
                out.flush()
                continue
            began = time.perf_counter()
            result = job.execute_in_process(
                partition_key=day.isoformat(), instance=instance, raise_on_error=False, run_config=QUIET
            )
            took = time.perf_counter() - began
            if result.success:
                out.write(f"{prefix}: run {result.run_id[:8]} succeeded in {took:.1f} s\n")
            else:
                failed.append(day.isoformat())
                steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
                out.write(f"{prefix}: run {result.run_id[:8]} FAILED ({', '.join(steps) or 'see the run in the UI'})\n")
            out.flush()

    out.write("\n{:<44}{:>11}{:>9}{:>13}{:>13}\n".format("dataset", "delivered", "landed", "unparseable", "quarantined"))
    for name, delivered, landed, unparseable, quarantined in summary_rows(settings, days):
        out.write(f"{name:<44}{delivered:>11}{landed:>9}{unparseable:>13}{quarantined:>13}\n")
    out.write("\n{:<44}{}\n".format("scenario", "decisions over the days"))
    for name, counts in scenario_summary(settings, days):
        out.write(f"{name:<44}{', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}\n")
    if failed:
        out.write(f"\n{len(failed)} day(s) failed: {', '.join(failed)} — open the runs in the UI (make ui)\n")
        return 1
    return 0
