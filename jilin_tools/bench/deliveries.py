"""The deliveries of a sources directory, as every path of the benchmark reads them: one ``Source`` per
(dataset, day) that has something to read (a file, or rows of the front-end database on that day).

Pure: no Dagster, no database writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.catalogue.models import FILE_EXTENSIONS
from jilin_pipelines.sources import delivery_path

IDENTIFIER_STANDARDS = ("resident_id", "uscc", "party_id")


@dataclass(frozen=True)
class Source:
    entry: Entry
    day: date
    path: Path | None  # the delivery file; None for the front-end database
    db_path: Path | None = None  # the front-end database (SQLite file of the sources)

    @property
    def kind(self) -> str:
        return self.entry.dataset.format.kind

    @property
    def columns(self) -> list[str]:
        return list(self.entry.dataset.source_columns)

    @property
    def key_columns(self) -> list[str]:
        ds = self.entry.dataset
        return [ds.field(k).source for k in ds.key]

    def day_bounds(self) -> tuple[str, str]:
        """The front-end database's day as text bounds (what ``sources.frontdb`` selects for a text column)."""
        return self.day.isoformat(), (self.day + timedelta(days=1)).isoformat()


def table_name(prefix: str, entry: Entry) -> str:
    return f"{prefix}_{entry.department.department}_{entry.dataset.name}"


def identifier_columns(entry: Entry) -> list[tuple[str, str, bool]]:
    """(source column, standard, is a JSON list) of the identifier fields a peer would check with python-stdnum."""
    out = []
    for f in entry.dataset.fields:
        if f.standard is not None and f.standard.value in IDENTIFIER_STANDARDS:
            out.append((f.source, f.standard.value, f.type.value == "json_list"))
    return out


def sources_of(sources_dir: Path, entries: list[Entry], days: list[date]) -> list[Source]:
    """Every (dataset, day) delivery present under ``sources_dir``, in catalogue then day order."""
    out = []
    db = sources_dir / "social_security" / "exchange.sqlite"
    for entry in entries:
        fmt = entry.dataset.format
        for day in days:
            if fmt.kind == "frontdb":
                out.append(Source(entry, day, None, db))
                continue
            path = delivery_path(sources_dir, entry.department.department, entry.dataset.name, day,
                                 FILE_EXTENSIONS[fmt.kind])
            if path.exists():
                out.append(Source(entry, day, path))
    return out
