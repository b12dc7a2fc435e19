"""A delivery's bytes, held in memory or read from its file :data:`DECODE_BLOCK` bytes at a time, so that no reader
needs the whole file in memory."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path


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
