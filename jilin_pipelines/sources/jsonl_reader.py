"""JSON Lines deliveries: one JSON object per line, UTF-8.

Values become text: strings as they are, ``null`` null, ``true``/``false`` as those words, numbers
as their literal text exactly as written in the file (``3500.50`` stays ``3500.50``), lists and
objects as compact JSON (``ensure_ascii=False``, ``separators=(",", ":")``; numbers inside them
as Python re-serialises them).

``_source_row`` is the line number. Blank lines are no rows (their numbers are simply absent); a line
that is not a JSON object (bad JSON, a cut-off last line, an array) is an unparseable row with its
raw text. Keys that are not among ``columns`` are kept as extra columns, with a warning. The
encoding is checked strictly as for CSV (a GB18030 file is read as such, with a warning naming the
line).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from jilin_pipelines.sources.decoding import decode_tail, detect_encoding, unescape_bytes, utf8_blocks
from jilin_pipelines.sources.delivery import BOOKKEEPING_COLUMNS, Delivery, Sink, empty_table
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.reader import open_delivery_stream
from jilin_pipelines.sources.tables import assemble

_ESCAPED = set(range(0xF700, 0xF800))


class _NumberText(str):
    """A JSON number kept as its literal text."""


def _constant(name: str) -> _NumberText:
    return _NumberText(name)  # NaN, Infinity, -Infinity: not JSON, kept as written


def compact_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def value_text(value) -> str | None:
    """One JSON value as text (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return compact_json(value)


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


def object_texts(obj: dict, line: str | None = None) -> dict[str, str | None]:
    """The texts of one parsed object. With ``line`` given (parsed with number literals kept),
    nested values are re-read from the line so their numbers are real JSON numbers again."""
    for v in obj.values():
        if v is not None and type(v) is not str:
            break
    else:
        return obj  # the common case: strings and nulls only
    texts: dict[str, str | None] = {}
    plain = None
    for k, v in obj.items():
        if isinstance(v, (list, dict)):
            if line is not None:
                if plain is None:
                    plain = json.loads(line)
                v = plain[k]
            texts[k] = compact_json(v)
        else:
            texts[k] = value_text(v)
    return texts


_DECODER = json.JSONDecoder(parse_float=_NumberText, parse_int=_NumberText, parse_constant=_constant)


def _parse_line(number: int, line: str, collector: ColumnCollector, cut_off: bool) -> None:
    """One line into the collector: an object, or an unparseable row saying why (``cut_off``: the file ends inside
    this line)."""
    try:
        try:
            obj, end = _DECODER.scan_once(line, 0)
        except StopIteration:
            obj, end = None, -1
        if end != len(line) and line[end:].strip(" \t\r") != "" or end < 0:
            obj = _DECODER.decode(line)  # raises the JSONDecodeError that says what is wrong
    except (ValueError, RecursionError) as exc:  # a too deeply nested line is unparseable too
        why = f"not valid JSON: {exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        if cut_off:
            why = f"the file ends inside this line (cut off): {why}"
        collector.add_unparseable(number, why, line)
        return
    if type(obj) is not dict:
        collector.add_unparseable(number, f"not a JSON object but a {type(obj).__name__}", line)
        return
    if _SURROGATE_ESCAPE.search(line) and has_lone_surrogate(obj):
        collector.add_unparseable(number, LONE_SURROGATE, line.encode("utf-8", "backslashreplace").decode())
        return
    collector.add(number, object_texts(obj, line))


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
LONE_SURROGATE = "holds a \\uD800–\\uDFFF escape that is half of a character (a lone surrogate): no text"


def has_lone_surrogate(value) -> bool:
    """Whether a parsed JSON value holds a lone surrogate (``"\\ud800"``), which no UTF-8 text can carry."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _lines(blocks: Iterator[bytes], tail: str) -> Iterator[tuple[int, str, bool]]:
    """``(line number, text, last)`` of the UTF-8 text given a block at a time (then ``tail``, the shown bytes of a
    cut-off character), ``\\r\\n`` ends taken as ``\\n``; ``last``: the text ends inside this line (no line end
    after it)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    carry = ""
    number = 0
    for block in blocks:
        parts = (carry + decoder.decode(block)).split("\n")
        carry = parts.pop()
        for text in parts:
            number += 1
            yield number, text[:-1] if text.endswith("\r") else text, False
    carry += decoder.decode(b"", final=True) + tail
    if carry:
        yield number + 1, carry[:-1] if carry.endswith("\r") else carry, True


def read_jsonl(
    path: str | Path,
    *,
    dataset: str,
    day: date,
    columns: Sequence[str] | None,
    encoding: str = "utf-8",
    sink: Sink | None = None,
) -> Delivery:
    """Read one JSON Lines delivery; ``sha256``/``size_bytes`` are the file's bytes'.

    The file is read twice a block at a time (its digest and encoding, then its lines), never whole, and its
    objects collected a chunk at a time (:class:`ColumnCollector`): with a ``sink``, each chunk goes to it as the
    next begins and the delivery's ``table`` is left empty (its counts say what was read)."""
    path = Path(path)
    location = str(path)
    payload, delivery, warn = open_delivery_stream(path, dataset, day, columns)
    if payload is None:
        return delivery
    delivery.sha256, delivery.size_bytes = payload.sha256(), payload.size
    dec = detect_encoding(payload, encoding)
    if dec.wrong_encoding:
        warn.file(
            f"wrong encoding: declared {dec.declared} first failed at line {dec.fail_line} ({dec.fail_reason}); "
            + ("lines holding undecodable bytes are unparseable" if dec.escaped else f"read as {dec.used}"),
            row=dec.fail_line,
        )
    collector = ColumnCollector(location, columns, warn, sink=sink)

    def take(number: int, line: str, cut_off: bool) -> None:
        if dec.escaped and any(ord(ch) in _ESCAPED for ch in line):
            collector.add_unparseable(number, f"holds bytes that are not {dec.declared}", unescape_bytes(line))
        else:
            _parse_line(number, line, collector, cut_off)

    # each line is taken once the next non-blank one is seen: only then is it known not to be the file's last
    held: tuple[int, str] | None = None
    interior_blank: list[int] = []  # blank lines before the last non-blank one (the first 20, and how many)
    n_interior = 0
    blank_since: list[int] = []
    n_blank_since = 0
    ends_inside = False
    for number, line, last in _lines(utf8_blocks(payload, dec), decode_tail(dec.truncated_tail)):
        ends_inside = last
        if not line.strip():
            n_blank_since += 1
            if len(blank_since) < 20:
                blank_since.append(number)
            continue
        if held is not None:
            take(*held, False)
        held = (number, line)
        n_interior += n_blank_since
        interior_blank += blank_since[: 20 - len(interior_blank)]
        blank_since, n_blank_since = [], 0
    cut_off = held is not None and (ends_inside or bool(dec.truncated_tail))
    if held is not None:
        take(*held, cut_off)
    last_unparseable = collector.n > 0 and collector.errors[-1] is not None  # (the last row is kept until the end)
    quiet = [held[0]] if cut_off else []
    collector.deliver(delivery, quiet_rows=quiet)
    if n_interior:
        warn.file(f"{n_interior} blank lines skipped (lines {interior_blank})")
    if cut_off and last_unparseable:
        warn.file(f"the file is cut off: its last line {held[0]} is incomplete, kept as unparseable", row=held[0])
    if collector.n == 0:
        warn.file("the file holds no JSON lines")
    delivery.warnings = warn.done()
    return delivery
