"""Path safety for the sources: a department, dataset or provider name must be a plain path segment, and a path
built from such names must resolve inside the sources directory (symlinks included)."""

from __future__ import annotations

import re
from pathlib import Path

from jilin_pipelines.sources.delivery import DeliveryError


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
