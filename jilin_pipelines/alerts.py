"""The operators' alerts: one JSON line per event in ``<data>/alerts/alerts.jsonl`` — a failed run (written by the
run-failure sensor and by ``jilin-pipelines run``) or a held partition (written where the hold is decided).

Pure: no Dagster import. Every record's free text is masked by its writer.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

ALERTS_FILE = Path("alerts") / "alerts.jsonl"


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def append_alert(data_dir: Path, record: dict) -> Path:
    """Append one JSON line (one write of a whole line, so concurrent writers do not interleave)."""
    path = data_dir / ALERTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return path
