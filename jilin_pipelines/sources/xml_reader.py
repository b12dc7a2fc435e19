"""XML deliveries: a root element holding one element per record, one child element per field.

Parsed with the stdlib expat parser the way ``defusedxml`` configures it, stricter: a document type
declaration of any kind (internal subset, entity declarations, external DTD) is refused with a
:class:`DeliveryError` naming the file before anything is expanded, so XXE and "billion laughs" deliveries never
reach the data; external entity references and parameter entities are never resolved. The bytes are scanned for
``<!DOCTYPE`` / ``<!ENTITY`` first (outside comments and CDATA sections, where such text is no declaration), so a
declaration is refused wherever it sits (also after a fault, where expat stops and the broken tail is split up by
hand), and expat's own handlers refuse again as it parses.

Each record element (``record_tag``, wherever it sits, not nested in another record) is one row:

* ``_source_row`` is the record element's 1-based position in the document;
* each child element's text is the value of the column named like the child (``<Name> x </Name>``
  -> ``" x "``, not stripped; ``<Owner/>`` -> ``""``; a child that is absent -> null); text of
  elements nested deeper is flattened into the child's text, with a warning;
* attributes are kept in extra columns ``<element>@<attribute>`` (``<ContractPrice unit="万元">``
  -> column ``ContractPrice@unit``; attributes of the record element -> ``<record_tag>@<attr>``);
* a child element that appears twice in one record makes the record unparseable (raw text kept).

A document that stops being well-formed (cut off mid-element, an undefined entity, a stray ``&``)
lands every complete record before the fault; the rest is split at the record start tags and each
piece is parsed on its own: pieces that are complete records land (a complete record followed by junk lands, the
junk is an unparseable row of its own), the others (the broken tail of a cut-off file) are unparseable rows with
their raw text, and a warning gives the line and column.

The declared encoding (XML declaration, UTF-8 by default) is checked strictly like the other
readers: a file that does not decode in it is read in the encoding that does, with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from xml.parsers import expat

from jilin_pipelines.sources.collector import ColumnCollector
from jilin_pipelines.sources.decoding import (
    BOM, ESCAPED_CHAR_PATTERN, Decoded, decode_tail, detect_encoding, unescape_bytes, utf8_blocks,
)
from jilin_pipelines.sources.delivery import Delivery, DeliveryError, Sink
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.payload import Payload
from jilin_pipelines.sources.reader import FileReader

_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ESCAPED = re.compile(ESCAPED_CHAR_PATTERN)
_CUT_OFF_ERRORS = {
    expat.errors.codes[m]
    for m in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
    )
}


class _Refused(Exception):
    pass


class _Parser:
    """One expat pass over UTF-8 text fed a block at a time (:meth:`feed`), handing each record to
    ``on_record(values, problem, raw)`` as it ends (problem: why it is unparseable, or None; raw: a function giving
    the record's bytes) — by default collected in ``records``. Only the text from the start of the record in
    progress (or the end of the last one) on is kept (``window``)."""

    def __init__(self, record_tag: str, on_record=None):
        self.tag = record_tag
        self.records: list[tuple[dict[str, str], str | None, object]] = []
        self.on_record = on_record or (lambda *record: self.records.append(record))
        self.window = bytearray()  # the text fed, from ``window_start`` on
        self.window_start = 0
        self.root: str | None = None
        self.after_root_start = 0
        self.last_end = 0
        self.depth = 0
        self.in_record = False
        self.rec_depth = 0
        self.rec_start = 0
        self.rec: dict[str, str] = {}
        self.rec_problem: str | None = None
        self.child: str | None = None
        self.buf: list[str] = []
        self.flattened: set[str] = set()
        self.outside: dict[str, int] = {}

        p = expat.ParserCreate(encoding="UTF-8")  # overrides the declaration: we feed UTF-8
        p.buffer_text = True
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = self._refuse_doctype
        p.EntityDeclHandler = self._refuse_entity
        p.UnparsedEntityDeclHandler = self._refuse_entity
        p.ExternalEntityRefHandler = self._refuse_external
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text
        self.p = p

    def _tag_end(self, at: int) -> int:
        """The position just after the ``>`` that ends the tag starting at ``at`` (fed already: expat calls a
        handler once it has the whole tag)."""
        return self.window_start + self.window.index(b">", at - self.window_start) + 1

    def text_from(self, start: int) -> bytes:
        """The text fed from ``start`` on (``start`` not before the window)."""
        return bytes(self.window[start - self.window_start :])

    # refusals -------------------------------------------------------------------------------
    def _refuse_doctype(self, name, sysid, pubid, has_internal_subset):
        raise _Refused(
            f"has a document type declaration (<!DOCTYPE {name}>"
            + (" with an internal subset" if has_internal_subset else "")
            + (f", external DTD {sysid!r}" if sysid else "")
            + "): DTDs and entities are refused"
        )

    def _refuse_entity(self, name, *args):
        raise _Refused(f"declares the entity {name!r}: DTDs and entities are refused")

    def _refuse_external(self, context, base, sysid, pubid):
        raise _Refused(f"references the external entity {sysid!r}: external entities are refused")

    # content --------------------------------------------------------------------------------
    def _start(self, name, attrs):
        self.depth += 1
        if self.depth == 1:
            self.root = name
            self.after_root_start = self._tag_end(self.p.CurrentByteIndex)
            self.last_end = self.after_root_start
        if not self.in_record:
            if name == self.tag:
                self.in_record = True
                self.rec_depth = self.depth
                self.rec_start = self.p.CurrentByteIndex
                self.rec = {f"{name}@{k}": v for k, v in attrs.items()}
                self.rec_problem = None
            elif self.depth > 1:
                self.outside[name] = self.outside.get(name, 0) + 1
            return
        if self.depth == self.rec_depth + 1:
            if name in self.rec and self.rec_problem is None:
                self.rec_problem = f"element <{name}> appears more than once"
            self.child = name
            self.buf = []
            for k, v in attrs.items():
                self.rec[f"{name}@{k}"] = v
        elif self.child is not None:
            self.flattened.add(self.child)

    def _text(self, text):
        if self.child is not None:
            self.buf.append(text)

    def _end(self, name):
        if self.in_record:
            if self.depth == self.rec_depth + 1 and self.child is not None:
                self.rec[self.child] = "".join(self.buf)
                self.child = None
            elif self.depth == self.rec_depth:
                start, end = self.rec_start, self._tag_end(self.p.CurrentByteIndex)
                self.on_record(self.rec, self.rec_problem,
                               lambda: bytes(self.window[start - self.window_start : end - self.window_start]))
                self.last_end = end
                self.in_record = False
        self.depth -= 1

    def feed(self, block: bytes, final: bool = False) -> expat.ExpatError | None:
        """Parse the next block of text (``final``: the last); the error that stopped it, if one did."""
        self.window += block
        try:
            self.p.Parse(block, final)
        except expat.ExpatError as exc:
            return exc
        keep = self.rec_start if self.in_record else self.last_end
        if keep - self.window_start > len(self.window) // 2:  # let go of the text before it (into a new buffer:
            self.window = self.window[keep - self.window_start :]  # a bytearray keeps what its front lost)
            self.window_start = keep
        return None

    def close(self) -> None:
        self.p = None  # the expat parser holds our handlers: no reference cycle left to the cycle collector

    def parse(self, text: bytes) -> expat.ExpatError | None:
        """Parse a whole text at once."""
        try:
            return self.feed(text, final=True)
        finally:
            self.close()


#: bytes of a block kept before the next, so that a marker across two blocks is still found
_OVERLAP = 1 << 10
#: what the scan looks for: comments and CDATA sections (a ``<!DOCTYPE`` written inside them is text, not a
#: declaration), and the declarations themselves
_MARKS = re.compile(rb"<!--|-->|<!\[CDATA\[|\]\]>|<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_CLOSES = {b"<!--": b"-->", b"<![CDATA[": b"]]>"}


class _DeclarationScan:
    """Where the file's first ``<!DOCTYPE`` / ``<!ENTITY`` outside comments and CDATA sections is, found as its
    blocks are fed (:meth:`feed`) in the digest's pass over them (ASCII: the same bytes in UTF-8, GBK and GB18030
    text, and the same line ends)."""

    def __init__(self):
        self.found: tuple[int, str] | None = None  # the line and kind (DOCTYPE or ENTITY) of the first declaration
        self._inside: bytes | None = None  # the closing marker of the comment or CDATA section the scan is in
        self._lines = 0  # line ends before ``_held``
        self._held = b""  # the end of the text fed so far, where a marker may go on in the next block

    def feed(self, block: bytes | memoryview) -> None:
        if self.found is None:
            self._scan(self._held + bytes(block), last=False)

    def first(self) -> tuple[int, str] | None:
        """The line and kind of the first declaration, once the whole file was fed (None: there is none)."""
        if self.found is None:
            self._scan(self._held, last=True)
        return self.found

    def _scan(self, text: bytes, *, last: bool) -> None:
        limit = len(text) if last else max(0, len(text) - _OVERLAP)  # a marker may continue in the next block
        cut = limit
        for m in _MARKS.finditer(text):
            if m.start() >= limit:
                break
            token = m.group(0)
            cut = max(limit, m.end())
            if self._inside is not None:
                if token == self._inside:
                    self._inside = None
            elif token in _CLOSES:
                self._inside = _CLOSES[token]
            elif m.group(1):
                self.found = (self._lines + text.count(b"\n", 0, m.start()) + 1, m.group(1).decode("ascii").upper())
                return
        self._lines += text.count(b"\n", 0, cut)
        self._held = text[cut:]


def read_xml(path: str | Path, *, dataset: str, day: date, record_tag: str, columns: Sequence[str] | None,
             sink: Sink | None = None) -> Delivery:
    """Read one XML delivery; see the module docstring for attributes, refusals and broken files.

    The file is never whole in memory: it is read a block at a time for its digest (and any ``<!DOCTYPE`` /
    ``<!ENTITY``) and its encoding, then decoded and fed to expat a block at a time, its records collected a chunk
    at a time (:class:`ColumnCollector`) — with a ``sink``, each chunk goes to it as the next begins and the
    delivery's ``table`` is left empty (its counts say what was read). Only a broken document's tail, from the
    fault on, is held whole, to be split up by hand."""
    return _XmlFile(columns=columns, sink=sink, record_tag=record_tag).read(path, dataset=dataset, day=day)


@dataclass(kw_only=True)
class _XmlFile(FileReader):
    """An XML delivery's own part of reading it: declarations refused, its records fed through expat, a broken tail
    split up by hand."""

    blank_file = "the file is empty: no XML document at all"

    record_tag: str
    #: fed the file's blocks as its digest is taken
    _declarations: _DeclarationScan = field(default_factory=_DeclarationScan, init=False)

    def inspect(self, block: bytes | memoryview) -> None:
        self._declarations.feed(block)

    def read_rows(self, payload: Payload, delivery: Delivery, warn: Warnings) -> None:
        location = delivery.location
        dec = _decoding(payload, location)
        if dec.wrong_encoding:
            warn.file(
                f"wrong encoding: declared {dec.declared} first failed at line {dec.fail_line} ({dec.fail_reason}); "
                + ("undecodable bytes are shown as \\xNN" if dec.escaped else f"read as {dec.used}"),
            )
        declaration = self._declarations.first()
        if declaration is not None:  # anywhere, even where expat would stop first (after a fault, in a broken tail)
            line, kind = declaration
            raise DeliveryError(
                f"{location}: line {line} holds a {kind} declaration (<!DOCTYPE/<!ENTITY): DTDs and entities are refused"
            )

        rows = Warnings(location)  # the unparseable rows, named after what is said of the whole file
        records = _Records(ColumnCollector(location, self.columns, rows, sink=self.sink), dec)
        parser = _Parser(self.record_tag, records.take)
        blocks = utf8_blocks(payload, dec)
        error = _feed(parser, blocks, location)
        if error is not None:
            _land_after_fault(error, parser, blocks, records, warn)
        elif dec.truncated_tail:
            records.add_cut_tail()
            warn.file("the file is cut off inside a character after the document's end")

        # columns: the expected ones first, then attributes and unexpected elements in order of appearance
        records.collector.deliver(delivery, what=None)
        self._warn_of_columns(records.collector, parser, warn)
        warn.items += rows.done()
        if not records.collector.n:
            warn.file(f"the document holds no <{self.record_tag}> elements")

    def _warn_of_columns(self, collector: ColumnCollector, parser: _Parser, warn: Warnings) -> None:
        """Warn of unexpected elements, expected ones in no record, and elements flattened or ignored."""
        tag = self.record_tag
        expected = list(self.columns) if self.columns is not None else []
        expected_set = set(expected)
        extra = [c for c in collector.names if c not in expected_set]
        unexpected = [c for c in extra if "@" not in c or c.split("@", 1)[0] not in expected_set | {tag}]
        if self.columns is not None and unexpected:
            warn.file(f"unexpected elements {unexpected} kept as delivered")
        if self.columns is not None and collector.n > collector.unparseable:
            absent = [c for c in expected if not collector.nonnull.get(c)]  # a present one is text
            if absent:
                warn.file(f"expected elements {absent} occur in no <{tag}> element (all null)")
        if parser.flattened:
            warn.file(f"elements nested inside {sorted(parser.flattened)} were flattened to their text")
        if parser.outside:
            warn.file(f"elements outside <{tag}> records ignored: {parser.outside}")


def _decoding(payload: Payload, location: str) -> Decoded:
    """How the file decodes, checked strictly in the encoding its XML declaration names (UTF-8 without one)."""
    head = payload.head(4096)
    m = _DECLARED_ENCODING.match(head[len(BOM):] if head.startswith(BOM) else head)
    declared = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return detect_encoding(payload, declared)
    except DeliveryError as exc:  # an unknown declared encoding: say which file declares it
        raise DeliveryError(f"{location}: the XML declaration names an encoding that cannot be used: {exc}") from None


class _Records:
    """Where the document's records go as they end: into the collector (which turns a chunk of them at a time into
    Arrow), a record holding bytes that the declared encoding does not decode as unparseable."""

    def __init__(self, collector: ColumnCollector, dec: Decoded):
        self.collector = collector
        self.dec = dec

    def take(self, values: dict[str, str], why: str | None, raw) -> None:
        """One record (``why``: why it is unparseable, or None; ``raw``: a function giving its bytes)."""
        collector, dec = self.collector, self.dec
        if why is None and dec.escaped and any(v and _ESCAPED.search(v) for v in values.values()):
            why = f"holds bytes that are not {dec.declared}"
        if why is None:
            collector.add(collector.n + 1, values)
        else:
            collector.add_unparseable(collector.n + 1, why, unescape_bytes(raw().decode("utf-8", "replace")))

    def add_cut_tail(self) -> None:
        """The character cut off at the very end of the file, as an unparseable row of its own."""
        self.collector.add_unparseable(self.collector.n + 1, "the file ends inside this element (cut off)",
                                       decode_tail(self.dec.truncated_tail))


def _feed(parser: _Parser, blocks: Iterator[bytes], location: str) -> expat.ExpatError | None:
    """Feed the text to expat a block at a time; the fault that stopped it (None: well-formed to its end). A
    declaration expat meets is refused."""
    error = None
    try:
        for block in blocks:
            if (error := parser.feed(block)) is not None:
                break
        else:
            error = parser.feed(b"", final=True)
    except _Refused as exc:
        raise DeliveryError(f"{location}: {exc}") from None
    finally:
        parser.close()
    return error


def _land_after_fault(error: expat.ExpatError, parser: _Parser, rest: Iterator[bytes], records: _Records,
                      warn: Warnings) -> None:
    """A document that stops being well-formed: the complete records before the fault have landed; the text from
    the record the fault is in (or the end of the last one) on, with the ``rest`` not fed yet, is split up by hand
    (:func:`_recover`), and a warning says what became of it."""
    location, tag, collector, dec = warn.location, parser.tag, records.collector, records.dec
    if parser.root is None:
        raise DeliveryError(
            f"{location}: not well-formed XML before the root element "
            f"(line {error.lineno}, column {error.offset}: {expat.errors.messages[error.code]})"
        )
    cut_off = bool(dec.truncated_tail) or error.code in _CUT_OFF_ERRORS
    broken = parser.text_from(parser.rec_start if parser.in_record else parser.last_end) + b"".join(rest)
    before = collector.n
    broken_before = collector.unparseable
    try:
        _recover(broken, tag, parser.root, records.take)
    except _Refused as exc:
        raise DeliveryError(f"{location}: {exc}") from None
    del broken
    if dec.truncated_tail:
        if collector.n > before and collector.errors[-1] is not None:
            collector.raws[-1] += decode_tail(dec.truncated_tail)
        else:
            records.add_cut_tail()
    recovered = collector.n - before
    unparseable = collector.unparseable - broken_before
    what = "the file is cut off" if cut_off else "the document is not well-formed"
    warn.file(
        f"{what} at line {error.lineno}, column {error.offset} ({expat.errors.messages[error.code]}): "
        f"{before} complete <{tag}> elements before it landed; the rest was split into {recovered} pieces, "
        f"{recovered - unparseable} parsed as records and {unparseable} kept as unparseable rows"
    )


def _recover(tail: bytes, tag: str, root: str, take) -> None:
    """Split the text after the fault (``tail``: from the start of the record it is in, or the end of the last
    one) at record start tags and parse each piece on its own: each goes to ``take(values, problem, raw)`` as a
    record or an unparseable piece."""
    starts = [m.start() for m in re.finditer(b"<" + re.escape(tag.encode()) + rb"(?=[\s/>])", tail)]
    bounds: list[tuple[int, int]] = []
    if not starts:
        bounds.append((0, len(tail)))
    else:
        if tail[: starts[0]].strip():
            bounds.append((0, starts[0]))
        bounds += [(s, starts[i + 1] if i + 1 < len(starts) else len(tail)) for i, s in enumerate(starts)]
    root_end = re.compile(rb"</" + re.escape(root.encode()) + rb"\s*>\s*\Z")
    for i, (a, b) in enumerate(bounds):
        piece = tail[a:b]
        if i == len(bounds) - 1:
            m = root_end.search(piece)
            if m:
                piece = piece[: m.start()]
        piece = piece.strip()
        if not piece:
            continue
        sub = _Parser(tag)
        err = sub.parse(piece)  # _Refused propagates
        if err is None and len(sub.records) == 1 and sub.root == tag and sub.records[0][1] is None:
            take(sub.records[0][0], None, lambda piece=piece: piece)
            continue
        end = piece.rfind(b"</" + tag.encode() + b">")
        if err is not None and end > 0:  # a complete record, then junk: the record lands, the junk is kept apart
            head, junk = piece[: end + len(tag) + 3], piece[end + len(tag) + 3 :].strip()
            whole = _Parser(tag)
            if junk and whole.parse(head) is None and len(whole.records) == 1 and whole.records[0][1] is None:
                take(whole.records[0][0], None, lambda head=head: head)
                take({}, f"not well-formed: text after the </{tag}> end tag that is no record",
                     lambda junk=junk: junk)
                continue
        if err is not None:
            why = (f"not well-formed: {expat.errors.messages[err.code]} "
                   f"(line {err.lineno}, column {err.offset} of this element)")
            if err.code in _CUT_OFF_ERRORS:
                why = f"the file ends inside this element (cut off): {expat.errors.messages[err.code]}"
        elif sub.root != tag:
            why = f"not a <{tag}> element"
        else:
            why = (sub.records[0][1] if sub.records else None) or "not a single record"
        take({}, why, lambda piece=piece: piece)
