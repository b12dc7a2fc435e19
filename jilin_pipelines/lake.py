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
    the previous file as it was). Every piece has the first piece's schema."""

    def __init__(self, path: Path):
        self.path = path
        self._tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def __enter__(self) -> PartitionWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression="zstd")
        self._writer.write_table(table)
        self.rows += table.num_rows

    __call__ = write  # a reader's sink

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
        self._tmp.unlink(missing_ok=True)
