"""The per-department, per-day quality scorecard: for every GB/T 36344 dimension, rows checked, passed,
failed and the pass rate, rolled up from the standardised layer's results; and, of the datasets delivered by many
providers, the same day by provider rolled up the five levels (village → township → county → city → province).
Pure: no Dagster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd

from jilin_pipelines.providers import LEVELS, Registry

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


def day_results(lake_dir: Path, dataset_ids: list[str], day: date) -> Iterator[tuple[str, dict]]:
    """The day's kept results (``write_results``) of each dataset that has them: ``(dataset_id, document)``."""
    for dataset_id in dataset_ids:
        path = results_path(lake_dir, dataset_id, day)
        if path.exists():
            yield dataset_id, json.loads(path.read_text(encoding="utf-8"))


def scorecard(lake_dir: Path, dataset_ids: list[str], day: date) -> pd.DataFrame:
    """One row per (department, dimension) for the day. Timeliness counts a dataset with no delivery as failed
    (its rows: one per dataset); the other dimensions count rows."""
    records = []
    for dataset_id, doc in day_results(lake_dir, dataset_ids, day):
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


PROVIDER_COLUMNS = ["level", "code", "name", "datasets", "providers", "rows_delivered", "rows_checked",
                    "rows_quarantined", "rows_standardised", "rows_held", "providers_held", "pass_rate"]


def provider_rollup(lake_dir: Path, dataset_ids: list[str], day: date, registry: Registry) -> pd.DataFrame:
    """The day's quality by provider, rolled up: one row per provider of the registry that delivers, or is above
    one that delivers, a dataset of many providers — its own deliveries and every one below it counted (a city: its
    own and its counties'). Rows checked are the delivered rows but for exact duplicates; the pass rate is the share
    of them not quarantined. Ordered by level from the province down, then by code."""
    records = []
    for dataset_id, doc in day_results(lake_dir, dataset_ids, day):
        for code, n in (doc.get("providers") or {}).items():
            row = (dataset_id, code, n["delivered_rows"], n["delivered_rows"] - n["exact_duplicates"],
                   n["quarantined_rows"], 0 if n.get("held") else n["standardised_rows"],
                   n["standardised_rows"] if n.get("held") else 0, bool(n.get("held")))
            records += [(above.code, *row) for above in registry.ancestors(code)] or [(code, *row)]
    if not records:
        return pd.DataFrame(columns=PROVIDER_COLUMNS)
    frame = pd.DataFrame(records, columns=["code", "dataset", "provider", "delivered", "checked", "quarantined",
                                           "standardised", "held_rows", "held"])
    card = frame.groupby("code", as_index=False).agg(
        datasets=("dataset", "nunique"), providers=("provider", "nunique"), rows_delivered=("delivered", "sum"),
        rows_checked=("checked", "sum"), rows_quarantined=("quarantined", "sum"),
        rows_standardised=("standardised", "sum"), rows_held=("held_rows", "sum"), providers_held=("held", "sum"))
    known = registry.providers
    card["level"] = card["code"].map(lambda c: known[c].level if c in known else "unregistered")
    card["name"] = card["code"].map(lambda c: known[c].name if c in known else c)
    card["pass_rate"] = (1 - card["rows_quarantined"] / card["rows_checked"].where(card["rows_checked"] > 0)) \
        .round(4).fillna(1.0)
    rank = {level: i for i, level in enumerate(LEVELS)}
    card = card.sort_values(["level", "code"], key=lambda s: s.map(rank).fillna(len(LEVELS)) if s.name == "level"
                            else s, kind="stable")
    return card[PROVIDER_COLUMNS].reset_index(drop=True)


def _cells(r) -> tuple:
    return (r.department, r.dimension, r.datasets, r.rows_checked, r.rows_passed, r.rows_failed, f"{r.pass_rate:.2%}")


def render_markdown(card: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(v) for v in _cells(r)) + " |" for r in card.itertuples()]
    return "\n".join(lines)
