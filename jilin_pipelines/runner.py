"""What ``jilin-pipelines run`` (and so ``make run``) does: materialise the main job through Dagster for every day of
the sources, on the instance at DAGSTER_HOME so the runs show in the UI, re-running only what is not current, then
print a summary per dataset, the held partitions and the scenarios' decisions.

**Current** means: every asset of the day materialised, the raw landings from the deliveries the sources hold now
(their fingerprints), each layer materialised after the layer it is made from, and the scenarios after the base of
every day up to theirs. So a run that died after the raw landing, a re-delivery, a release or a late change of an
earlier day is found and re-run — only the stale assets of a day and what follows from them; a later day whose
base changed underneath has its scenarios re-decided. Days are always brought current in order from the first day
of the sources: a run of a later day first runs the earlier days it depends on that are not current.

**One run at a time** on a data directory (a lock file; the next waits, saying for whom); a run whose process died
is found by the next one: marked failed, its concurrency slots and claims released, its temporary files removed.

**Held partitions** (``quality/holds.py``) do not fail a run: they are listed, and the exit code is 0 unless one of
our steps failed (1). A source that cannot be reached is reported for its day and the other days go on.
"""

from __future__ import annotations

from collections import Counter

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TextIO

import dagster as dg

from jilin_pipelines.catalogue import Entry, catalogue
from jilin_pipelines.lake import remove_dead_scratch
from jilin_pipelines.raw import days_in_sources, landed_summary, source_fingerprint, stray_files
from jilin_pipelines.lake import partition_path
from jilin_pipelines.settings import Settings, ensure_dagster_home
from jilin_pipelines.sources import DeliveryError
from jilin_pipelines.privacy.redaction import mask_free_text

# The console shows warnings (bad deliveries) and errors; the full event log is in the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
#: The tag of the runs this command makes (how the next one recognises a run whose process died).
RUNNER_TAG = "jilin/runner"
LOCK_FILE = ".run.lock"
#: How long a run waits for another run holding the data directory before giving up.
DEFAULT_WAIT_SECONDS = 6 * 3600
# ------------------------------------------------------------------------------------------------ one at a time


@contextmanager
def run_lock(settings: Settings, out: TextIO, wait_seconds: float) -> Iterator[bool]:
    """Hold the data directory's run lock (released by the kernel when the process dies, however it dies). Yields
    False when another run held it for longer than ``wait_seconds``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / LOCK_FILE
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            out.write(f"waiting for the run holding {path} ({holder}) to finish (at most {wait_seconds:.0f} s) …\n")
            out.flush()
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        out.write(f"gave up: {path} is still held by {holder}\n")
                        yield False
                        return
                    time.sleep(0.5)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        try:
            with _base_lock(settings, out, wait_seconds) as locked:
                yield locked
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def _base_lock(settings: Settings, out: TextIO, wait_seconds: float) -> Iterator[bool]:
    """On PostgreSQL, also a session advisory lock on the base database: runs over other data directories that
    share the base database wait too (no decision before the merges it depends on have committed)."""
    if not settings.base_db_url.startswith("postgresql"):
        yield True
        return
    import sqlalchemy as sa

    engine = sa.create_engine(settings.base_db_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    key = sa.text("SELECT pg_try_advisory_lock(hashtext('jilin_pipelines run'))")
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + wait_seconds
            said = False
            while not conn.execute(key).scalar_one():
                if not said:
                    out.write("waiting for another run on the same base database …\n")
                    out.flush()
                    said = True
                if time.monotonic() >= deadline:
                    out.write("gave up: another run still holds the base database\n")
                    yield False
                    return
                time.sleep(0.5)
            try:
                yield True
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext('jilin_pipelines run'))"))
    finally:
        engine.dispose()


def recover(instance: dg.DagsterInstance, settings: Settings, out: TextIO) -> None:
    """Under the run lock: every run this command started that did not finish died with its process. Mark it
    failed, release its concurrency slots and claims (a dead merge's ``base_merge`` slot would block every later
    run), and remove the temporary files of dead processes."""
    unfinished = instance.get_runs(dg.RunsFilter(
        tags={RUNNER_TAG: "run"},
        statuses=[dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
                  dg.DagsterRunStatus.CANCELING]))
    for run in unfinished:
        instance.report_run_failed(run, message="its process died before the run ended (found by the next run)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        out.write(f"recovered: run {run.run_id[:8]} of {run.tags.get('dagster/partition', '?')} had died; "
                  f"marked failed, its slots released\n")
    removed = remove_dead_scratch(settings.lake_dir)
    if removed:
        out.write(f"recovered: removed {removed} temporary file(s) of dead processes\n")


# ------------------------------------------------------------------------------------------------ what is current


@dataclass
class DayState:
    """What of one day is stale (to be re-run) and why; ``unreachable`` when a source could not be checked."""

    stale: set[dg.AssetKey] = field(default_factory=set)
    why: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    base_stamp: int = 0  # the newest base materialisation of the day (0: none)


class Layers:
    """The job's assets by layer, from the asset keys' layout (``defs/``): raw and standardised per dataset, the
    scorecard, the base tables, the scenarios (each with its input dataset, if any)."""

    def __init__(self, job: dg.JobDefinition, entries: list[Entry]):
        from jilin_pipelines.defs.keys import base_key
        from jilin_pipelines.defs.keys import fairness_key
        from jilin_pipelines.defs.keys import raw_key
        from jilin_pipelines.defs.keys import scenario_key
        from jilin_pipelines.defs.keys import SCORECARD_KEY, standardised_key
        from jilin_pipelines.base import base_config
        from jilin_pipelines.scenarios import SCENARIOS
        from jilin_pipelines.scenarios.store import input_dataset

        self.entries = entries
        self.raw = {e.id: raw_key(e) for e in entries}
        self.standardised = {e.id: standardised_key(e) for e in entries}
        self.scorecard = SCORECARD_KEY
        self.base = [base_key(t) for t in base_config().tables]
        self.scenarios = {scenario_key(s): (input_dataset(s.input) if s.input else None) for s in SCENARIOS}
        self.fairness = {fairness_key(s): scenario_key(s) for s in SCENARIOS if s.fairness is not None}
        self.all = set(job.asset_layer.executable_asset_keys)

    def downstream_of_standardised(self) -> set[dg.AssetKey]:
        return {self.scorecard, *self.base, *self.scenarios, *self.fairness}


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return records[0] if records else None


def _meta(record, name: str):
    """A metadata value of a materialisation record (None: no record, or no such entry)."""
    return getattr(record.asset_materialization.metadata.get(name), "value", None) if record else None


def _held_when_standardised(record) -> int:
    """How many holds the standardised materialisation recorded: 1 for a held partition, the providers held of a
    dataset of many."""
    status = _meta(record, "status")
    return 1 if status == "held" else int(_meta(record, "providers_held") or 0) if status == "providers held" else 0


def day_state(instance: dg.DagsterInstance, layers: Layers, day: date, settings: Settings, force: bool,
              base_before: int, held: dict[str, int]) -> DayState:
    """What of ``day`` must run (``force``: all of it) given the newest base materialisation of the days before
    (``base_before``, a storage id) and, per dataset, how many holds of its partition of the day are active now
    (the dataset's own, or its providers')."""
    partition = day.isoformat()
    state = DayState()
    records = {key: _latest(instance, key, partition) for key in layers.all}  # one read per asset
    stamp = {key: getattr(record, "storage_id", 0) for key, record in records.items()}
    for entry in layers.entries:
        raw = layers.raw[entry.id]
        record = records[raw]
        if force or record is None:
            state.stale.add(raw)
            continue
        try:
            now = source_fingerprint(entry, day, settings)
        except DeliveryError as exc:
            state.unreachable.append(f"{entry.id}: {exc}")
            continue
        landed = _meta(record, "source_sha256")
        if landed != now:
            state.stale.add(raw)
            state.why.append(f"{entry.id} re-delivered")
    for entry in layers.entries:
        std = layers.standardised[entry.id]
        if layers.raw[entry.id] in state.stale or stamp[std] <= stamp[layers.raw[entry.id]]:
            state.stale.add(std)
        elif held.get(entry.id, 0) < _held_when_standardised(records[std]):
            state.stale.add(std)  # held when standardised, released since: its rows flow now
            state.why.append(f"{entry.id} released")
    if any(layers.standardised[e.id] in state.stale for e in layers.entries):
        state.stale |= layers.downstream_of_standardised()
    newest_std = max(stamp[k] for k in layers.standardised.values())
    if stamp[layers.scorecard] <= newest_std:
        state.stale.add(layers.scorecard)
    if min(stamp[k] for k in layers.base) <= newest_std:
        state.stale |= {*layers.base, *layers.scenarios}
    state.base_stamp = max(stamp[k] for k in layers.base)
    for key, input_ds in layers.scenarios.items():
        own = max([state.base_stamp] + ([stamp[layers.standardised[input_ds]]] if input_ds else []))
        if key in state.stale or stamp[key] <= own:
            state.stale.add(key)
        elif stamp[key] <= base_before:  # decided before an earlier day's base changed: decide again
            state.stale.add(key)
            state.why.append("the base of an earlier day changed")
    for key, decided in layers.fairness.items():  # each scenario's audit after its decisions
        if decided in state.stale or stamp[key] <= stamp[decided]:
            state.stale.add(key)
    state.stale &= layers.all
    return state


# ------------------------------------------------------------------------------------------------ the summary


def unselectable_rows(settings: Settings, entries: list[Entry]) -> list[tuple[str, int, str]]:
    """Per front-end database table, the rows no day selects (``sources.frontdb.count_unselectable``)."""
    import sqlalchemy as sa

    from jilin_pipelines.sources.frontdb import count_unselectable

    found = []
    for fmt in {(e.dataset.format.table, e.dataset.format.day_column) for e in entries
                if e.dataset.format.kind == "frontdb"}:
        try:
            n = count_unselectable(settings.social_security_db_url, table=fmt[0], day_column=fmt[1])
        except (DeliveryError, sa.exc.SQLAlchemyError, UnicodeDecodeError):
            continue  # no database, not reachable or damaged: each day says so
        if n:
            found.append((fmt[0], n, fmt[1]))
    return sorted(found)


def summary_rows(settings: Settings, days: list[date]) -> list[tuple[str, int, int, int, int]]:
    """Per dataset over the days: rows delivered, landed, kept as unparseable, and quarantined so far."""
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.base.quarantine import counts

    quarantined = counts(base_engine(settings.base_db_url))
    rows = []
    for entry in catalogue().entries:
        delivered = landed = unparseable = 0
        for day in days:
            facts = landed_summary(partition_path(entry, day, settings)) or {}
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


def fairness_summary(settings: Settings, day: date) -> list[tuple[str, str]]:
    """The groups the fairness audit flagged on ``day``: (scenario, the group in words)."""
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.fairness import describe, stored

    rows = stored(base_engine(settings.base_db_url), day=day)
    return [(r["scenario"], describe(r)) for _, r in rows[rows["flagged"].astype(bool)].iterrows()]


def held_summary(settings: Settings, end: date) -> list:
    """The partitions still held up to ``end`` (``quality/holds.py``): every decision from their day on lacks them."""
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.quality.holds import holds

    return holds(base_engine(settings.base_db_url), end=end)


# ------------------------------------------------------------------------------------------------ the run


def _alert_failed_run(instance: dg.DagsterInstance, result, settings: Settings) -> None:
    """Write the failed run's alert as the run-failure sensor writes a daemon run's."""
    from jilin_pipelines.alerts import append_alert
    from jilin_pipelines.defs.automation import run_failure_record

    run = instance.get_run_by_id(result.run_id)
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    failure = next((e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"), None)
    append_alert(settings.data_dir, run_failure_record(instance, run, failures, failure.message if failure else None))


class Progress:
    """A line per finished step while a day runs (``instance.add_event_listener``: the run's events as they are
    stored): the step, the rows it materialised, its seconds and how many of the day's assets are done."""

    def __init__(self, out: TextIO, prefix: str, assets: int):
        self.out, self.prefix, self.assets = out, prefix, assets
        self.done = 0
        self.rows: dict[str, int] = {}

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            self.done += 1
            rows = event.event_specific_data.materialization.metadata.get("dagster/row_count")
            if rows is not None:
                self.rows[event.step_key] = self.rows.get(event.step_key, 0) + int(rows.value)
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            seconds = event.event_specific_data.duration_ms / 1000
            rows = self.rows.pop(event.step_key, None)
            self.out.write(f"{self.prefix}: {self.done}/{self.assets} assets · {event.step_key.replace('__', '/')}"
                           + (f" {rows:,} rows" if rows is not None else "") + f" in {seconds:.1f} s\n")
            self.out.flush()


class NothingToRun(Exception):
    """Why a run cannot start on the days asked for: the message for the console, and the command's exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _dates(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]


@dataclass(frozen=True)
class DaySpan:
    """The days a run brings current: ``start`` to ``end`` as asked, checked from ``first`` (the sources' first day,
    when earlier: the days the range depends on)."""

    first: date
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        """The days asked for."""
        return _dates(self.start, self.end)

    @property
    def checked(self) -> list[date]:
        """The days checked, in order: the earlier days the range depends on, then the days asked for."""
        return _dates(self.first, self.end)


def day_span(start: date | None, end: date | None, found: list[date], settings: Settings) -> DaySpan:
    """The days to run: ``start`` and ``end`` default to the first and last day of the deliveries ``found`` in the
    sources. :class:`NothingToRun` when there is none, the range is reversed, or a day is no partition."""
    from jilin_pipelines.defs.partitions import DAILY

    if not found and (start is None or end is None):
        raise NothingToRun(f"no deliveries found in {settings.sources_dir}; give --start and --end to run anyway",
                           exit_code=1)
    start = start or found[0]
    end = end or found[-1]
    if end < start:
        raise NothingToRun(f"--end {end} is before --start {start}", exit_code=2)
    first = min(start, found[0]) if found else start  # the earlier days the range depends on
    last = DAILY.get_last_partition_key()  # the end's day, or yesterday (a day is a partition once it is over)
    lowest, highest = DAILY.start.date(), date.fromisoformat(last) if last else None
    outside = [d for d in dict.fromkeys((first, end)) if d < lowest or highest is None or d > highest]
    if outside:
        raise NothingToRun(f"{', '.join(map(str, outside))}: outside the daily partitions ({lowest} … {highest}): set "
                           "JILIN_PARTITIONS_START / JILIN_PARTITIONS_END (README, \"Configuration\") to take them in",
                           exit_code=2)
    return DaySpan(first, start, end)


def _warn_of_sources(settings: Settings, entries: list[Entry], out: TextIO) -> None:
    """Say what of the sources no day will take: files whose name holds no real date, and front-end database rows
    without a usable day."""
    for stray in stray_files(settings, entries):
        out.write(mask_free_text(f"skipped {stray}: its name holds no real date (not a delivery of any day)\n"))
    for table, n, column in unselectable_rows(settings, entries):
        out.write(f"warning: {n} rows of the front-end table {table} have no usable {column} (null, or no day in "
                  f"any known layout): no day selects them — ask the department to correct them\n")


def run_days(start: date | None, end: date | None, force: bool, out: TextIO,
             wait_seconds: float = DEFAULT_WAIT_SECONDS) -> int:
    """Bring the days from ``start`` to ``end`` (default: the sources' days) current, the earlier days they depend
    on first, under the data directory's run lock, then print the summary. The exit code: 0; 1 when no delivery
    is found or a day failed; 2 when the days are not partitions; 3 when the lock stayed held by another run."""
    settings = Settings.from_env()
    ensure_dagster_home(settings)
    entries = list(catalogue().entries)
    _warn_of_sources(settings, entries, out)
    try:
        span = day_span(start, end, days_in_sources(settings, entries), settings)
    except NothingToRun as refused:
        out.write(f"{refused}\n")
        return refused.exit_code
    out.write(mask_free_text(f"sources: {settings.sources_dir}\ndata: {settings.data_dir}\n"
                               f"DAGSTER_HOME: {settings.dagster_home}\n"))
    out.write(f"days: {span.start} … {span.end} ({len(span.days)})\n")
    out.flush()
    with run_lock(settings, out, wait_seconds) as locked:
        if not locked:
            return 3
        failed, unreachable = _bring_current(settings, entries, span, force, out)
    _write_summary(settings, span.days, unreachable, out)
    _write_pages(settings, out)
    if failed:
        out.write(f"\n{len(failed)} day(s) failed: {', '.join(failed)} — open the runs in the UI (make ui)\n")
        return 1
    return 0


def _bring_current(settings: Settings, entries: list[Entry], span: DaySpan, force: bool,
                   out: TextIO) -> tuple[list[str], list[str]]:
    """Under the run lock: recover what dead runs left, then check the days in order and run what of each is stale
    (``force``: every asset of the days asked for). Returns the days that failed and those with a source
    unreachable."""
    from jilin_pipelines.db import base_engine
    from jilin_pipelines.definitions import MAIN_JOB, build_definitions
    from jilin_pipelines.quality.holds import holds

    job = build_definitions(settings).resolve_job_def(MAIN_JOB)
    layers = Layers(job, entries)
    engine = base_engine(settings.base_db_url)
    days = span.days
    failed: list[str] = []
    unreachable: list[str] = []
    with dg.DagsterInstance.get() as instance:
        recover(instance, settings, out)
        base_before = 0
        for day in span.checked:
            earlier = day < span.start
            prefix = f"[{days.index(day) + 1}/{len(days)}] {day}" if not earlier else f"[earlier] {day}"
            held = Counter(h.dataset for h in holds(engine, day, day))
            state = day_state(instance, layers, day, settings, force and not earlier, base_before, held)
            if state.unreachable:
                unreachable.append(day.isoformat())
                for problem in state.unreachable:
                    out.write(f"{prefix}: source unreachable, day not checked — {problem}\n")
            if not state.stale:
                if not earlier and not state.unreachable:
                    out.write(f"{prefix}: unchanged, skipped\n")
                base_before = max(base_before, state.base_stamp)
                out.flush()
                continue
            if not _run_day(instance, job, layers, state, day, prefix, settings, out):
                failed.append(day.isoformat())
            base_before = max(base_before, day_state_base(instance, layers, day))
            out.flush()
    return failed, unreachable


def _run_day(instance: dg.DagsterInstance, job: dg.JobDefinition, layers: Layers, state: DayState, day: date,
             prefix: str, settings: Settings, out: TextIO) -> bool:
    """Run the day's stale assets in one run (the whole job when every asset is stale), a line per finished step,
    and say how it went; a failed run's alert is written. Whether it succeeded."""
    what = "all" if state.stale >= layers.all else f"{len(state.stale)} of {len(layers.all)} assets"
    why = f" ({'; '.join(dict.fromkeys(state.why))})" if state.why else ""
    out.write(f"{prefix}: running {what}{why} …\n")
    out.flush()
    began = time.perf_counter()
    run_id = str(uuid.uuid4())  # known before the run starts: its events are followed as they come
    instance.add_event_listener(run_id, Progress(out, prefix, len(state.stale & layers.all)))
    result = job.execute_in_process(
        run_id=run_id,
        partition_key=day.isoformat(), instance=instance, raise_on_error=False, run_config=QUIET,
        asset_selection=None if state.stale >= layers.all else sorted(state.stale, key=lambda k: k.path),
        tags={RUNNER_TAG: "run"},
    )
    took = time.perf_counter() - began
    if result.success:
        out.write(f"{prefix}: run {result.run_id[:8]} succeeded in {took:.1f} s\n")
    else:
        steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        out.write(f"{prefix}: run {result.run_id[:8]} FAILED ({', '.join(steps) or 'see the run in the UI'})\n")
        _alert_failed_run(instance, result, settings)
    return result.success


def _write_summary(settings: Settings, days: list[date], unreachable: list[str], out: TextIO) -> None:
    """The summary of the days: per dataset its rows, the partitions still held, the scenarios' decisions, the
    groups the fairness audit flagged on the last day; what ends a hold, and the days not checked."""
    out.write("\n{:<44}{:>11}{:>9}{:>13}{:>13}\n".format("dataset", "delivered", "landed", "unparseable", "quarantined"))
    for name, delivered, landed, unparseable, quarantined in summary_rows(settings, days):
        out.write(f"{name:<44}{delivered:>11}{landed:>9}{unparseable:>13}{quarantined:>13}\n")
    held = held_summary(settings, days[-1])
    out.write(f"\nheld partitions: {len(held) or 'none'}\n")
    for h in held:
        out.write(f"  {h.describe()}\n")
    out.write("\n{:<44}{}\n".format("scenario", "decisions over the days"))
    for name, counts in scenario_summary(settings, days):
        out.write(f"{name:<44}{', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}\n")
    flagged = fairness_summary(settings, days[-1])
    out.write(f"\nfairness of {days[-1]} (groups flagged by the audit, README \"Fairness\"): {len(flagged) or 'none'}\n")
    for name, text in flagged:
        out.write(f"  {name}: {text}\n")
    if held:
        out.write("\nA held partition keeps its own rows out of the base and nothing else; it ends with the "
                  "department's re-delivery or `jilin-pipelines release DATASET --day D --reason …` (README, "
                  "\"Held partitions\").\n")
    if unreachable:
        out.write(f"\nnot checked, a source unreachable: {', '.join(unreachable)} — run again when it is back\n")


def _write_pages(settings: Settings, out: TextIO) -> None:
    """The runs' OpenLineage events as a page beside the day's reports, the reports' index, and where to look next."""
    from jilin_pipelines.lineage import write_lineage_page
    from jilin_pipelines.reports import write_index

    write_lineage_page(settings.data_dir)
    index = write_index(settings.reports_dir)
    out.write("\nnext: `make ui` → http://127.0.0.1:3000 (the runs, each day's checks, held partitions) and "
              f"{settings.reports_url}/ (the reports: quality by day, fairness, lineage; also {index}); "
              "`jilin-pipelines holds`, `jilin-pipelines lineage decision SCENARIO ID`\n")


def day_state_base(instance: dg.DagsterInstance, layers: Layers, day: date) -> int:
    """The newest base materialisation of the day (a storage id; 0: none)."""
    return max(getattr(_latest(instance, k, day.isoformat()), "storage_id", 0) for k in layers.base)
