"""Pseudonymised exports of scenario outputs: what leaves the platform for a consumer.

A column of a scenario's output that carries a personal field of the catalogue one to one (its declared column
lineage is a single base column, mapped from a field marked ``personal``) is replaced by its HMAC-SHA-256
pseudonym (:mod:`jilin_pipelines.privacy.pseudonym`): consumers can still join exports on it, but cannot tell whom it names. Every export
is entered in the exchange audit log. Pure: no Dagster import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.base import lineage
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.privacy.audit import AuditEntry, record
from jilin_pipelines.privacy.pseudonym import pseudonymise
from jilin_pipelines.scenarios import Scenario
from jilin_pipelines.scenarios.store import outputs


def personal_columns(s: Scenario) -> list[str]:
    """The output columns that carry one personal field of the catalogue as it is."""
    personal = {(e.id, f.name) for e in catalogue().entries for f in e.dataset.fields if f.personal}
    found = []
    for column, refs in s.column_lineage.items():
        if len(refs) != 1:
            continue
        table, _, base_column = refs[0].partition(".")
        sources = lineage()[table.partition("@")[0]].columns.get(base_column, ())
        if any(src in personal for src in sources):
            found.append(column)
    return found


class ExportRefused(ValueError):
    """An export that must not be written: to a consumer the scenario is not declared for, or of no decisions."""


@dataclass(frozen=True)
class Export:
    path: Path
    rows: int
    pseudonymised: list[str]


def export(engine: sa.Engine, s: Scenario, day: date, out: Path, *, consumer: str, key: bytes,
           run_id: str | None = None) -> Export:
    """Write the scenario's decisions of ``day`` to ``out`` (Parquet), personal columns pseudonymised, and enter
    the export in the audit log (in that order: a failed write leaves no audit entry claiming it).

    Refused (``ExportRefused``, nothing written or audited) for a consumer other than the one the scenario declares
    — its declaration, checked against the catalogue's sharing classes and allowed consumers when the definitions
    load, is what makes the sharing lawful — and for a day without decisions."""
    if consumer != s.consumer:
        raise ExportRefused(f"{s.name} is declared for the consumer {s.consumer!r}, not {consumer!r}: its decisions "
                            f"may be shared with {s.consumer!r} only (a scenario declaration for another consumer "
                            f"is what would allow it)")
    frame = outputs(engine, s, day)
    if frame.empty:
        raise ExportRefused(f"{s.name} has no decisions for {day.isoformat()}: nothing to export "
                            f"(is the day materialised? `jilin-pipelines run --start {day} --end {day}`)")
    hidden = personal_columns(s)
    for column in hidden:
        frame[column] = pseudonymise(frame[column].astype("string"), key)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    pq.write_table(pa.Table.from_pandas(frame.astype({c: "string" for c in hidden}), preserve_index=False), tmp)
    tmp.replace(out)
    record(engine, [AuditEntry(consumer=consumer, purpose=s.purpose, dataset=f"export.{s.output}",
                               fields=sorted(frame.columns), record_count=len(frame), run_id=run_id)])
    return Export(out, len(frame), hidden)


__all__ = ["Export", "ExportRefused", "export", "personal_columns"]
