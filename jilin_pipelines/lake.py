"""Writing the lake's Parquet partitions: atomically (a reader never sees half a file), whole or a piece at a time."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


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
