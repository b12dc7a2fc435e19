"""What every reader shares around its format's own part: the delivery of a day without one, opening a delivery file
safely (a path with ``..`` refused; with the sources root, one resolving outside it refused too), and the skeleton of
a file reader (:class:`FileReader`): the prologue and epilogue every file format repeats, done once, with each format
filling in only what is its own.

Nothing here knows the catalogue: callers pass the format parameters.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

from jilin_pipelines.sources.delivery import Delivery, DeliveryError, DeliveryWarning, Sink, empty_table
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.paths import ensure_inside
from jilin_pipelines.sources.payload import Payload


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


@dataclass(kw_only=True)
class FileReader(ABC):
    """The reading of one delivery file, in the spirit of the Singer SDK's streams: :meth:`read` is the skeleton every
    file format shares, and a format declares what is its own.

    The skeleton opens the file (no file: the "no delivery" result), takes its SHA-256 and size in one pass over its
    blocks, says what a blank file is (:attr:`blank_file`) or leaves the rest to the format (:meth:`read_rows`), and
    closes the warnings. A format declares its own parameters as fields beside ``columns`` (the expected source
    columns; None: the delivered ones as they are) and ``sink``, sets :attr:`blank_file`, may look at each block of
    the digest's pass (:meth:`inspect`), and implements :meth:`read_rows`. A reader object reads one delivery: the
    public ``read_*`` functions make one per call, with the format's parameters.
    """

    #: the warning a file of nothing but white space (or nothing at all) is read as, with no rows; None: such a file
    #: is read like any other
    blank_file: ClassVar[str | None] = None

    columns: Sequence[str] | None
    sink: Sink | None = None

    def read(self, path: str | Path, *, dataset: str, day: date) -> Delivery:
        """The delivery of the file at ``path``: ``sha256`` and ``size_bytes`` are those of its bytes, ``location``
        is the path. With a ``sink``, the rows go to it as they are read and the delivery's ``table`` is left empty
        (its counts say what was read)."""
        payload, delivery, warn = open_delivery_stream(path, dataset, day, self.columns)
        if payload is None:
            return delivery
        blank = self._digest(payload, delivery)
        if blank and self.blank_file is not None:
            warn.file(self.blank_file)
        else:
            self.read_rows(payload, delivery, warn)
        delivery.warnings = warn.done()
        return delivery

    def _digest(self, payload: Payload, delivery: Delivery) -> bool:
        """Set the delivery's SHA-256 and size, in one pass over the file's blocks (each shown to :meth:`inspect`);
        whether the file is blank (nothing but white space, or nothing at all)."""
        digest = hashlib.sha256()
        blank = True
        for block in payload.blocks():
            digest.update(block)
            blank = blank and bytes(block).isspace()
            self.inspect(block)
        delivery.sha256, delivery.size_bytes = digest.hexdigest(), payload.size
        return blank

    def inspect(self, block: bytes | memoryview) -> None:
        """Look at the next block of the file's bytes as the digest is taken (by default: nothing to look for)."""

    @abstractmethod
    def read_rows(self, payload: Payload, delivery: Delivery, warn: Warnings) -> None:
        """The format's own part: the rows of ``payload`` into ``delivery`` (its ``table``, or the sink and its
        ``streamed`` counts), the header reconciled with the expected columns, and the warnings into ``warn``."""
