"""CSV deliveries: GBK with a Chinese header, or UTF-8 with a BOM; comma separated, ``"`` quoting.

The hot path is vectorised: the file is decoded strictly with Python's C codec and transcoded to UTF-8
a block at a time (``_common.DECODE_BLOCK``), and parsed by ``pyarrow.csv`` with every column typed as string (no inference, empty
stays ``""``). Rows pyarrow cannot parse (a wrong number of fields) come back through
``invalid_row_handler`` with their record number and raw text; the parsed rows get their numbers
as the complement. Parsing is single-threaded: that gives record numbers in one pass and, on this
workload, is as fast as the threaded reader.

Row numbers (``_source_row``) are data-record numbers: the header is not counted, and a record with
a quoted newline counts once.

Problems and what happens:

* header only: zero rows, a warning "empty but for its header";
* a zero-byte file: zero rows, a warning (no header at all);
* cut off in the middle of a row (the file does not end with a line end): the last record is
  unparseable with its raw text, and a warning says so; everything before it lands;
* wrong encoding: detected strictly; the file is read in the encoding that decodes it (UTF-8 or
  GB18030) and a warning names the row where the declared encoding first failed; bytes that no
  candidate decodes make their rows unparseable (raw text with ``\\xNN`` for those bytes);
* a row with the wrong number of fields: unparseable, with its raw text;
* a blank line between rows: unparseable ("blank line"); blank lines at the very end are ignored;
* header differing from ``columns``: a missing (or renamed) column is a :class:`DeliveryError`
  naming the file and the columns; extra columns are kept, with a warning.

Lines ending in a bare ``\\r`` (classic Mac) are parsed, but row texts for the rare cases above are
located by ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from jilin_pipelines.sources._common import (
    ESCAPED_CHAR_PATTERN,
    Decoded,
    Warnings,
    assemble,
    decode_strict,
    decode_tail,
    interleave,
    open_delivery_file,
    reconcile_columns,
    unescape_bytes,
)
from jilin_pipelines.sources.delivery import Delivery, DeliveryError, empty_table

_BLOCK_SIZE = 1 << 24
_FIRST_LINE_END = re.compile(rb"[ \t]*(?:\r\n|\n|\r)")
_NOT_LINE_END = re.compile(rb"[^\r\n]")


def _drop_trailing_blank_lines(utf8: bytes) -> bytes:
    """Blank lines at the very end are no rows: keep the last row's own line end only."""
    end = len(utf8)
    while end and utf8[end - 1] in b" \t\r\n":
        end -= 1
    m = _FIRST_LINE_END.match(utf8, end)
    if m and m.end() < len(utf8):
        return utf8[: m.end()]
    return utf8


def read_csv(
    path: str | Path,
    *,
    dataset: str,
    day: date,
    encoding: str,
    columns: Sequence[str] | None,
    delimiter: str = ",",
    quote_char: str = '"',
) -> Delivery:
    """Read one CSV delivery; see the module docstring for the behaviour on bad input.

    ``columns`` are the expected source columns (None: take the header as it is). ``sha256`` and
    ``size_bytes`` are those of the file's bytes; ``location`` is the path.
    """
    path = Path(path)
    location = str(path)
    data, delivery, warn = open_delivery_file(path, dataset, day, columns)
    if data is None:
        return delivery
    if not data or data.isspace():
        warn.file("the file is empty: not even a header row")
        delivery.warnings = warn.done()
        return delivery

    dec = decode_strict(data, encoding)
    del data  # the UTF-8 text is what is parsed from here on (one copy of the file, not two)
    utf8 = dec.utf8
    ends_with_line_end = not dec.truncated_tail and utf8.endswith((b"\n", b"\r"))
    utf8 = _drop_trailing_blank_lines(utf8)

    raw_header, header_text = _parse_header(utf8, delimiter, quote_char, location)
    header = [h.strip().lstrip("\ufeff").strip() for h in raw_header]
    ordered, extra = reconcile_columns(location, header, columns)
    if extra:
        warn.file(f"unexpected columns {extra} kept as delivered")

    body_start = len(header_text)
    has_rows = _NOT_LINE_END.search(utf8, body_start) is not None
    if not has_rows and not dec.truncated_tail:
        _encoding_warning(warn, dec, None)
        warn.file("the file is empty but for its header")
        delivery.table = empty_table(ordered)
        delivery.warnings = warn.done()
        return delivery

    bad_numbers: list[int] = []
    bad_found: list[int] = []
    bad_texts: list[str] = []

    def on_invalid(row) -> str:
        bad_numbers.append(row.number)
        bad_found.append(row.actual_columns)
        bad_texts.append(row.text)
        return "skip"

    try:
        parsed = _parse(utf8, raw_header, delimiter, quote_char, on_invalid) if has_rows else pa.table(
            {h: pa.array([], pa.string()) for h in raw_header}
        )
    except pa.ArrowInvalid as exc:
        raise DeliveryError(f"{location}: cannot be parsed as CSV ({exc})") from exc
    if parsed.num_columns != len(header) or any(t != pa.string() for t in parsed.schema.types):
        raise DeliveryError(f"{location}: the CSV header could not be read consistently ({parsed.schema})")
    parsed = parsed.rename_columns(header)

    n_cols = len(header)
    n_good = parsed.num_rows
    total = n_good + len(bad_numbers)
    bad_rows = np.asarray(bad_numbers, dtype=np.int64) - 1  # pyarrow counts the header as record 1
    if len(bad_rows) and (bad_rows.min() < 1 or bad_rows.max() > total or len(np.unique(bad_rows)) != len(bad_rows)):
        raise DeliveryError(f"{location}: inconsistent row numbering while parsing (a reader bug)")
    is_bad = np.zeros(total + 1, dtype=bool)
    is_bad[bad_rows] = True
    good_rows = np.flatnonzero(~is_bad[1:]) + 1

    bad_errors = [f"expected {n_cols} fields, found {k}" for k in bad_found]
    if dec.escaped:
        bad_texts = [unescape_bytes(t) for t in bad_texts]

    lines = _RecordLines(utf8, header_text, total, parsed, good_rows, bad_rows, bad_texts)
    demote: dict[int, tuple[str, str]] = {}  # index into parsed -> (error, raw)

    # rows holding bytes that no encoding decodes
    if dec.escaped and n_good:
        mask = None
        for col in parsed.columns:
            hit = pc.match_substring_regex(col, ESCAPED_CHAR_PATTERN)
            mask = hit if mask is None else pc.or_(mask, hit)
        for idx in np.flatnonzero(mask.to_numpy(zero_copy_only=False)):
            raw = unescape_bytes(lines.text(int(good_rows[idx])))
            demote[int(idx)] = (f"holds bytes that are not {dec.declared} (nor UTF-8 / GB18030)", raw)
        for i, t in enumerate(bad_texts):
            if "\\x" in t:
                bad_errors[i] += f"; holds bytes that are not {dec.declared}"

    # blank lines between rows parse as all-empty rows: tell them from ",,,," by their text
    if n_good and n_cols > 1:
        empty = None
        for col in parsed.columns:
            hit = pc.equal(pc.binary_length(col), 0)
            empty = hit if empty is None else pc.and_(empty, hit)
        for idx in np.flatnonzero(empty.to_numpy(zero_copy_only=False)):
            if lines.text(int(good_rows[idx])).strip() == "":
                demote[int(idx)] = ("blank line", "")

    # a file that does not end with a line end was cut off in its last record
    cut_row = None
    tail = decode_tail(dec.truncated_tail)
    if dec.truncated_tail and utf8.endswith((b"\n", b"\r")):
        # cut inside a character right after a line end: the tail is a row of its own
        total += 1
        cut_row = total
        bad_rows = np.append(bad_rows, cut_row)
        bad_errors.append("the file ends inside this row (cut off)")
        bad_texts.append(tail)
    elif not ends_with_line_end and total:
        cut_row = total
        if is_bad[total]:
            i = int(np.flatnonzero(bad_rows == total)[0])
            bad_errors[i] = f"the file ends inside this row (cut off): {bad_errors[i]}"
            bad_texts[i] += tail
        else:
            raw = lines.text(total) + tail
            if dec.escaped:
                raw = unescape_bytes(raw)
            demote[n_good - 1] = ("the file ends inside this row (cut off): no line end after it", raw)

    # assemble
    if demote:
        idxs = np.fromiter(sorted(demote), dtype=np.int64)
        keep = np.ones(n_good, dtype=bool)
        keep[idxs] = False
        bad_rows = np.concatenate([bad_rows, good_rows[idxs]])
        bad_errors += [demote[int(i)][0] for i in idxs]
        bad_texts += [demote[int(i)][1] for i in idxs]
        parsed = parsed.filter(pa.array(keep))
        good_rows = good_rows[keep]

    good = assemble(ordered, {c: parsed.column(c) for c in header}, good_rows)
    if len(bad_rows):
        bad = assemble(ordered, {}, bad_rows, error=pa.array(bad_errors, pa.string()), raw=pa.array(bad_texts, pa.string()))
        table = interleave(good, bad)
        order = np.argsort(bad_rows, kind="stable")
        for i in order:
            if int(bad_rows[i]) != cut_row:
                warn.row(int(bad_rows[i]), f"unparseable: {bad_errors[i]}")
    else:
        table = good

    _encoding_warning(warn, dec, lines)
    if cut_row is not None:
        warn.file(f"the file is cut off: it ends in the middle of row {cut_row}, kept as unparseable", row=cut_row)
    delivery.table = table
    delivery.warnings = warn.done()
    return delivery


def _parse(utf8: bytes, raw_header: list[str], delimiter: str, quote_char: str, on_invalid) -> pa.Table:
    return pacsv.read_csv(
        pa.py_buffer(utf8),
        read_options=pacsv.ReadOptions(use_threads=False, block_size=_BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            quote_char=quote_char,
            double_quote=True,
            escape_char=False,
            newlines_in_values=quote_char.encode() in utf8,
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in raw_header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _encoding_warning(warn: Warnings, dec: Decoded, lines: _RecordLines | None) -> None:
    if not dec.wrong_encoding:
        return
    row = None
    where = "in the header"
    if lines is not None and dec.fail_line is not None:
        row = lines.record_of_line(dec.fail_line)
        where = f"at row {row}" if row else "in the header"
    if dec.escaped:
        warn.file(
            f"wrong encoding: declared {dec.declared} first failed {where} ({dec.fail_reason}), and neither "
            f"UTF-8 nor GB18030 decodes the file; rows holding undecodable bytes are unparseable",
            row=row,
        )
    else:
        warn.file(
            f"wrong encoding: declared {dec.declared} first failed {where} ({dec.fail_reason}); "
            f"the file decodes as {dec.used} and was read as {dec.used}",
            row=row,
        )


def _parse_header(utf8: bytes, delimiter: str, quote_char: str, location: str) -> tuple[list[str], bytes]:
    """The header names and the header's bytes including its line end."""
    head = utf8[: 1 << 20].decode("utf-8", "replace")
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter, quotechar=quote_char, strict=False)
    try:
        names = next(reader)
    except StopIteration:
        raise DeliveryError(f"{location}: no header row") from None
    except csv.Error as exc:
        raise DeliveryError(f"{location}: the header row cannot be parsed ({exc})") from exc
    # the header record spans as many lines as it has line ends inside quoted names
    nl_inside = sum(n.count("\n") for n in names)
    pos = -1
    for _ in range(nl_inside + 1):
        pos = utf8.find(b"\n", pos + 1)
        if pos < 0:
            return names, utf8
    return names, utf8[: pos + 1]


class _RecordLines:
    """Maps data records to their physical lines, computed only when a raw text is needed."""

    def __init__(self, utf8, header_text, total, parsed, good_rows, bad_rows, bad_texts):
        self._utf8 = utf8
        self._header_lines = header_text.count(b"\n") or 1
        self._total = total
        self._parsed = parsed
        self._good_rows = good_rows
        self._bad_rows = np.array(bad_rows)
        self._bad_texts = list(bad_texts)
        self._starts = None
        self._spans = None
        self._line_ends = None

    def _build(self) -> None:
        spans = np.ones(self._total + 2, dtype=np.int64)
        if self._parsed.num_rows:
            nl = None
            for col in self._parsed.columns:
                k = pc.count_substring(col, "\n")
                nl = k if nl is None else pc.add(nl, k)
            spans[self._good_rows] += nl.to_numpy(zero_copy_only=False).astype(np.int64)
        for r, t in zip(self._bad_rows, self._bad_texts):
            spans[int(r)] += t.count("\n")
        spans[0] = 0
        # start line of record r (1-based), r = 1..total
        self._spans = spans
        self._starts = self._header_lines + 1 + np.cumsum(spans) - spans
        self._line_ends = np.flatnonzero(np.frombuffer(self._utf8, dtype=np.uint8) == 10)

    def record_of_line(self, line: int) -> int | None:
        """The data record holding physical line ``line`` (None: the header)."""
        if line <= self._header_lines:
            return None
        if self._starts is None:
            self._build()
        r = int(np.searchsorted(self._starts[1 : self._total + 1], line, side="right"))
        return max(1, min(r, self._total))

    def text(self, record: int) -> str:
        """The raw text of data record ``record`` (without its line end)."""
        if self._starts is None:
            self._build()
        first = int(self._starts[record])
        last = first + int(self._spans[record]) - 1
        ends = self._line_ends
        begin = 0 if first == 1 else (int(ends[first - 2]) + 1 if first - 2 < len(ends) else len(self._utf8))
        end = int(ends[last - 1]) if last - 1 < len(ends) else len(self._utf8)
        text = self._utf8[begin:end].decode("utf-8", "replace")
        return text[:-1] if text.endswith("\r") else text
