"""Helpers shared by the readers: path safety, digests, decoding, table assembly, warnings (the delivery layout is
``layout.py``).

Nothing here knows the catalogue: callers pass the format parameters.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from jilin_pipelines.sources.delivery import (
    ERROR,
    PROVIDER,
    RAW,
    SOURCE_ROW,
    Delivery,
    DeliveryError,
    DeliveryWarning,
    empty_table,
)

#: Row-level warnings kept per delivery; beyond that one summary warning counts the rest.
MAX_ROW_WARNINGS = 20

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_name(value: str, what: str) -> str:
    """A department or dataset name must be a plain path segment (no separators, no ``..``)."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or ".." in value:
        raise DeliveryError(f"refused {what} {value!r}: not a plain name")
    return value


def ensure_inside(root: str | Path, path: str | Path) -> Path:
    """Return ``path`` resolved; raise :class:`DeliveryError` if it resolves outside ``root``."""
    root_path = Path(root).resolve()
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root_path):
        raise DeliveryError(f"refused path {path}: it resolves outside the sources root {root_path}")
    return resolved


# --------------------------------------------------------------------------------------------------
# warnings


@dataclass
class Warnings:
    """Collects warnings for one delivery; row-level ones are capped at :data:`MAX_ROW_WARNINGS`."""

    location: str
    items: list[DeliveryWarning] = field(default_factory=list)
    _row_warnings: int = 0
    _suppressed: int = 0

    def file(self, reason: str, *, row: int | None = None, field: str | None = None) -> None:
        self.items.append(DeliveryWarning(self.location, reason, row=row, field=field))

    def row(self, row: int, reason: str, *, field: str | None = None) -> None:
        if self._row_warnings < MAX_ROW_WARNINGS:
            self._row_warnings += 1
            self.items.append(DeliveryWarning(self.location, reason, row=row, field=field))
        else:
            self._suppressed += 1

    def done(self) -> list[DeliveryWarning]:
        if self._suppressed:
            self.items.append(
                DeliveryWarning(
                    self.location,
                    f"{self._suppressed} more unparseable rows not listed "
                    f"(only the first {MAX_ROW_WARNINGS} are named)",
                )
            )
            self._suppressed = 0
        return self.items


# --------------------------------------------------------------------------------------------------
# deliveries


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def no_delivery(dataset: str, day: date, columns: Sequence[str] | None, where: str, reason: str) -> Delivery:
    """The empty delivery of a day without a file / rows: not an error, ``location=None``."""
    return Delivery(
        dataset=dataset,
        day=day,
        table=empty_table(list(columns or [])),
        location=None,
        warnings=[DeliveryWarning(where, f"no delivery: {reason}")],
    )


def open_delivery_file(
    path: str | Path, dataset: str, day: date, columns: Sequence[str] | None, *, root: str | Path | None = None
) -> tuple[bytes | None, Delivery, Warnings]:
    """Start reading a delivery file: its bytes (None when there is no file), the ``Delivery`` describing it
    (the "no delivery" one when there is no file; otherwise with the file's SHA-256, size and location, no rows
    yet) and the warnings collector for it. (:func:`open_delivery_stream` for a reader that never holds the
    whole file.)"""
    payload, delivery, warn = open_delivery_stream(path, dataset, day, columns, root=root)
    if payload is None:
        return None, delivery, warn
    data = read_file_bytes(payload.path)
    if data is None:
        return None, no_delivery(dataset, day, columns, delivery.location, "the file does not exist"), warn
    delivery.sha256, delivery.size_bytes = sha256_hex(data), len(data)
    return data, delivery, warn


def open_delivery_stream(
    path: str | Path, dataset: str, day: date, columns: Sequence[str] | None, *, root: str | Path | None = None
) -> tuple[Payload | None, Delivery, Warnings]:
    """Start reading a delivery file a block at a time: its :class:`Payload` (None when there is no file), the
    ``Delivery`` describing it (the "no delivery" one when there is no file; otherwise with its location, no rows
    yet: the reader sets the digest and size as it reads) and the warnings collector for it.

    A path with a ``..`` component is refused (:func:`delivery_path` never builds one); with ``root`` (the sources
    directory) the path must also resolve inside it, symlinks included, and the resolved file is what is read.
    """
    location = str(Path(path))
    if ".." in Path(path).parts:
        raise DeliveryError(f"refused path {location}: a delivery path may not contain '..'")
    if root is not None:
        path = ensure_inside(root, path)
    path = Path(path)
    try:
        with path.open("rb"):
            payload = Payload(path=path)
    except FileNotFoundError:
        return None, no_delivery(dataset, day, columns, location, "the file does not exist"), Warnings(location)
    except IsADirectoryError as exc:
        raise DeliveryError(f"{path}: is a directory, not a delivery file") from exc
    except OSError as exc:
        raise DeliveryError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    delivery = Delivery(dataset=dataset, day=day, table=empty_table(list(columns or [])), location=location)
    return payload, delivery, Warnings(location)


def read_file_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist. A directory or unreadable file is an error."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError as exc:
        raise DeliveryError(f"{path}: is a directory, not a delivery file") from exc
    except OSError as exc:
        raise DeliveryError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def reconcile_columns(
    location: str, delivered: Sequence[str], expected: Sequence[str] | None, *, what: str = "header"
) -> tuple[list[str], list[str]]:
    """Compare the delivered column names with the expected ones.

    Returns ``(ordered, extra)``: the delivered columns in the expected order followed by the extra
    ones in delivery order, and the extra ones. Duplicate or missing columns are a
    :class:`DeliveryError` naming the location and the columns (a renamed column shows as one missing
    and one unexpected). Extra columns are kept (nothing read is dropped); the caller warns.
    """
    if expected is not None:
        present = len(set(expected) & set(delivered))
        if 2 * present < len(expected):
            # fewer than half of the expected names: most likely no header at all but a data row, whose values
            # (ID numbers, names) must not travel in an error message
            raise DeliveryError(
                f"{location}: the first row is not the {what}: it has {len(delivered)} values and only {present} "
                f"of the {len(expected)} expected column names {list(expected)} (its values are not shown: they "
                f"may be a data row)"
            )
    seen: set[str] = set()
    dups = []
    for c in delivered:
        if c in seen and c not in dups:
            dups.append(c)
        seen.add(c)
    if dups:
        raise DeliveryError(f"{location}: {what} repeats the columns {dups}")
    if expected is None:
        return list(delivered), []
    missing = [c for c in expected if c not in seen]
    extra = [c for c in delivered if c not in set(expected)]
    if missing:
        raise DeliveryError(
            f"{location}: {what} does not match the expected columns: missing {missing}"
            + (f", unexpected {extra}" if extra else "")
            + f" (delivered {list(delivered)})"
        )
    return list(expected) + extra, extra


def assemble(
    columns: Sequence[str],
    values: dict[str, pa.Array | pa.ChunkedArray],
    source_row: np.ndarray | pa.Array,
    error: pa.Array | None = None,
    raw: pa.Array | None = None,
) -> pa.Table:
    """Build the delivery table: ``columns`` as strings (missing ones all null), then bookkeeping."""
    n = len(source_row)
    clash = [c for c in columns if c in (SOURCE_ROW, ERROR, RAW, PROVIDER)]
    if clash:
        raise DeliveryError(f"delivered columns {clash} clash with the bookkeeping columns")
    arrays = []
    fields = []
    for c in columns:
        arr = values.get(c)
        if arr is None:
            arr = pa.nulls(n, pa.string())
        elif arr.type != pa.string():
            arr = arr.cast(pa.string())
        arrays.append(arr)
        fields.append(pa.field(c, pa.string()))
    arrays.append(pa.array(source_row, pa.int64()))
    arrays.append(error if error is not None else pa.nulls(n, pa.string()))
    arrays.append(raw if raw is not None else pa.nulls(n, pa.string()))
    fields += [pa.field(SOURCE_ROW, pa.int64()), pa.field(ERROR, pa.string()), pa.field(RAW, pa.string())]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


#: pieces of a delivery table left as they are by :func:`interleave`
MAX_PIECES = 256


def interleave(good: pa.Table, bad: pa.Table) -> pa.Table:
    """Merge parsed and unparseable rows (each in ``_source_row`` order) into one table in row order.

    With few unparseable rows, the parsed rows are sliced around them (zero-copy) instead of sorted, and with up to
    :data:`MAX_PIECES` pieces the table is left in them (the Parquet writer takes them as they are; combining would
    copy the whole delivery once more).
    """
    if bad.num_rows == 0:
        return good
    bad = bad.sort_by(SOURCE_ROW)
    if good.num_rows == 0:
        return bad
    if bad.num_rows > 10_000:
        return pa.concat_tables([good, bad]).sort_by(SOURCE_ROW).combine_chunks()
    good_rows = good.column(SOURCE_ROW).to_numpy()
    cuts = np.searchsorted(good_rows, bad.column(SOURCE_ROW).to_numpy())
    pieces = []
    prev = 0
    for i, cut in enumerate(cuts.tolist()):
        if cut > prev:
            pieces.append(good.slice(prev, cut - prev))
        pieces.append(bad.slice(i, 1))
        prev = cut
    if prev < good.num_rows:
        pieces.append(good.slice(prev))
    table = pa.concat_tables(pieces)
    return table.combine_chunks() if len(pieces) > MAX_PIECES else table


# --------------------------------------------------------------------------------------------------
# decoding

_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "hz"}
_UTF8_FAMILY = {"utf-8", "utf-8-sig"}
BOM = codecs.BOM_UTF8


def canonical_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise DeliveryError(f"unknown encoding {name!r}") from exc


@dataclass
class Decoded:
    """A delivery's bytes decoded: ``text`` as UTF-8 bytes (BOM removed) and how it was decoded."""

    utf8: bytes
    declared: str
    used: str
    #: byte offset (in the original bytes) where the declared encoding first failed, when it did
    fail_offset: int | None = None
    #: why the declared encoding was not used
    fail_reason: str | None = None
    #: True when no candidate decoded the whole file and undecodable bytes were escaped
    escaped: bool = False
    #: a multi-byte character cut off at the very end of the file (then dropped from ``utf8``)
    truncated_tail: bytes = b""
    #: 1-based physical line of ``fail_offset``
    fail_line: int | None = None
    #: the codec the text is decoded with (``used``, or the declared one whose undecodable bytes are escaped)
    codec: str = ""
    #: where the text begins in the bytes (after a BOM)
    text_start: int = 0

    @property
    def wrong_encoding(self) -> bool:
        return self.used != self.declared or self.escaped


# Undecodable bytes (no candidate encoding decodes the file) are mapped to private-use characters
# U+F780..U+F7FF (byte 0x80..0xFF) so that they survive parsing and can be found and shown again.
_ESCAPE_BASE = 0xF700
ESCAPED_CHAR_PATTERN = "[\uf700-\uf7ff]"


def _escape_handler(exc: UnicodeError):
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(chr(_ESCAPE_BASE + b) for b in bad), exc.end


codecs.register_error("jilin-escape", _escape_handler)

_UNESCAPE = {cp: f"\\x{cp - _ESCAPE_BASE:02x}" for cp in range(_ESCAPE_BASE, _ESCAPE_BASE + 0x100)}


def unescape_bytes(text: str) -> str:
    """Show escaped undecodable bytes as ``\\xNN``."""
    return text.translate(_UNESCAPE)


#: bytes decoded (and encoded to UTF-8) at a time: the file's decoded text is never whole in memory (as a Python
#: str it takes 2 to 4 bytes a character: a 57 MB GBK file's was 100 MiB)
DECODE_BLOCK = 1 << 22


class Payload:
    """A delivery's bytes: in memory, or a file read :data:`DECODE_BLOCK` bytes at a time (never whole)."""

    def __init__(self, data: bytes | None = None, *, path: Path | None = None):
        if (data is None) == (path is None):
            raise ValueError("a payload is bytes or a file")
        self._data, self.path = data, path
        self.size = len(data) if data is not None else path.stat().st_size

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[bytes | memoryview]:
        end = self.size if end is None else min(end, self.size)
        if self._data is not None:
            view = memoryview(self._data)
            for at in range(start, end, DECODE_BLOCK):
                yield view[at : min(at + DECODE_BLOCK, end)]
            return
        with open(self.path, "rb") as fh:
            fh.seek(start)
            at = start
            while at < end:
                block = fh.read(min(DECODE_BLOCK, end - at))
                if not block:
                    break
                yield block
                at += len(block)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for block in self.blocks():
            digest.update(block)
        return digest.hexdigest()

    def head(self, n: int) -> bytes:
        return b"".join(bytes(b) for b in self.blocks(0, n))

    def first_non_ascii(self, start: int = 0) -> int | None:
        """The offset of the first byte >= 0x80 from ``start`` on (None: all ASCII)."""
        at = start
        for block in self.blocks(start):
            m = _NON_ASCII.search(block)
            if m:
                return at + m.start()
            at += len(block)
        return None

    def count(self, byte: bytes, end: int) -> int:
        return sum(bytes(b).count(byte) for b in self.blocks(0, end))


_NON_ASCII = re.compile(rb"[\x80-\xff]")


def decode_strict(data: bytes, declared: str) -> Decoded:
    """Decode ``data`` strictly in ``declared``; on failure fall back to UTF-8 / GB18030.

    * A file declared GBK (or GB2312/GB18030) that is valid UTF-8 and not pure ASCII is UTF-8 (GBK
      text is practically never valid UTF-8, while UTF-8 text often "decodes" as GBK mojibake).
    * A UTF-8 BOM is removed; on a file declared GBK it marks the file as UTF-8.
    * A multi-byte character cut off at the very end of the file (a truncated file) is not an
      encoding problem: it is kept aside in ``truncated_tail`` for the broken last row.
    * When nothing decodes the whole file, undecodable bytes are escaped (see :func:`unescape_bytes`)
      and ``escaped`` is set; the reader marks the rows holding them as unparseable.

    The text, whole: :func:`detect_encoding` then :func:`utf8_blocks` joined. A reader that need not hold the
    whole text takes the blocks as they come.
    """
    payload = Payload(data)
    decoded = detect_encoding(payload, declared)
    decoded.utf8 = b"".join(utf8_blocks(payload, decoded))
    return decoded


@dataclass
class _Attempt:
    """One strict decoding of a payload from an offset: ``ok``, the incomplete character at the very end
    (``pending``) and, when it failed, the error and its offset from where the decoding began."""

    ok: bool
    pending: bytes = b""
    error: UnicodeDecodeError | None = None
    offset: int | None = None


def _attempt(encoding: str, payload: Payload, start: int) -> _Attempt:
    """Check that ``payload`` decodes strictly in ``encoding`` from ``start`` on, a block at a time, keeping no
    text. An incomplete character at the very end is returned apart. When a block fails, it is decoded again
    from the character boundary before it to tell the error's offset."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    at = start
    for block in payload.blocks(start):
        pending = decoder.getstate()[0]
        try:
            decoder.decode(block, final=False)
        except UnicodeDecodeError:
            try:
                codecs.getincrementaldecoder(encoding)("strict").decode(bytes(pending) + bytes(block), final=False)
            except UnicodeDecodeError as exc:
                return _Attempt(False, error=exc, offset=at - len(pending) + exc.start - start)
            raise AssertionError(f"{encoding}: a block failed to decode but decodes from the boundary before it") from None
        at += len(block)
    return _Attempt(True, bytes(decoder.getstate()[0]))


def detect_encoding(payload: Payload, declared: str) -> Decoded:  # noqa: C901 - one branch per family
    """How :func:`decode_strict` decodes ``payload`` (no text yet: ``utf8`` is empty), found by reading it a block
    at a time."""
    enc = canonical_encoding(declared)
    family = "gb" if enc in _GB_FAMILY else ("utf8" if enc in _UTF8_FAMILY else "other")
    has_bom = payload.head(len(BOM)) == BOM
    body = len(BOM) if has_bom else 0  # where the text begins

    def found(used: str, a: _Attempt | None = None, *, codec: str | None = None, **kw) -> Decoded:
        pending = a.pending if a is not None else b""
        decoded = Decoded(utf8=b"", declared=enc, used=used, truncated_tail=pending, codec=codec or used,
                          text_start=body, **kw)
        if decoded.fail_offset is not None:
            # b"\n" never occurs inside a multi-byte character of UTF-8, GBK or GB18030
            decoded.fail_line = payload.count(b"\n", decoded.fail_offset) + 1
        return decoded

    def escaped(codec: str, err: _Attempt, fail: int) -> Decoded:
        return found(enc, codec=codec, escaped=True, fail_offset=fail, fail_reason=err.error.reason)

    if family == "utf8":
        a = _attempt("utf-8", payload, body)
        if a.ok:
            return found(enc, a, codec="utf-8")
        fail = a.offset + body
        alt = _attempt("gb18030", payload, body)
        if alt.ok:
            return found("gb18030", alt, fail_offset=fail, fail_reason=a.error.reason)
        return escaped("utf-8", a, fail)

    if family == "gb":
        first_non_ascii = payload.first_non_ascii(body)
        if has_bom or first_non_ascii is not None:
            a = _attempt("utf-8", payload, body)
            if a.ok:
                gb = _attempt(enc, payload, 0)
                if not gb.ok:
                    fail, reason = gb.offset, gb.error.reason
                else:
                    fail = 0 if has_bom else first_non_ascii
                    reason = "the bytes are valid UTF-8 (they decode as GBK only as mojibake)"
                return found("utf-8", a, fail_offset=fail, fail_reason=reason)
        a = _attempt(enc, payload, body)
        if a.ok:
            return found(enc, a)
        if enc != "gb18030":
            alt = _attempt("gb18030", payload, body)
            if alt.ok:
                return found("gb18030", alt, fail_offset=a.offset, fail_reason=a.error.reason)
        return escaped(enc, a, a.offset)

    a = _attempt(enc, payload, body)
    if a.ok:
        return found(enc, a)
    for alt_enc in ("utf-8", "gb18030"):
        alt = _attempt(alt_enc, payload, body)
        if alt.ok:
            return found(alt_enc, alt, fail_offset=a.offset, fail_reason=a.error.reason)
    return escaped(enc, a, a.offset)


def utf8_blocks(payload: Payload, decoded: Decoded) -> Iterator[bytes]:
    """The text of ``payload`` as UTF-8, a block at a time, decoded as :func:`detect_encoding` found: the BOM
    removed, the cut-off character at the very end (``truncated_tail``) left out, undecodable bytes escaped."""
    end = payload.size - len(decoded.truncated_tail)
    if decoded.codec == "utf-8" and not decoded.escaped:  # valid UTF-8 already: as it is
        for block in payload.blocks(decoded.text_start, end):
            yield bytes(block)
        return
    decoder = codecs.getincrementaldecoder(decoded.codec)("jilin-escape" if decoded.escaped else "strict")
    for block in payload.blocks(decoded.text_start, end):
        yield decoder.decode(block, final=False).encode("utf-8")
    tail = decoder.decode(b"", final=decoded.escaped)  # strict: a cut character was left out above
    if tail:
        yield tail.encode("utf-8")


def decode_tail(tail: bytes) -> str:
    """Text for bytes that could not be decoded (shown as ``\\xNN``)."""
    return tail.decode("utf-8", "backslashreplace") if tail else ""
