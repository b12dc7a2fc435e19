"""CSV deliveries: GBK with a Chinese header, or UTF-8 with a BOM; comma separated, ``"`` quoting.

The hot path is vectorised and the file is never whole in memory: it is read twice a block at a time
(``payload.DECODE_BLOCK``), once for its digest and to find the encoding that decodes it strictly, once to
decode it with Python's C codec, transcode it to UTF-8 and cut the text into pieces of :data:`PIECE_BYTES` at rows'
ends (line ends outside quotes, found by the quotes' parity; from a stray quote that the parser reads as a plain
character on, the rest of the file is one piece: see ``_Pieces``). Each piece is parsed by ``pyarrow.csv`` with every column typed as string (no inference, empty stays
``""``). Rows pyarrow cannot parse (a wrong number of fields) come back through ``invalid_row_handler`` with their
record number and raw text; the parsed rows get their numbers as the complement, counted on from the pieces before.
Parsing is single-threaded: that gives record numbers in one pass and, on this workload, is as fast as the threaded
reader. The raw landing takes the pieces as they come (``sink``).

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
* a quote that opens a field and is not closed on its line (``张三,"黄芬芬,2025…``), which the parser reads as
  swallowing the rows after it into one value: the swallowed record is split into its lines again (see
  ``_stray_quotes``); the row lands with the quote dropped and a warning naming the row and field, or, when that
  does not give it its fields, is unparseable with its own line as delivered; every row after it lands;
* a blank line between rows: unparseable ("blank line"); blank lines at the very end are ignored;
* header differing from ``columns``: a missing (or renamed) column is a :class:`DeliveryError`
  naming the file and the columns; extra columns are kept, with a warning.

Lines ending in a bare ``\\r`` (classic Mac) are parsed, but row texts for the rare cases above are
located by ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from jilin_pipelines.sources.decoding import (
    ESCAPED_CHAR_PATTERN, Decoded, decode_tail, detect_encoding, unescape_bytes, utf8_blocks,
)
from jilin_pipelines.sources.delivery import ERROR, Delivery, DeliveryError, Sink, empty_table
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.payload import Payload
from jilin_pipelines.sources.reader import FileReader
from jilin_pipelines.sources.tables import assemble, interleave, reconcile_columns

_BLOCK_SIZE = 1 << 24
_FIRST_ONLY_ROUNDS = 16  # stray quotes repaired one per swallowed record and parse; past that, all lines at once
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


PIECE_BYTES = 1 << 22
"""The CSV reader's chunk budget: the text is parsed this many bytes (of UTF-8) at a time, each piece cut at a line
end, so what a delivery takes in memory does not grow with its size (when nothing consumes the pieces as they come,
:func:`read_csv` still returns the whole table)."""


def read_csv(path: str | Path, *, dataset: str, day: date, encoding: str, columns: Sequence[str] | None,
             delimiter: str = ",", quote_char: str = '"', sink: Sink | None = None,
             piece_bytes: int | None = None) -> Delivery:
    """Read one CSV delivery; see the module docstring for the behaviour on bad input.

    ``columns`` are the expected source columns (None: take the header as it is). ``sha256`` and
    ``size_bytes`` are those of the file's bytes; ``location`` is the path.

    The file is read twice, a block at a time (never whole): once for its digest and its encoding, once to decode
    and parse it a piece of ``piece_bytes`` (default :data:`PIECE_BYTES`) at a time, each piece ending at a row's
    end (a line end outside quotes; see ``_Pieces``). With a ``sink``, each piece's rows go to it as they are parsed and the delivery's ``table``
    is left empty (its counts say what was read); without, the pieces make up ``table``. Either way the rows and
    warnings do not depend on the piece size.
    """
    reader = _CsvFile(columns=columns, sink=sink, encoding=encoding, delimiter=delimiter, quote_char=quote_char,
                      piece_bytes=piece_bytes or PIECE_BYTES)
    return reader.read(path, dataset=dataset, day=day)


@dataclass(kw_only=True)
class _CsvFile(FileReader):
    """A CSV delivery's own part of reading it: its header, then its body a piece at a time (:class:`_PieceReader`)."""

    blank_file = "the file is empty: not even a header row"

    encoding: str
    delimiter: str
    quote_char: str
    piece_bytes: int

    def read_rows(self, payload: Payload, delivery: Delivery, warn: Warnings) -> None:
        dec = detect_encoding(payload, self.encoding)
        text = _Pieces(utf8_blocks(payload, dec), self.piece_bytes, self.quote_char, self.delimiter)
        first = text.next()
        reader, header_text = self._header(first, dec, delivery.location, warn)
        if text.done and not dec.truncated_tail and \
                _NOT_LINE_END.search(_drop_trailing_blank_lines(first), len(header_text)) is None:
            reader.encoding_warning(None)
            warn.file("the file is empty but for its header")
            delivery.table = empty_table(reader.ordered)
            return
        self._read_body(reader, text, first[len(header_text):], delivery)

    def _header(self, first: bytes, dec: Decoded, location: str, warn: Warnings) -> tuple[_PieceReader, bytes]:
        """The reader of the body after the header that ``first`` begins with, and the header's bytes; the header
        reconciled with the expected columns (extra ones kept, with a warning)."""
        raw_header, header_text = _parse_header(first, self.delimiter, self.quote_char, location)
        header = [h.strip().lstrip("\ufeff").strip() for h in raw_header]
        ordered, extra = reconcile_columns(location, header, self.columns)
        if extra:
            warn.file(f"unexpected columns {extra} kept as delivered")
        reader = _PieceReader(location, dec, raw_header, header, ordered, self.delimiter, self.quote_char, warn,
                              header_lines=header_text.count(b"\n") or 1,
                              line_end=header_text.endswith((b"\n", b"\r")))
        return reader, header_text

    def _read_body(self, reader: _PieceReader, text: _Pieces, body: bytes, delivery: Delivery) -> None:
        """The body's rows, a piece at a time, to the sink or into the delivery's table."""
        pieces: list[pa.Table] = []
        delivered = unparseable = 0
        while True:
            table = reader.read(body, last=text.done)
            if table is None:
                body += text.next()
                continue
            delivered += table.num_rows
            unparseable += table.num_rows - table.column(ERROR).null_count
            if self.sink is None:
                pieces.append(table)
            elif table.num_rows:
                self.sink(table)
            del table
            if text.done:
                break
            body = text.next()
        reader.finish()
        if self.sink is None:
            delivery.table = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
        else:
            delivery.table = empty_table(reader.ordered)
            delivery.streamed = (delivered, unparseable)


class _Pieces:
    """The UTF-8 text in pieces of about ``piece_bytes``, each ending at a row's end that comes before the text's
    last non-blank byte so far, so that blank lines at the very end of the file all stay in the last piece. ``done``
    once the last piece was taken. The blocks wait in a list and are joined once, into the piece (a growing buffer
    would copy them again and again).

    A row's end is a ``\\n`` outside quotes. Quotes are followed with their parity, vectorised over each block: a
    ``\\n`` after an even number of quote characters is outside quotes as long as every quote after an even number
    of them is one the parser reads as opening quotes: at a field's start (after the delimiter, a line end, the
    text's start) or the second of a doubled pair. From the first that is not (``ab"c``, ``"a"b"c``: pyarrow reads it
    as a plain character) only a parse from the start could tell, so the rest of the file is one piece. (A closing
    quote followed by something else than the delimiter or a line end, as in ``"ab"c``, leaves pyarrow in an unquoted
    field, where the quotes' parity agrees with it until the next quote in that field: one of the kind above.)"""

    def __init__(self, blocks: Iterator[bytes], piece_bytes: int, quote_char: str, delimiter: str):
        self._blocks, self._size = blocks, max(1, piece_bytes)
        self._quote, self._delimiter = ord(quote_char), ord(delimiter)
        self._held: list[bytes] = []
        self._ends: list[np.ndarray] = []  # per held block: the offsets of its row-ending b"\n", ascending
        self._n = 0
        self._odd = False  # inside quotes at the end of the blocks taken so far
        self._prev = -1  # the last byte of the blocks taken so far (-1: none yet, the text's start)
        self._sure = True  # every quote so far is one the parser reads as quoting
        self.done = False

    def next(self) -> bytes:
        for block in self._blocks:
            self._held.append(block)
            self._ends.append(self._row_ends(block))
            self._n += len(block)
            if self._n >= self._size:
                at = self._cut()
                if at is not None:
                    i, cut = at
                    last, ends = self._held[i], self._ends[i]
                    piece = b"".join([*self._held[:i], last[:cut]])
                    self._held = [last[cut:], *self._held[i + 1 :]]
                    self._ends = [ends[ends >= cut] - cut, *self._ends[i + 1 :]]
                    self._n = sum(len(b) for b in self._held)
                    return piece
        self.done = True
        piece = b"".join(self._held)
        self._held, self._ends, self._n = [], [], 0
        return piece

    def _row_ends(self, block: bytes) -> np.ndarray:
        """The offsets in ``block`` of the ``\\n`` that end rows (see the class)."""
        if not block:
            return _NO_ENDS
        b = np.frombuffer(block, dtype=np.uint8)
        if not self._sure:
            ends = _NO_ENDS
        else:
            newlines = np.flatnonzero(b == 10)
            quotes = np.flatnonzero(b == self._quote)
            unsure_at = len(b)
            if len(quotes):
                opening = (np.arange(len(quotes)) % 2 == 0) ^ self._odd  # after an even number of quotes
                prev = np.where(quotes > 0, b[quotes - 1].astype(np.int16), self._prev)
                at_start = np.isin(prev, (self._delimiter, 10, 13, self._quote, -1))
                bad = np.flatnonzero(opening & ~at_start)
                if len(bad):
                    unsure_at = int(quotes[bad[0]])
                inside = (np.searchsorted(quotes, newlines) % 2 == 1) ^ self._odd
                ends = newlines[~inside & (newlines < unsure_at)]
                self._odd ^= len(quotes) % 2 == 1
            else:
                ends = newlines if not self._odd else _NO_ENDS
            self._sure = unsure_at == len(b)
        self._prev = int(b[-1])
        return ends

    def _cut(self) -> tuple[int, int] | None:
        """(block, offset in it) just after the last row-ending ``\\n`` before the held text's last non-blank byte."""
        seen_text = False
        for i in range(len(self._held) - 1, -1, -1):
            block = self._held[i]
            end = len(block)
            if not seen_text:
                stripped = block.rstrip(_BLANK)
                if not stripped:
                    continue
                seen_text, end = True, len(stripped) - 1  # the last non-blank byte is not before its own line end
            ends = self._ends[i]
            k = int(np.searchsorted(ends, end)) - 1
            if k >= 0:
                return i, int(ends[k]) + 1
        return None


_BLANK = b" \t\r\n"
_NO_ENDS = np.empty(0, dtype=np.int64)


class _PieceReader:
    """Parses the body of a CSV delivery piece by piece (each ending at a row's end), numbering the rows across
    pieces and collecting the warnings in row order."""

    def __init__(self, location: str, dec: Decoded, raw_header: list[str], header: list[str], ordered: list[str],
                 delimiter: str, quote_char: str, warn: Warnings, header_lines: int, line_end: bool):
        self.location, self.dec, self.raw_header, self.header, self.ordered = location, dec, raw_header, header, ordered
        self.delimiter, self.quote_char, self.warn = delimiter, quote_char, warn
        self.rows = 0  # rows of the pieces read so far
        self.lines = header_lines  # physical lines of the header and the pieces read so far
        self.fail_row: int | None = None  # the row where the declared encoding first failed
        self.cut_row: int | None = None
        self.line_end = line_end  # the text so far ends with a line end

    def read(self, utf8: bytes, *, last: bool) -> pa.Table | None:
        """The rows of one piece (``last``: the file's last), numbered after the pieces before it; None when a quote
        runs past a line end in it and it is not the last: the pieces cut by the quotes' parity then no longer end
        at rows' ends, and the piece must be read again with the next one."""
        line_end = utf8.endswith((b"\n", b"\r")) if utf8 else self.line_end
        lines_in_piece = utf8.count(b"\n")
        lines_spanned = lines_in_piece + (0 if utf8.endswith(b"\n") else 1)
        if last:  # blank lines at the very end are no rows (a piece starts at a line start: all blank, all gone)
            utf8 = _drop_trailing_blank_lines(utf8) if utf8.strip(_BLANK) else b""
            line_end = utf8.endswith((b"\n", b"\r")) if utf8 else line_end  # (white space after it is no row)
        ends_with_line_end = not (last and self.dec.truncated_tail) and line_end

        repairs: dict[int, _Repair] = {}  # piece line (1-based) -> how a quote that ran past it was repaired
        rows = self._parse_repairing(utf8, last, repairs)
        if rows is None:
            return None  # where the piece ends may be no row's end once the quote is repaired: read on
        repaired_rows = self._apply_repairs(rows, repairs)
        self._demote_undecodable(rows)
        self._demote_blank_lines(rows)
        cut_row = self._cut_off(rows, ends_with_line_end) if last else None
        table = self._table(rows, repaired_rows, cut_row)

        self._find_encoding_failure(rows.lines, lines_spanned)
        if cut_row is not None:
            self.cut_row = cut_row + self.rows
        self.rows += rows.total
        self.lines += lines_in_piece
        self.line_end = line_end
        return table

    def _parse_repairing(self, utf8: bytes, last: bool, repairs: dict[int, _Repair]) -> _PieceRows | None:
        """The piece parsed, again after each round of stray-quote repairs (``repairs`` collects them) until none is
        left; None when a repair is due in a piece that is not the last."""
        has_rows = bool(utf8)  # a blank line between rows is a row (an unparseable one)
        for rounds in itertools.count():
            parsed, bad_numbers, bad_found, bad_texts = self._parse(utf8, has_rows)
            found = _stray_quotes(utf8, parsed, bad_numbers, bad_texts, len(self.header), self.delimiter,
                                  self.quote_char, repairs, first_only=rounds < _FIRST_ONLY_ROUNDS)
            if not found:
                break
            if not last:
                return None
            repairs.update(found)
            utf8 = _rewrite_lines(utf8, found)
        return self._rows(utf8, parsed, bad_numbers, bad_found, bad_texts)

    def _rows(self, utf8: bytes, parsed: pa.Table, bad_numbers: list[int], bad_found: list[int],
              bad_texts: list[str]) -> _PieceRows:
        """The piece's rows as parsed: the unparseable ones' numbers checked, their errors and texts."""
        n_cols = len(self.header)
        total = parsed.num_rows + len(bad_numbers)
        bad_rows = np.asarray(bad_numbers, dtype=np.int64)  # no header in the piece: pyarrow counts rows from 1
        if len(bad_rows) and (bad_rows.min() < 1 or bad_rows.max() > total or len(np.unique(bad_rows)) != len(bad_rows)):
            raise DeliveryError(f"{self.location}: inconsistent row numbering while parsing (a reader bug)")
        is_bad = np.zeros(total + 1, dtype=bool)
        is_bad[bad_rows] = True
        good_rows = np.flatnonzero(~is_bad[1:]) + 1

        bad_errors = [f"expected {n_cols} fields, found {k}" for k in bad_found]
        if self.dec.escaped:
            bad_texts = [unescape_bytes(t) for t in bad_texts]
        lines = _RecordLines(utf8, 0, total, parsed, good_rows, bad_rows, bad_texts)
        return _PieceRows(utf8, parsed, good_rows, bad_rows, bad_errors, bad_texts, is_bad, total, lines)

    def _apply_repairs(self, rows: _PieceRows, repairs: dict[int, _Repair]) -> dict[int, tuple[str, str]]:
        """The rows of the repaired lines: unparseable with their text as delivered when no repair gives them their
        fields; otherwise kept, returned (record -> (warning, field)) to be warned of."""
        repaired_rows: dict[int, tuple[str, str]] = {}  # record -> (warning, field): kept, a stray quote dropped
        if repairs:
            bad_at = {int(r): i for i, r in enumerate(rows.bad_rows)}
            for line, fix in repairs.items():
                record = rows.lines.record_of_line(line)
                if fix.field is None:  # no repair gives the row its fields: unparseable, with the text as delivered
                    i = bad_at[record]
                    rows.bad_errors[i] = "a quote opened in this row is not closed on its line"
                    rows.bad_texts[i] = unescape_bytes(fix.text) if self.dec.escaped else fix.text
                else:
                    repaired_rows[record] = ("a quote opening the field is not closed on its line: the quote was "
                                             "dropped and the row kept", self.header[fix.field])
        return repaired_rows

    def _demote_undecodable(self, rows: _PieceRows) -> None:
        """Rows holding bytes that no encoding decodes are unparseable."""
        dec = self.dec
        if dec.escaped and rows.parsed.num_rows:
            mask = None
            for col in rows.parsed.columns:
                hit = pc.match_substring_regex(col, ESCAPED_CHAR_PATTERN)
                mask = hit if mask is None else pc.or_(mask, hit)
            for idx in np.flatnonzero(mask.to_numpy(zero_copy_only=False)):
                raw = unescape_bytes(rows.lines.text(int(rows.good_rows[idx])))
                rows.demote[int(idx)] = (f"holds bytes that are not {dec.declared} (nor UTF-8 / GB18030)", raw)
        if dec.escaped:
            for i, t in enumerate(rows.bad_texts):
                if "\\x" in t:
                    rows.bad_errors[i] += f"; holds bytes that are not {dec.declared}"

    def _demote_blank_lines(self, rows: _PieceRows) -> None:
        """Blank lines between rows parse as all-empty rows: told from ",,,," by their text, they are unparseable."""
        if rows.parsed.num_rows and len(self.header) > 1:
            empty = None
            for col in rows.parsed.columns:
                hit = pc.equal(pc.binary_length(col), 0)
                empty = hit if empty is None else pc.and_(empty, hit)
            for idx in np.flatnonzero(empty.to_numpy(zero_copy_only=False)):
                if rows.lines.text(int(rows.good_rows[idx])).strip() == "":
                    rows.demote[int(idx)] = ("blank line", "")

    def _cut_off(self, rows: _PieceRows, ends_with_line_end: bool) -> int | None:
        """In the file's last piece: a file that does not end with a line end was cut off in its last record, which is
        unparseable with its text as delivered; the number of that record (None: the file is whole)."""
        dec = self.dec
        tail = decode_tail(dec.truncated_tail)
        if dec.truncated_tail and (rows.utf8.endswith((b"\n", b"\r")) if rows.utf8 else self.line_end):
            # cut inside a character right after a line end: the tail is a row of its own
            rows.total += 1
            rows.bad_rows = np.append(rows.bad_rows, rows.total)
            rows.bad_errors.append("the file ends inside this row (cut off)")
            rows.bad_texts.append(tail)
            return rows.total
        if ends_with_line_end or not (rows.total or self.rows):
            return None
        if not rows.total:  # the cut-off row is the previous piece's last (a piece of nothing but a cut tail)
            raise DeliveryError(f"{self.location}: a piece without rows after a row's end (a reader bug)")
        if rows.is_bad[rows.total]:
            i = int(np.flatnonzero(rows.bad_rows == rows.total)[0])
            rows.bad_errors[i] = f"the file ends inside this row (cut off): {rows.bad_errors[i]}"
            rows.bad_texts[i] += tail
        else:
            raw = rows.lines.text(rows.total) + tail
            if dec.escaped:
                raw = unescape_bytes(raw)
            rows.demote[rows.parsed.num_rows - 1] = ("the file ends inside this row (cut off): no line end after it",
                                                     raw)
        return rows.total

    def _table(self, rows: _PieceRows, repaired_rows: dict[int, tuple[str, str]], cut_row: int | None) -> pa.Table:
        """The piece's table, its rows numbered after the pieces before it, and the warnings of its rows in row order
        (the cut-off row's is the file's)."""
        offset = self.rows
        rows.demote_marked()
        good = assemble(self.ordered, {c: rows.parsed.column(c) for c in self.header}, rows.good_rows + offset)
        notes = dict(repaired_rows)
        if len(rows.bad_rows):
            bad = assemble(self.ordered, {}, rows.bad_rows + offset, error=pa.array(rows.bad_errors, pa.string()),
                           raw=pa.array(rows.bad_texts, pa.string()))
            table = interleave(good, bad)
            notes.update((int(r), (f"unparseable: {e}", None)) for r, e in zip(rows.bad_rows, rows.bad_errors)
                         if int(r) != cut_row)
        else:
            table = good
        for row in sorted(notes):
            reason, name = notes[row]
            self.warn.row(row + offset, reason, field=name)
        return table

    def _find_encoding_failure(self, lines: _RecordLines, lines_spanned: int) -> None:
        """The row where the declared encoding first failed, once the piece holding its line is read."""
        dec = self.dec
        if dec.wrong_encoding and dec.fail_line is not None and self.fail_row is None \
                and self.lines < dec.fail_line <= self.lines + lines_spanned:
            row = lines.record_of_line(dec.fail_line - self.lines)
            self.fail_row = row + self.rows if row else None

    def _parse(self, utf8: bytes, has_rows: bool) -> tuple[pa.Table, list[int], list[int], list[str]]:
        """The piece's parsed rows, and its unparseable records' numbers, field counts and texts."""
        bad_numbers: list[int] = []
        bad_found: list[int] = []
        bad_texts: list[str] = []

        def on_invalid(row) -> str:
            bad_numbers.append(row.number)
            bad_found.append(row.actual_columns)
            bad_texts.append(row.text)
            return "skip"

        try:
            parsed = _parse(utf8, self.raw_header, self.delimiter, self.quote_char, on_invalid) if has_rows else \
                pa.table({h: pa.array([], pa.string()) for h in self.raw_header})
        except pa.ArrowInvalid as exc:
            raise DeliveryError(f"{self.location}: cannot be parsed as CSV ({exc})") from exc
        if parsed.num_columns != len(self.header) or any(t != pa.string() for t in parsed.schema.types):
            raise DeliveryError(f"{self.location}: the CSV header could not be read consistently ({parsed.schema})")
        return parsed.rename_columns(self.header), bad_numbers, bad_found, bad_texts

    def finish(self) -> None:
        """The file-level warnings, after the rows'."""
        self.encoding_warning(self.fail_row)
        if self.cut_row is not None:
            self.warn.file(f"the file is cut off: it ends in the middle of row {self.cut_row}, kept as unparseable",
                           row=self.cut_row)

    def encoding_warning(self, row: int | None) -> None:
        dec = self.dec
        if not dec.wrong_encoding:
            return
        where = f"at row {row}" if row else "in the header"
        if dec.escaped:
            self.warn.file(
                f"wrong encoding: declared {dec.declared} first failed {where} ({dec.fail_reason}), and neither "
                f"UTF-8 nor GB18030 decodes the file; rows holding undecodable bytes are unparseable",
                row=row,
            )
        else:
            self.warn.file(
                f"wrong encoding: declared {dec.declared} first failed {where} ({dec.fail_reason}); "
                f"the file decodes as {dec.used} and was read as {dec.used}",
                row=row,
            )


@dataclass
class _PieceRows:
    """One piece's rows as :class:`_PieceReader` works them out, numbered from 1 within the piece: the parsed ones
    (``parsed``, their numbers ``good_rows``), the unparseable ones (``bad_rows``, with their errors and texts), and
    the parsed ones found unparseable after all (``demote``: index into ``parsed`` -> (error, raw text))."""

    utf8: bytes
    parsed: pa.Table
    good_rows: np.ndarray
    bad_rows: np.ndarray
    bad_errors: list[str]
    bad_texts: list[str]
    is_bad: np.ndarray  # by row number: unparseable as parsed
    total: int
    lines: _RecordLines
    demote: dict[int, tuple[str, str]] = field(default_factory=dict)

    def demote_marked(self) -> None:
        """Move the parsed rows marked in ``demote`` to the unparseable ones."""
        if not self.demote:
            return
        idxs = np.fromiter(sorted(self.demote), dtype=np.int64)
        keep = np.ones(self.parsed.num_rows, dtype=bool)
        keep[idxs] = False
        self.bad_rows = np.concatenate([self.bad_rows, self.good_rows[idxs]])
        self.bad_errors += [self.demote[int(i)][0] for i in idxs]
        self.bad_texts += [self.demote[int(i)][1] for i in idxs]
        self.parsed = self.parsed.filter(pa.array(keep))
        self.good_rows = self.good_rows[keep]


@dataclass(frozen=True)
class _Repair:
    """A physical line that a quote opened and never closed: its text as delivered, what it is parsed as instead,
    and the field whose opening quote was dropped (None: no repair gives the row its fields)."""

    text: str
    new_text: str
    field: int | None


def _stray_quotes(utf8: bytes, parsed: pa.Table, bad_numbers: list[int], bad_texts: list[str], n_cols: int,
                  delimiter: str, quote: str, done: dict[int, _Repair], *, first_only: bool) -> dict[int, _Repair]:
    """The lines to repair where a quote opened at a field's start runs past its line end, swallowing the rows
    after it into one record (SPEC §7: a stray quote is a defect of its row, not the end of the file).

    A record is suspect when it spans several lines or is unparseable. Each of its lines is read on its own: a line
    that holds the header's fields as it is, or once one field-opening quote is dropped, is a row of its own. A
    record of several lines is split into its lines when one of them is such a row with its quotes paired, or two
    are such rows, or the record is unparseable anyway and one is: a quoted value with a line end in it leaves at
    most one line with all the fields, and that line holds the quote closing the value. The
    lines of a split record whose quote runs past their end are repaired (the quote dropped) or, when nothing gives
    them their fields, kept unparseable with their own text. ``first_only``: only the first such line of each record
    (the quote that opened it), so that a parse after the repair tells a later quoted line end from another stray
    quote."""
    total = parsed.num_rows + len(bad_numbers)
    n_lines = utf8.count(b"\n") + (0 if utf8.endswith(b"\n") or not utf8 else 1)
    bad_with_quote = [n for n, t in zip(bad_numbers, bad_texts) if quote in t]
    if (total == n_lines and not bad_with_quote) or utf8.count(b"\r") != utf8.count(b"\r\n"):
        return {}  # (bare CRs end rows the LF-located lines cannot follow: such a file is parsed as it is)
    is_bad = np.zeros(total + 1, dtype=bool)
    is_bad[np.asarray(bad_numbers, dtype=np.int64)] = True
    good_rows = np.flatnonzero(~is_bad[1:]) + 1
    records = _RecordLines(utf8, 0, total, parsed, good_rows, np.asarray(bad_numbers, dtype=np.int64), bad_texts)
    suspects = sorted(set(records.multi_line()) | set(bad_with_quote))
    if not suspects:
        return {}
    physical = utf8.split(b"\n")
    found: dict[int, _Repair] = {}
    for record in suspects:
        span = records.lines_of(record)
        if span.stop > len(physical) + 1:
            continue
        texts = [physical[line - 1].decode("utf-8", "replace") for line in span]
        readings = [_read_alone(t.removesuffix("\r"), delimiter, quote, n_cols) for t in texts]
        rows = sum(r is not None for r in readings)
        closed = any(r is not None and r[1] is None and t.count(quote) % 2 == 0 for r, t in zip(readings, texts))
        if not (closed or rows >= 2 or (rows and is_bad[record])):
            continue
        for line, text, reading in zip(span, texts, readings):
            if line in done or (reading is not None and reading[1] is None):
                continue  # a row as it is (or as repaired)
            cr = "\r" if text.endswith("\r") else ""
            if reading is None:
                if _parses_alone(text.removesuffix("\r"), delimiter, quote):
                    continue  # closed on its line, with the wrong number of fields: unparseable as it is
                found[line] = _Repair(text.removesuffix("\r"), delimiter * n_cols + cr, None)
            else:
                fields, dropped = reading
                found[line] = _Repair(text.removesuffix("\r"), _csv_line(fields, delimiter, quote) + cr, dropped)
            if first_only:
                break
    return found


def _read_alone(line: str, delimiter: str, quote: str, n_cols: int) -> tuple[list[str], int | None] | None:
    """The line's fields read on its own when there are ``n_cols`` of them, as it is (None dropped) or once the quote
    opening one field is dropped (that field's index); None when neither gives ``n_cols`` fields."""
    fields = _fields_alone(line, delimiter, quote)
    if fields is not None:
        return (fields, None) if len(fields) == n_cols else None
    starts = [i for i, ch in enumerate(line) if ch == quote and (i == 0 or line[i - 1] == delimiter)]
    for at in starts:
        fields = _fields_alone(line[:at] + line[at + 1 :], delimiter, quote)
        before = _fields_alone(line[:at], delimiter, quote) if at else [""]  # the fields before, and an empty one
        if fields is not None and len(fields) == n_cols and before is not None and len(before) <= n_cols:
            return fields, len(before) - 1
    return None


def _fields_alone(line: str, delimiter: str, quote: str) -> list[str] | None:
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar=quote, strict=True))
    except csv.Error:
        return None


def _parses_alone(line: str, delimiter: str, quote: str) -> bool:
    return _fields_alone(line, delimiter, quote) is not None


def _csv_line(fields: list[str], delimiter: str, quote: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quotechar=quote, lineterminator="").writerow(fields)
    return out.getvalue()


def _rewrite_lines(utf8: bytes, repairs: dict[int, _Repair]) -> bytes:
    physical = utf8.split(b"\n")
    for line, fix in repairs.items():
        physical[line - 1] = fix.new_text.encode("utf-8")
    return b"\n".join(physical)


def _parse(utf8: bytes, raw_header: list[str], delimiter: str, quote_char: str, on_invalid) -> pa.Table:
    return pacsv.read_csv(
        pa.py_buffer(utf8),
        read_options=pacsv.ReadOptions(use_threads=False, block_size=_BLOCK_SIZE, column_names=raw_header),
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

    def __init__(self, utf8, header_lines, total, parsed, good_rows, bad_rows, bad_texts):
        self._utf8 = utf8
        self._header_lines = header_lines
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

    def multi_line(self) -> list[int]:
        """The records that span more than one line."""
        if self._starts is None:
            self._build()
        return [int(r) + 1 for r in np.flatnonzero(self._spans[1 : self._total + 1] > 1)]

    def lines_of(self, record: int) -> range:
        """The physical lines (1-based) of data record ``record``."""
        if self._starts is None:
            self._build()
        first = int(self._starts[record])
        return range(first, first + int(self._spans[record]))

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
