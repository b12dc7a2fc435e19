"""What every reader returns: one department delivery for one (dataset, day), exactly as delivered.

The contract, shared by every reader and by the raw landing:

* ``table`` has one row per delivered row, in delivery order. Its columns are the source's own column
  names (as in ``sources/SPEC.md``), every one a nullable **string** holding the value as delivered
  (decoded to text; numbers and dates from XLSX or a database rendered as text, JSON lists and objects
  as compact JSON). Three bookkeeping columns follow:
  - ``_source_row`` (int64): the row's 1-based position in the delivery - data-row number for CSV and
    XLSX (header excluded), element number for XML, item position over all pages for the API and line
    number for JSON Lines, row position in the day's ordered query for the front-end database;
  - ``_error`` (string): null when the row parsed; otherwise why it could not be parsed;
  - ``_raw`` (string): the row's raw text when it could not be parsed (null otherwise), so nothing read
    is ever lost.
* ``delivered_rows == landed_rows + unparseable_rows`` always holds.
* A reader given a ``sink`` passes the table on a piece at a time instead (row order, one schema but for columns
  first seen late) and leaves ``table`` empty: ``streamed`` then holds the counts.
* ``location`` names where it came from (a file path, an endpoint URL without credentials, a database
  table with a masked URL), or is None when there was no delivery that day.
* ``warnings`` are file-level and row-level problems a data engineer must see: each names the file
  (or endpoint), the row when there is one, and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

SOURCE_ROW = "_source_row"
ERROR = "_error"
RAW = "_raw"
BOOKKEEPING_COLUMNS = (SOURCE_ROW, ERROR, RAW)
PROVIDER = "_provider"
"""Beside the bookkeeping columns, in the raw and standardised partitions of a dataset delivered by many providers
(``providers.py``): the code of the provider whose delivery each row came from."""

Sink = Callable[[pa.Table], None]
"""Takes a delivery's table a piece at a time, in row order (the raw landing writes each as it comes)."""


class DeliveryError(Exception):
    """A delivery that cannot be read at all (as opposed to rows that cannot be parsed).

    The message names the file or endpoint and, where there is one, the row and field.
    """


class SourceUnavailable(DeliveryError):
    """The source could not be reached (the API down or failing, the front-end database locked or absent): no
    verdict on the delivery, which may be fine — try again later, do not hold it."""


@dataclass(frozen=True)
class DeliveryWarning:
    location: str
    reason: str
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.location
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.reason}"


@dataclass
class Delivery:
    dataset: str  # "<department>.<dataset>"
    day: date
    table: pa.Table
    location: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    warnings: list[DeliveryWarning] = field(default_factory=list)
    #: (delivered rows, unparseable rows) when the reader passed its rows on a piece at a time (``table`` is then
    #: empty: the rows went to the reader's sink)
    streamed: tuple[int, int] | None = None

    @property
    def delivered(self) -> bool:
        return self.location is not None

    @property
    def delivered_rows(self) -> int:
        return self.streamed[0] if self.streamed is not None else self.table.num_rows

    @property
    def unparseable_rows(self) -> int:
        if self.streamed is not None:
            return self.streamed[1]
        if ERROR not in self.table.column_names:
            return 0
        return self.table.num_rows - self.table.column(ERROR).null_count

    @property
    def landed_rows(self) -> int:
        return self.delivered_rows - self.unparseable_rows


def empty_table(columns: list[str]) -> pa.Table:
    """A zero-row table with the source columns and the bookkeeping columns."""
    fields = [pa.field(c, pa.string()) for c in columns]
    fields += [pa.field(SOURCE_ROW, pa.int64()), pa.field(ERROR, pa.string()), pa.field(RAW, pa.string())]
    return pa.schema(fields).empty_table()
