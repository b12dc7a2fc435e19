"""Rows collected into string columns a chunk at a time (:class:`ColumnCollector`): the JSON Lines, XML and XLSX
readers and the API client hand it their rows as dicts of texts, and it passes each chunk on as a delivery table,
to the raw landing's sink or into the delivery."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa

from jilin_pipelines.sources.delivery import BOOKKEEPING_COLUMNS, Delivery, Sink, empty_table
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.tables import assemble

CHUNK_ROWS = 20_000
"""The collector's chunk budget: parsed objects are turned into Arrow string columns this many at a time, so the
Python dicts of at most one chunk are alive however long the delivery."""


class ColumnCollector:
    """Accumulates JSON objects (or unparseable rows) into string columns, in order, ``chunk_rows`` objects at a
    time (default :data:`CHUNK_ROWS`), and passes each chunk on as a table: to ``sink`` as soon as the next row
    arrives (so the last row is always still here: a reader may amend it), or, without a sink, into the table
    :meth:`deliver` puts in the delivery. A key first seen in a later chunk is a column from that chunk on (null before: the
    raw landing's writer widens what it wrote). Each unparseable row is warned of (``warn``) as its chunk is passed
    on, so the row warnings come in row order, before what :meth:`finish` says of the whole delivery."""

    def __init__(self, location: str, columns: Sequence[str] | None, warn: Warnings, chunk_rows: int | None = None,
                 *, sink: Sink | None = None):
        self.location = location
        self.expected = list(columns) if columns is not None else None
        self.names: dict[str, None] = dict.fromkeys(columns or [])
        self.chunk_rows = max(1, chunk_rows or CHUNK_ROWS)
        self.objects: list[dict[str, str | None] | None] = []  # the chunk being collected
        self.converted: tuple[int, dict[str, pa.Array]] | None = None  # the chunk converted, not yet passed on
        self.rows: list[int] = []  # the rows not yet passed on (of ``converted``, then of ``objects``)
        self.errors: list[str | None] = []
        self.raws: list[str | None] = []
        self.n = 0  # rows collected so far, unparseable ones included
        self.unparseable = 0
        self.nonnull: dict[str, int] = {}  # per column: its values that are not null, over the rows passed on
        self.sink = sink
        self.pieces: list[pa.Table] = []  # without a sink: the chunks passed on
        self.warn = warn
        self._quiet: set[int] = set()
        self._last_keys = None

    def add(self, row: int, texts: dict[str, str | None]) -> None:
        if self.converted is not None:
            self._pass_on()
        keys = texts.keys()
        if keys != self._last_keys:  # rows mostly share their keys: look at new ones only then
            names = self.names
            for k in keys:
                if k not in names:
                    names[k] = None
            self._last_keys = keys
        self.objects.append(texts)
        self.rows.append(row)
        self.errors.append(None)
        self.raws.append(None)
        self.n += 1
        if len(self.objects) >= self.chunk_rows:
            self._convert()

    def add_unparseable(self, row: int, error: str, raw: str) -> None:
        if self.converted is not None:
            self._pass_on()
        self.objects.append(None)
        self.rows.append(row)
        self.errors.append(error)
        self.raws.append(raw)
        self.n += 1
        self.unparseable += 1
        if len(self.objects) >= self.chunk_rows:
            self._convert()

    def _convert(self) -> None:
        """One C++ conversion of the chunk's dicts into a struct array, split into its string columns."""
        names = list(self.names)
        struct = pa.array(self.objects, type=pa.struct([pa.field(c, pa.string()) for c in names]))
        self.converted = (len(self.objects), dict(zip(names, struct.flatten())) if names else {})
        self.objects = []

    def _pass_on(self) -> None:
        """The converted chunk, as a table of the columns known so far, to the sink (or the pieces)."""
        n, columns = self.converted
        self.converted = None
        names = list(self.names)
        for c in names:
            if c in columns:
                self.nonnull[c] = self.nonnull.get(c, 0) + n - columns[c].null_count
        rows, errors, raws = self.rows[:n], self.errors[:n], self.raws[:n]
        del self.rows[:n], self.errors[:n], self.raws[:n]
        for r, e in zip(rows, errors):
            if e is not None and r not in self._quiet:
                self.warn.row(r, f"unparseable: {e}")
        piece = assemble(names, columns, np.asarray(rows, dtype=np.int64), error=pa.array(errors, pa.string()),
                         raw=pa.array(raws, pa.string()))
        if self.sink is not None:
            self.sink(piece)
        else:
            self.pieces.append(piece)

    def finish(self, *, what: str | None = "keys", quiet_rows: Iterable[int] = ()) -> None:
        """Pass on what is left (the last rows: ``quiet_rows`` among them are not warned of), and warn of unexpected
        and absent ``what`` (None: the caller does)."""
        warn = self.warn
        self._quiet = set(quiet_rows)
        if self.converted is not None:
            self._pass_on()
        if self.objects or self.n == 0:  # the last rows, or an empty chunk: the table has its columns
            self._convert()
            self._pass_on()
        if self.expected is not None and what is not None:
            expected = set(self.expected)
            extra = [c for c in self.names if c not in expected]
            if extra:
                warn.file(f"unexpected {what} {extra} kept as delivered")
            if self.n > self.unparseable:
                absent = [c for c in self.expected if not self.nonnull.get(c)]
                if absent:
                    warn.file(f"expected {what} {absent} are absent or null in every row")

    def deliver(self, delivery: Delivery, *, what: str | None = "keys", quiet_rows: Iterable[int] = ()) -> None:
        """:meth:`finish`, then the rows into ``delivery``: without a sink its table of the pieces; with one an empty
        table of the columns, and the counts of what was passed on."""
        self.finish(what=what, quiet_rows=quiet_rows)
        if self.sink is not None:
            delivery.table = empty_table(list(self.names))
            delivery.streamed = (self.n, self.unparseable)
            return
        names = [*self.names, *BOOKKEEPING_COLUMNS]
        pieces = [p if p.column_names == names else _widened(p, names) for p in self.pieces]
        self.pieces = []
        delivery.table = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]


def _widened(piece: pa.Table, names: list[str]) -> pa.Table:
    """A piece with the columns of a later one: those it lacks, null, all in ``names``' order."""
    for c in names:
        if c not in piece.column_names:
            piece = piece.append_column(pa.field(c, pa.string()), pa.nulls(piece.num_rows, pa.string()))
    return piece.select(names)
