"""Excel (XLSX) deliveries: one named sheet, the first row is the header.

Read with openpyxl in read-only mode, cached values of formulas (``data_only``). Every cell becomes
text the way a person reading the sheet would write it down:

* text cells as they are (not stripped); empty cells null;
* whole numbers without ``.0`` (``2.0`` -> ``2``); other numbers to at most 15 significant digits, as
  Excel shows them (``0.1 + 0.2`` -> ``0.3``), never in exponent notation;
* date cells (a number with a date format) as ISO text: ``YYYY-MM-DD`` for a date format at
  midnight, ``YYYY-MM-DD HH:MM:SS`` when the format shows a time or the time is not midnight, time
  cells ``HH:MM:SS``;
* a date typed as a plain number (an Excel serial such as ``45809`` in a date column) stays its number
  text: repairing it is the standardisation layer's job;
* booleans ``TRUE`` / ``FALSE``; error cells (``#N/A``) as their text.

``_source_row`` is the data-row number (sheet row minus the header row), so it points at the sheet
row a person sees. Wholly empty rows are no rows: empty rows after the data are ignored, empty rows
between data rows are skipped with a warning (their numbers are simply absent). A value in a column
that has no header makes its row unparseable, with the row's cells as a JSON array in ``_raw``.

Nothing changes or vanishes in silence: a **merged** range's value (which the file keeps in its top-left cell
only) is filled into every cell the range covers, with a warning naming the rows and fields; a **formula** whose
value the file does not hold (a workbook saved by a tool that does not calculate) stays null, with a warning
naming the row, the field and the formula.

A missing sheet, or a file that is not a readable workbook (cut off, corrupt, another format), is a
:class:`DeliveryError` naming the file (and the sheet).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from jilin_pipelines.sources.collector import ColumnCollector
from jilin_pipelines.sources.delivery import Delivery, DeliveryError, Sink
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.payload import Payload
from jilin_pipelines.sources.reader import FileReader
from jilin_pipelines.sources.tables import reconcile_columns
from jilin_pipelines.sources.values import plain_text

_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_FORMULA = re.compile(rb"<f[ >/]")


def _column_number(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + c - 64
    return n


def _sheet_facts(path: Path, part: str | None) -> tuple[list[tuple[int, int, int, int]], bool]:
    """The sheet's merged ranges (first row, first column, last row, last column; 1-based sheet coordinates) and
    whether any cell holds a formula, from one streaming pass over the sheet's XML."""
    if not part:
        return [], False
    merged: list[tuple[int, int, int, int]] = []
    formulas = False
    tail = b""
    with zipfile.ZipFile(path) as z, z.open(part.lstrip("/")) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            text = tail + block
            formulas = formulas or _FORMULA.search(text) is not None
            for m in _MERGE.finditer(text):
                merged.append((int(m[2]), _column_number(m[1]), int(m[4]), _column_number(m[3])))
            cut = text.rfind(b"<")  # a tag cut by the block's end is read whole with the next (found twice: a set)
            tail = text[cut:] if cut >= 0 else b""
    return sorted(set(merged)), formulas


def _format_shows_time(number_format: str | None) -> bool:
    if not number_format:
        return False
    fmt = _FORMAT_NOISE.sub("", number_format).lower()
    return "h" in fmt or "s" in fmt or "am/pm" in fmt


def number_text(value: float) -> str:
    """A number as Excel shows it: whole numbers without ``.0``, else <= 15 significant digits."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    text = format(value, ".15g")
    if "e" in text:
        text = np.format_float_positional(float(text), trim="-")
    return text


def cell_text(value, number_format: str | None = None) -> str | None:
    """One cell's value as text (see the module docstring)."""
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, datetime):
        if value.microsecond >= 999_500:  # float noise of an Excel serial just below a whole second
            value = value.replace(microsecond=0) + timedelta(seconds=1)
        elif value.microsecond and value.microsecond < 500:
            value = value.replace(microsecond=0)
        if value.time() == time(0) and not _format_shows_time(number_format):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    return plain_text(value, true="TRUE", false="FALSE")


def read_xlsx(path: str | Path, *, dataset: str, day: date, sheet: str, columns: Sequence[str] | None,
              sink: Sink | None = None) -> Delivery:
    """Read one XLSX delivery from ``sheet``; ``sha256``/``size_bytes`` are the file's bytes'. The sheet's rows are
    read as openpyxl streams them and collected a chunk at a time: with a ``sink``, each chunk goes to it as the
    next begins and the delivery's ``table`` is left empty (its counts say what was read)."""
    return _XlsxFile(columns=columns, sink=sink, sheet=sheet).read(path, dataset=dataset, day=day)


@dataclass(kw_only=True)
class _XlsxFile(FileReader):
    """An XLSX delivery's own part of reading it: its sheet's header, then its rows as openpyxl streams them."""

    sheet: str

    def read_rows(self, payload: Payload, delivery: Delivery, warn: Warnings) -> None:
        location, sheet = delivery.location, self.sheet
        with ExitStack() as books:  # each workbook opened is closed, however the reading ends
            workbook = books.enter_context(closing(_open_workbook(payload.path, location)))
            if sheet not in workbook.sheetnames:
                raise DeliveryError(
                    f"{location}: has no sheet {sheet!r} (sheets: {', '.join(map(repr, workbook.sheetnames))})"
                )
            worksheet = workbook[sheet]
            try:
                rows = self._read_sheet(payload.path, worksheet, books, location, warn)
            except DeliveryError:
                raise
            except Exception as exc:
                raise DeliveryError(
                    f"{location}, sheet {sheet!r}: cannot be read: {type(exc).__name__}: {exc}"
                ) from exc
        if rows is None:
            return
        collector, blank_rows = rows
        last = collector.rows[-1] if collector.rows else 0  # (the collector keeps its last row until the end)
        collector.deliver(delivery, what=None)  # the unparseable rows warned of first, as they were collected
        interior_blank = [r for r in blank_rows if r < last]
        if interior_blank:
            warn.file(f"{len(interior_blank)} empty rows between data rows skipped (rows {_first_20(interior_blank)})")
        if collector.n == 0:
            warn.file(f"sheet {sheet!r} is empty but for its header")

    def _read_sheet(self, path: Path, worksheet, books: ExitStack, location: str,
                    warn: Warnings) -> tuple[ColumnCollector, list[int]] | None:
        """The sheet's rows into a collector, and the numbers of the wholly empty ones (None: the sheet is empty, not
        even a header row). The workbook with the formulas, opened when the sheet holds any, joins ``books``."""
        rows = worksheet.iter_rows()
        header_cells = next(rows, None)
        if header_cells is None:
            warn.file(f"sheet {self.sheet!r} is empty: not even a header row")
            return None
        header, ordered = self._header(header_cells, location, warn)
        collector = ColumnCollector(location, ordered, warn, sink=self.sink)  # a chunk of rows at a time into Arrow
        merged_ranges, has_formulas = _sheet_facts(path, getattr(worksheet, "_worksheet_path", None))
        merged = _MergedCells(merged_ranges, header)
        formula_rows = _formula_rows(path, self.sheet, books) if has_formulas else None
        blank_rows: list[int] = []
        for number, cells in enumerate(rows, start=1):
            texts = [cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
            merged.fill(number, texts)
            if formula_rows is not None:
                _warn_of_formulas(next(formula_rows, ()), texts, header, number, warn)
            if all(t is None for t in texts):
                blank_rows.append(number)
            else:
                _take_row(number, texts, header, collector)
        merged.warn_of_filled(warn)
        return collector, blank_rows

    def _header(self, cells, location: str, warn: Warnings) -> tuple[list[str], list[str]]:
        """The header's names (trailing empty cells dropped; an empty one before them is an error) and the columns in
        the expected order (extra ones kept, with a warning)."""
        header = [cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
        while header and (header[-1] is None or header[-1].strip() == ""):
            header.pop()
        if any(h is None or h.strip() == "" for h in header):
            blank = [i + 1 for i, h in enumerate(header) if h is None or h.strip() == ""]
            raise DeliveryError(f"{location}, sheet {self.sheet!r}: header cells in columns {blank} are empty")
        header = [h.strip() for h in header]
        ordered, extra = reconcile_columns(f"{location}, sheet {self.sheet!r}", header, self.columns)
        if extra:
            warn.file(f"unexpected columns {extra} kept as delivered")
        return header, ordered


def _open_workbook(path: Path, location: str):
    """The workbook in openpyxl's read-only mode, with the cached values of its formulas (``data_only``). A file that
    is no readable workbook is a :class:`DeliveryError`."""
    from openpyxl import load_workbook  # imported lazily: openpyxl is slow to import

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise DeliveryError(
            f"{location}: not a readable XLSX workbook (cut off, corrupt or another format): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:  # openpyxl raises a variety of its own errors on broken files
        raise DeliveryError(f"{location}: not a readable XLSX workbook: {type(exc).__name__}: {exc}") from exc


def _formula_rows(path: Path, sheet: str, books: ExitStack) -> Iterator:
    """The rows of ``sheet`` after its header, with their formulas rather than their values: a second view of the
    workbook, read in step with the values' and closed with ``books``."""
    from openpyxl import load_workbook  # imported lazily: openpyxl is slow to import

    formulas_book = books.enter_context(closing(load_workbook(path, read_only=True, data_only=False)))
    rows = formulas_book[sheet].iter_rows()
    next(rows, None)
    return rows


def _take_row(number: int, texts: list[str | None], header: list[str], collector: ColumnCollector) -> None:
    """One row into the collector: unparseable when a column without a header holds a value (its cells as a JSON
    array in ``_raw``); cells beyond the row's last are absent: null."""
    n = len(header)
    if len(texts) > n and any(t is not None for t in texts[n:]):
        beyond = [i + 1 for i in range(n, len(texts)) if texts[i] is not None]
        collector.add_unparseable(number, f"values in columns {beyond}, which have no header",
                                  json.dumps(texts, ensure_ascii=False, separators=(",", ":")))
        return
    collector.add(number, dict(zip(header, texts)))


def _warn_of_formulas(cells, texts: list[str | None], header: list[str], number: int, warn: Warnings) -> None:
    """A warning for each formula of the row (``cells``: its formulas' view) whose value the file does not hold: the
    cell stays null."""
    for i, cell in enumerate(cells):
        value = cell.value
        if i < len(header) and isinstance(value, str) and value.startswith("=") and (
                i >= len(texts) or texts[i] is None):
            warn.row(number, f"a formula without a value in the file ({value[:60]}): kept null", field=header[i])


class _MergedCells:
    """The sheet's merged ranges, filled in as the rows stream by: a range's value, which the file keeps in its
    top-left cell only, goes into every empty cell the range covers (within the header's columns), and the filled
    cells are counted per field for one warning each."""

    def __init__(self, ranges: list[tuple[int, int, int, int]], header: list[str]):
        self.header = header
        self.covered: dict[int, list[tuple[int, tuple[int, int]]]] = {}  # sheet row -> (column, its top-left cell)
        self.anchors: dict[int, list[int]] = {}  # sheet row -> the columns of the top-left cells in it
        for r1, c1, r2, c2 in ranges:
            for r in range(r1, r2 + 1):
                self.covered.setdefault(r, []).extend((c, (r1, c1)) for c in range(c1, c2 + 1) if (r, c) != (r1, c1))
            self.anchors.setdefault(r1, []).append(c1)
        self.anchor_text: dict[tuple[int, int], str | None] = {}
        self.filled: dict[str, list[int]] = {}  # field -> the rows where it was filled

    def fill(self, number: int, texts: list[str | None]) -> None:
        """Fill the cells of data row ``number`` that a merged range covers, in place."""
        sheet_row = number + 1
        for c1 in self.anchors.get(sheet_row, ()):
            self.anchor_text[(sheet_row, c1)] = texts[c1 - 1] if c1 <= len(texts) else None
        for c, top_left in self.covered.get(sheet_row, ()):
            if self.anchor_text.get(top_left) is not None and c <= len(self.header):
                texts.extend([None] * (c - len(texts)))
                if texts[c - 1] is None:
                    texts[c - 1] = self.anchor_text[top_left]
                    self.filled.setdefault(self.header[c - 1], []).append(number)

    def warn_of_filled(self, warn: Warnings) -> None:
        for name, numbers in self.filled.items():
            warn.file(f"field {name}: {len(numbers)} cells of merged ranges filled with the value of their top-left "
                      f"cell (rows {_first_20(numbers)})")


def _first_20(numbers: list[int]) -> str:
    """Row numbers as a warning names them: the first 20, then ``...`` when there are more."""
    return ", ".join(map(str, numbers[:20])) + (" ..." if len(numbers) > 20 else "")
