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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jilin_pipelines.sources.collector import ColumnCollector
from jilin_pipelines.sources.decoding import Decoded, decode_tail, detect_encoding, unescape_bytes, utf8_blocks
from jilin_pipelines.sources.delivery import Delivery, Sink
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.payload import Payload
from jilin_pipelines.sources.reader import FileReader

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


def read_jsonl(path: str | Path, *, dataset: str, day: date, columns: Sequence[str] | None, encoding: str = "utf-8",
               sink: Sink | None = None) -> Delivery:
    """Read one JSON Lines delivery; ``sha256``/``size_bytes`` are the file's bytes'.

    The file is read twice a block at a time (its digest and encoding, then its lines), never whole, and its
    objects collected a chunk at a time (:class:`ColumnCollector`): with a ``sink``, each chunk goes to it as the
    next begins and the delivery's ``table`` is left empty (its counts say what was read)."""
    return _JsonlFile(columns=columns, sink=sink, encoding=encoding).read(path, dataset=dataset, day=day)


@dataclass(kw_only=True)
class _JsonlFile(FileReader):
    """A JSON Lines delivery's own part of reading it: its lines, each an object or an unparseable row."""

    encoding: str

    def read_rows(self, payload: Payload, delivery: Delivery, warn: Warnings) -> None:
        dec = detect_encoding(payload, self.encoding)
        if dec.wrong_encoding:
            warn.file(
                f"wrong encoding: declared {dec.declared} first failed at line {dec.fail_line} ({dec.fail_reason}); "
                + ("lines holding undecodable bytes are unparseable" if dec.escaped else f"read as {dec.used}"),
                row=dec.fail_line,
            )
        collector = ColumnCollector(delivery.location, self.columns, warn, sink=self.sink)
        blanks = _BlankLines()
        last = _take_lines(payload, dec, collector, blanks)
        cut_off = last is not None and last[1]
        last_unparseable = collector.n > 0 and collector.errors[-1] is not None  # (the last row is kept until the end)
        collector.deliver(delivery, quiet_rows=[last[0]] if cut_off else [])
        if blanks.count:
            warn.file(f"{blanks.count} blank lines skipped (lines {blanks.numbers})")
        if cut_off and last_unparseable:
            warn.file(f"the file is cut off: its last line {last[0]} is incomplete, kept as unparseable", row=last[0])
        if collector.n == 0:
            warn.file("the file holds no JSON lines")


class _BlankLines:
    """The blank lines between rows (no rows: their numbers are simply absent), counted and the first 20 named; blank
    lines after the last row are not counted."""

    def __init__(self):
        self.count = 0
        self.numbers: list[int] = []
        self._since: list[int] = []  # since the last row (the first 20, and how many)
        self._count_since = 0

    def blank(self, number: int) -> None:
        self._count_since += 1
        if len(self._since) < 20:
            self._since.append(number)

    def row(self) -> None:
        """A non-blank line: the blank lines before it are between rows."""
        self.count += self._count_since
        self.numbers += self._since[: 20 - len(self.numbers)]
        self._since, self._count_since = [], 0


def _take_lines(payload: Payload, dec: Decoded, collector: ColumnCollector,
                blanks: _BlankLines) -> tuple[int, bool] | None:
    """Each non-blank line into the collector, taken once the next non-blank one is seen: only then is it known not to
    be the file's last. The last one's number and whether the file ends inside it (None: no line but blank ones)."""
    held: tuple[int, str] | None = None
    ends_inside = False
    for number, line, last in _lines(utf8_blocks(payload, dec), decode_tail(dec.truncated_tail)):
        ends_inside = last
        if not line.strip():
            blanks.blank(number)
            continue
        if held is not None:
            _take_line(*held, False, collector, dec)
        held = (number, line)
        blanks.row()
    if held is None:
        return None
    cut_off = ends_inside or bool(dec.truncated_tail)
    _take_line(*held, cut_off, collector, dec)
    return held[0], cut_off


def _take_line(number: int, line: str, cut_off: bool, collector: ColumnCollector, dec: Decoded) -> None:
    """One line into the collector; a line holding undecodable bytes is unparseable."""
    if dec.escaped and any(ord(ch) in _ESCAPED for ch in line):
        collector.add_unparseable(number, f"holds bytes that are not {dec.declared}", unescape_bytes(line))
    else:
        _parse_line(number, line, collector, cut_off)
