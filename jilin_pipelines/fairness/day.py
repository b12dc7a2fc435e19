"""The fairness layer's one call: :func:`audit_day` audits one scenario's day — its figures written to
``scenario_fairness`` (``store.run_fairness``), the day's report section written (``report.py``), and the audit's
reads entered in the exchange audit log — and returns what the Dagster layer reports. No Dagster here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from jilin_pipelines.fairness.report import write_report
from jilin_pipelines.fairness.store import FairnessRun, run_fairness
from jilin_pipelines.privacy.audit import AuditEntry, record
from jilin_pipelines.scenarios.core import Scenario, Thresholds

#: Who reads, in the exchange audit log: the platform auditing its own decisions.
CONSUMER = "fairness_audit"


@dataclass(frozen=True)
class FairnessDay:
    """What auditing a scenario's day did: the figures (``run``), the report page it wrote, and the audit log's
    head after its reads."""

    run: FairnessRun
    report: Path
    audit_head: tuple[int, str] | None


def audit_day(engine: sa.Engine, s: Scenario, day: date, thresholds: Thresholds, reports_dir: Path,
              run_id: str | None = None, progress: Callable[[str], None] | None = None) -> FairnessDay:
    """Audit ``s`` for ``day`` (the day and the rolling window), replace that partition's rows of
    ``scenario_fairness``, write its section of the day's fairness report, and enter what it read in the exchange
    audit log."""
    result = run_fairness(engine, s, day, thresholds, progress=progress)
    report = write_report(s.name, result.rows, day, reports_dir, s.title, thresholds.fairness_ratio)
    audit_head = record(engine, [
        AuditEntry(consumer=f"{CONSUMER}/{s.name}", purpose=CONSUMER, dataset=dataset,
                   fields=result.read_fields[dataset], record_count=n, run_id=run_id)
        for dataset, n in sorted(result.read_counts.items())
    ])
    return FairnessDay(result, report, audit_head)
