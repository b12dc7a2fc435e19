"""The lake's Parquet partitions: where each one is (``partition_path``, the one owner of the layout), the error of
one that a step needs and that is missing (``MissingPartition``), and writing them atomically (a reader never sees
half a file), whole or a piece at a time."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.settings import Settings

RAW = "raw"
STANDARDISED = "standardised"


def partition_path(entry: Entry, day: date, settings: Settings, layer: str = RAW, provider: str | None = None) -> Path:
    """A partition of the lake: ``<lake>/<layer>/<department>/<dataset>/<day>.parquet``; one provider's own landing
    (of many providers) ``.../<dataset>/<day>/<provider>.parquet``."""
    folder = settings.lake_dir / layer / entry.department.department / entry.dataset.name
    if provider is not None:
        return folder / day.isoformat() / f"{provider}.parquet"
    return folder / f"{day.isoformat()}.parquet"


class MissingPartition(LookupError):
    """A partition a step needs is not in the lake: the step of its layer has not run for that day."""


def existing_partition(entry: Entry, day: date, settings: Settings, layer: str, needed_by: str) -> Path:
    """The partition's path, or :class:`MissingPartition` naming who needs it, the dataset, the day and the path."""
    path = partition_path(entry, day, settings, layer)
    if not path.exists():
        raise MissingPartition(f"{needed_by} {day}: no {layer} partition of {entry.id} at {path}; "
                               f"materialise {entry.id}'s {layer} partition of the day first")
    return path


#: A step's scratch directories and the writers' temporary files carry their process's ID, so that those of a
#: process that died (``kill -9``, a lost pod) are found and removed by the next run (``remove_dead_scratch``).
_SCRATCH_DIR = re.compile(r"^jilin-(\d+)-")
_TEMP_FILE = re.compile(r"^\..+\.(\d+)\.\d+\.tmp$")


def scratch_dir(what: str) -> tempfile.TemporaryDirectory:
    """A temporary directory for a step's spill files, named ``jilin-<pid>-<what>-…``, removed on exit."""
    return tempfile.TemporaryDirectory(prefix=f"jilin-{os.getpid()}-{what}-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def remove_dead_scratch(lake_dir: Path) -> int:
    """Remove the partition writers' temporary files under ``lake_dir`` and the scratch directories whose process
    is gone; returns how many."""
    removed = 0
    found = [(p, _TEMP_FILE) for p in lake_dir.rglob(".*.tmp")] if lake_dir.is_dir() else []
    found += [(p, _SCRATCH_DIR) for p in Path(tempfile.gettempdir()).glob("jilin-*")]
    for path, pattern in found:
        m = pattern.match(path.name)
        if m and not _alive(int(m[1])):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
    return removed


def write_parquet_atomically(table: pa.Table, path: Path) -> None:
    """Write to a temporary file beside the target and rename: a reader never sees half a file."""
    with PartitionWriter(path) as writer:
        writer.write(table)
        writer.commit()


class PartitionWriter:
    """A partition's Parquet file written a piece at a time: into a temporary file beside the target, renamed into
    place by :meth:`commit` (a reader never sees half a file; leaving the ``with`` block without committing leaves
    the previous file as it was).

    A piece may bring columns the pieces before it lacked (a JSON key first seen late): what was written is then
    copied, a row group at a time, into a new file with those columns null, in the new piece's column order."""

    def __init__(self, path: Path):
        self.path = path
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._files = 0
        self.rows = 0

    def __enter__(self) -> PartitionWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._open(table.schema)
        elif not table.schema.equals(self._schema):
            self._widen(table.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    __call__ = write  # a reader's sink

    def _open(self, schema: pa.Schema) -> None:
        self._files += 1
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{self._files}.tmp")
        self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self._schema = schema

    def _widen(self, schema: pa.Schema) -> None:
        lost = [f.name for f in self._schema if schema.get_field_index(f.name) < 0 or schema.field(f.name).type != f.type]
        if lost:
            raise ValueError(f"{self.path}: a piece lacks the columns {lost} of the pieces before it")
        self._writer.close()
        written = self._tmp
        self._open(schema)
        for batch in pq.ParquetFile(written).iter_batches():
            part = pa.Table.from_batches([batch])
            for field in schema:
                if field.name not in part.column_names:
                    part = part.append_column(field, pa.nulls(part.num_rows, field.type))
            self._writer.write_table(part.select(schema.names))
        written.unlink()

    def discard(self) -> None:
        """Forget what was written so far (the next write starts a fresh file)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        self._schema = None
        self.rows = 0

    def commit(self, metadata: dict[bytes, bytes] | None = None) -> None:
        """Close the file with ``metadata`` added to its key-value metadata, and move it into place."""
        if metadata:
            self._writer.add_key_value_metadata(metadata)
        self._writer.close()
        self._writer = None
        os.replace(self._tmp, self.path)

    def __exit__(self, *exc) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)


def json_metadata(path: str | Path, key: bytes) -> dict | None:
    """The JSON object a Parquet file's key-value metadata holds under ``key`` (what ``PartitionWriter.commit``
    added), or None."""
    meta = pq.read_metadata(path).metadata or {}
    return json.loads(meta[key]) if key in meta else None
