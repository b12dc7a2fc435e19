"""The departments' delivery layout, its one owner: where a day's delivery file lies under the sources directory
(``<root>/<department>/<dataset>/[<provider>/]<dataset>_YYYYMMDD.<ext>``, refused outside the root), which day a
file's name stands for, and a file's fingerprint (its SHA-256, the landing's ``source_sha256``)."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from functools import cache
from pathlib import Path

from jilin_pipelines.sources.delivery import DeliveryError
from jilin_pipelines.sources.paths import check_name, ensure_inside

_EXT_RE = re.compile(r"^[A-Za-z0-9]+$")


def day_stamp(day: date) -> str:
    if not isinstance(day, date):
        raise TypeError(f"day must be a datetime.date, not {type(day).__name__}")
    return day.strftime("%Y%m%d")


def delivery_path(root: str | Path, department: str, dataset: str, day: date, ext: str,
                  provider: str | None = None) -> Path:
    """``<root>/<department>/<dataset>/<dataset>_YYYYMMDD.<ext>`` — with a ``provider`` (one of many delivering the
    dataset, ``providers.py``) ``<root>/<department>/<dataset>/<provider>/<dataset>_YYYYMMDD.<ext>`` —, refused if
    it resolves outside ``root``.

    Names with separators or ``..`` are refused outright; the built path is then resolved (symlinks
    included) and must still lie under the resolved root.
    """
    check_name(department, "department")
    check_name(dataset, "dataset")
    ext = ext.lstrip(".")
    if not _EXT_RE.match(ext):
        raise DeliveryError(f"refused extension {ext!r}: not a plain extension")
    root_path = Path(root).resolve()
    folder = root_path / department / dataset
    if provider is not None:
        check_name(provider, "provider")
        folder = folder / provider
    path = folder / f"{dataset}_{day_stamp(day)}.{ext}"
    ensure_inside(root_path, path)
    return path


@cache
def _name_pattern(dataset: str, ext: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(dataset)}_(\d{{4}})(\d{{2}})(\d{{2}})\.{re.escape(ext)}$")


def delivery_day(name: str, dataset: str, ext: str) -> date | None:
    """The day a file named ``name`` delivers (``<dataset>_YYYYMMDD.<ext>``), or None for a file not named like a
    delivery of the dataset; a ``ValueError`` for one named like a delivery whose date does not exist
    (``motor_vehicles_20250631.csv``)."""
    m = _name_pattern(dataset, ext.lstrip(".")).match(name)
    if m is None:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"{name}: named like a delivery, but {m[1]}-{m[2]}-{m[3]} is no date") from None


def file_sha256(path: str | Path) -> str:
    """A delivery file's fingerprint: the SHA-256 of its bytes, read a MiB at a time."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
