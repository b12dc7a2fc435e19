"""How a delivery's bytes become text: the declared encoding checked strictly, the encoding that does decode the file
when the declared one does not (UTF-8 or GB18030), undecodable bytes escaped so that their rows can be found and shown,
and the text handed on as UTF-8 a block at a time.

Nothing here knows the catalogue: callers pass the declared encoding.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass

from jilin_pipelines.sources.delivery import DeliveryError
from jilin_pipelines.sources.payload import Payload


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
