"""The scenario layer's one call: :func:`run_day` decides one scenario's day — its inputs read from the lake's
standardised partition, its view of the base as of the day, the decisions and evidence written (``store.py``), the
reads entered in the exchange audit log, and the held deliveries it decided without recorded — and returns what the
Dagster layer reports. No Dagster here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.base import lineage
from jilin_pipelines.catalogue import Entry, catalogue
from jilin_pipelines.engines import Engine
from jilin_pipelines.lake import STANDARDISED, existing_partition
from jilin_pipelines.privacy.audit import AuditEntry, record
from jilin_pipelines.quality import holds
from jilin_pipelines.scenarios.core import Scenario, Thresholds
from jilin_pipelines.scenarios.store import ScenarioRun, input_dataset, input_fields, run_scenario
from jilin_pipelines.settings import Settings


@dataclass(frozen=True)
class ScenarioDay:
    """What deciding a scenario's day did: the counts (``run``), the audit log's head after its reads, the held
    deliveries it decided without (a hold of any delivery it rests on, up to the day)."""

    run: ScenarioRun
    audit_head: tuple[int, str] | None
    held: list[holds.Hold]


def input_entry(s: Scenario) -> Entry | None:
    """The catalogue dataset whose standardised partition of the day holds the scenario's inputs (None: none)."""
    if s.input is None:
        return None
    return next(e for e in catalogue().entries if e.id == input_dataset(s.input))


def feeding(s: Scenario) -> list[str]:
    """The datasets the scenario's decisions rest on: every one merged into a table it reads, and its inputs'."""
    entry = input_entry(s)
    return sorted({ds for t in s.tables() for ds in lineage()[t].datasets} | ({entry.id} if entry else set()))


def run_day(settings: Settings, engine: sa.Engine, s: Scenario, day: date, thresholds: Thresholds | None = None,
            run_id: str | None = None, compute: Engine | None = None) -> ScenarioDay:
    """Decide ``s`` for ``day`` and replace that partition's decisions and evidence; a missing input partition is
    ``lake.MissingPartition``. ``compute``: where the rules' set-based core runs (default the embedded engine)."""
    entry = input_entry(s)
    standardised = None
    if entry is not None:
        path = existing_partition(entry, day, settings, STANDARDISED, needed_by=s.name)
        standardised = pq.read_table(path, columns=input_fields(s)).to_pandas()
    result = run_scenario(engine, s, day, standardised, thresholds, run_id=run_id, compute=compute)
    reads = [AuditEntry(consumer=s.consumer, purpose=s.purpose, dataset=f"base.{table}", fields=s.columns_of(table),
                        record_count=n, run_id=run_id) for table, n in result.read_counts.items()]
    if entry is not None:
        reads.append(AuditEntry(consumer=s.consumer, purpose=s.purpose, dataset=f"standardised.{entry.id}",
                                fields=sorted(s.input_columns), record_count=len(standardised), run_id=run_id))
    audit_head = record(engine, reads)
    held = holds.holds(engine, end=day, datasets=feeding(s))
    holds.record_decided_without(engine, s.name, day, held)
    return ScenarioDay(result, audit_head, held)
