"""The per-department, per-day quality scorecard: for every GB/T 36344 dimension, rows checked, passed,
failed and the pass rate, rolled up from the standardised layer's results. Pure: no Dagster."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd

COLUMNS = ["department", "dimension", "datasets", "rows_checked", "rows_passed", "rows_failed", "pass_rate"]


def results_path(lake_dir: Path, dataset_id: str, day: date) -> Path:
    department, dataset = dataset_id.split(".", 1)
    return lake_dir / "quality" / department / dataset / f"{day.isoformat()}.json"


def write_results(lake_dir: Path, dataset_id: str, day: date, stats: dict, delivered: bool) -> Path:
    """Keep one delivery's quality counts beside the lake, for the scorecard."""
    path = results_path(lake_dir, dataset_id, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"dataset": dataset_id, "partition": day.isoformat(), "delivered": delivered, **stats}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def scorecard(lake_dir: Path, dataset_ids: list[str], day: date) -> pd.DataFrame:
    """One row per (department, dimension) for the day. Timeliness counts a dataset with no delivery as failed
    (its rows: one per dataset); the other dimensions count rows."""
    records = []
    for dataset_id in dataset_ids:
        path = results_path(lake_dir, dataset_id, day)
        if not path.exists():
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        department = dataset_id.split(".", 1)[0]
        for dimension, failed in doc["failed_rows_by_dimension"].items():
            records.append((department, dimension, dataset_id, doc["checked_rows"], failed))
        records.append((department, "timeliness", dataset_id, 1, 0 if doc["delivered"] else 1))
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(records, columns=["department", "dimension", "dataset", "checked", "failed"])
    card = frame.groupby(["department", "dimension"], as_index=False).agg(
        datasets=("dataset", "nunique"), rows_checked=("checked", "sum"), rows_failed=("failed", "sum")
    )
    card["rows_passed"] = card["rows_checked"] - card["rows_failed"]
    card["pass_rate"] = (card["rows_passed"] / card["rows_checked"].where(card["rows_checked"] > 0)).round(4).fillna(1.0)
    return card[COLUMNS]


def _cells(r) -> tuple:
    return (r.department, r.dimension, r.datasets, r.rows_checked, r.rows_passed, r.rows_failed, f"{r.pass_rate:.2%}")


def render_markdown(card: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(v) for v in _cells(r)) + " |" for r in card.itertuples()]
    return "\n".join(lines)
