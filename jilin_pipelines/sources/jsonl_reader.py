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

import json
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from jilin_pipelines.sources._common import (
    Warnings,
    assemble,
    decode_strict,
    decode_tail,
    open_delivery_file,
    unescape_bytes,
)
from jilin_pipelines.sources.delivery import Delivery

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
    time (default :data:`CHUNK_ROWS`)."""

    def __init__(self, location: str, columns: Sequence[str] | None, chunk_rows: int | None = None):
        self.location = location
        self.expected = list(columns) if columns is not None else None
        self.names: dict[str, None] = dict.fromkeys(columns or [])
        self.chunk_rows = max(1, chunk_rows or CHUNK_ROWS)
        self.objects: list[dict[str, str | None] | None] = []  # the chunk being collected
        self.chunks: list[tuple[int, dict[str, pa.Array]]] = []  # (rows, columns) of the chunks converted
        self.rows: list[int] = []
        self.errors: list[str | None] = []
        self.raws: list[str | None] = []
        self._last_keys = None

    @property
    def n(self) -> int:
        """Rows collected so far, unparseable ones included."""
        return len(self.rows)

    @property
    def unparseable(self) -> int:
        return len(self.errors) - self.errors.count(None)

    def add(self, row: int, texts: dict[str, str | None]) -> None:
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
        if len(self.objects) >= self.chunk_rows:
            self._convert()

    def add_unparseable(self, row: int, error: str, raw: str) -> None:
        self.objects.append(None)
        self.rows.append(row)
        self.errors.append(error)
        self.raws.append(raw)
        if len(self.objects) >= self.chunk_rows:
            self._convert()

    def _convert(self) -> None:
        """One C++ conversion of the chunk's dicts into a struct array, split into its string columns."""
        names = list(self.names)
        struct = pa.array(self.objects, type=pa.struct([pa.field(c, pa.string()) for c in names]))
        self.chunks.append((len(self.objects), dict(zip(names, struct.flatten())) if names else {}))
        self.objects = []

    def table(self, warn: Warnings, *, what: str | None = "keys", quiet_rows: Iterable[int] = ()) -> pa.Table:
        """The delivery table. Warns of unexpected and absent ``what`` (None: the caller does) and of each unparseable
        row not in ``quiet_rows``."""
        if self.objects or not self.chunks:
            self._convert()
        names = list(self.names)
        # a key first seen in a later chunk is null in the earlier ones; the chunks stay chunks (not copied whole)
        columns = {c: pa.chunked_array([cols[c] if c in cols else pa.nulls(n, pa.string()) for n, cols in self.chunks],
                                       pa.string())
                   for c in names}
        self.chunks = []
        if self.expected is not None and what is not None:
            expected = set(self.expected)
            extra = [c for c in names if c not in expected]
            if extra:
                warn.file(f"unexpected {what} {extra} kept as delivered")
            if self.n > self.unparseable:
                absent = [c for c in self.expected if columns[c].null_count == len(self.rows)]
                if absent:
                    warn.file(f"expected {what} {absent} are absent or null in every row")
        quiet = set(quiet_rows)
        for r, e in zip(self.rows, self.errors):
            if e is not None and r not in quiet:
                warn.row(r, f"unparseable: {e}")
        return assemble(
            names,
            columns,
            np.asarray(self.rows, dtype=np.int64),
            error=pa.array(self.errors, pa.string()),
            raw=pa.array(self.raws, pa.string()),
        )


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


def parse_lines(lines: Iterable[tuple[int, str]], collector: ColumnCollector, *, last_line: int | None,
                cut_off: bool) -> None:
    """Parse ``(line number, text)`` pairs into the collector."""
    scan = _DECODER.scan_once
    add = collector.add
    for number, line in lines:
        try:
            try:
                obj, end = scan(line, 0)
            except StopIteration:
                obj, end = None, -1
            if end != len(line) and line[end:].strip(" \t\r") != "" or end < 0:
                obj = _DECODER.decode(line)  # raises the JSONDecodeError that says what is wrong
        except (ValueError, RecursionError) as exc:  # a too deeply nested line is unparseable too
            why = f"not valid JSON: {exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            if cut_off and number == last_line:
                why = f"the file ends inside this line (cut off): {why}"
            collector.add_unparseable(number, why, line)
            continue
        if type(obj) is not dict:
            collector.add_unparseable(number, f"not a JSON object but a {type(obj).__name__}", line)
            continue
        add(number, object_texts(obj, line))


def read_jsonl(
    path: str | Path,
    *,
    dataset: str,
    day: date,
    columns: Sequence[str] | None,
    encoding: str = "utf-8",
) -> Delivery:
    """Read one JSON Lines delivery; ``sha256``/``size_bytes`` are the file's bytes'."""
    path = Path(path)
    location = str(path)
    data, delivery, warn = open_delivery_file(path, dataset, day, columns)
    if data is None:
        return delivery
    dec = decode_strict(data, encoding)
    text = dec.utf8.decode("utf-8") + decode_tail(dec.truncated_tail)
    if dec.wrong_encoding:
        warn.file(
            f"wrong encoding: declared {dec.declared} first failed at line {dec.fail_line} ({dec.fail_reason}); "
            + ("lines holding undecodable bytes are unparseable" if dec.escaped else f"read as {dec.used}"),
            row=dec.fail_line,
        )
    ends_with_line_end = text.endswith("\n")
    lines = text.split("\n")
    del text, data  # the lines hold the text now
    if ends_with_line_end:
        lines.pop()
    numbered = [(i, s[:-1] if s.endswith("\r") else s) for i, s in enumerate(lines, start=1)]
    blank = [i for i, s in numbered if not s.strip()]
    numbered = [(i, s) for i, s in numbered if s.strip()]
    last_line = numbered[-1][0] if numbered else None
    cut_off = bool(numbered) and (not ends_with_line_end or bool(dec.truncated_tail))

    collector = ColumnCollector(location, columns)
    if dec.escaped:
        clean = []
        for i, s in numbered:
            if any(ord(ch) in _ESCAPED for ch in s):
                collector.add_unparseable(i, f"holds bytes that are not {dec.declared}", unescape_bytes(s))
            else:
                clean.append((i, s))
        numbered = clean
    parse_lines(numbered, collector, last_line=last_line, cut_off=cut_off)
    quiet = [last_line] if cut_off else []
    table = collector.table(warn, quiet_rows=quiet)
    if dec.escaped:
        table = table.take(pa.array(np.argsort(np.asarray(collector.rows), kind="stable")))
    interior_blank = [i for i in blank if last_line is not None and i < last_line]
    if interior_blank:
        warn.file(f"{len(interior_blank)} blank lines skipped (lines {interior_blank[:20]})")
    if cut_off and table.num_rows and table.column("_error")[-1].is_valid:
        warn.file(f"the file is cut off: its last line {last_line} is incomplete, kept as unparseable", row=last_line)
    if table.num_rows == 0:
        warn.file("the file holds no JSON lines")
    delivery.table = table
    delivery.warnings = warn.done()
    return delivery
