"""The standardised layer of one (dataset, day): raw landing in, standardised rows and quarantine out.

Order of work: unparseable rows go straight to the quarantine; exact duplicates within the delivery are
dropped and counted; the remaining rows are standardised and checked (``rules``) with Great Expectations
(``expectations``); rows failing a blocking rule go to the quarantine with every reason; the rest are
de-duplicated by key (the newest update time wins) and written in the contract of ``layout``. Pure: no Dagster.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.catalogue.models import Dimension, Severity
from jilin_pipelines.quality import expectations
from jilin_pipelines.quality.layout import PARTITION, SOURCE_ROW, SOURCE_SHA256, WARNINGS, standard_schema
from jilin_pipelines.quality.rules import Rule, check, describe
from jilin_pipelines.sources import ERROR, RAW

QUARANTINE_COLUMNS = ["dataset", "partition", "source_row", "rule", "reason", "dimension", "severity", "raw"]
UNPARSEABLE_RULE = "row.parseable"


@dataclass
class Outcome:
    table: pa.Table  # the standardised rows, in the contract of ``layout``
    quarantine: pd.DataFrame  # one row per blocked delivered row: QUARANTINE_COLUMNS
    results: list[expectations.RuleResult]
    examples: dict[str, list[dict]]  # rule id -> a few failing rows (values as delivered: mask before showing)
    stats: dict = field(default_factory=dict)  # JSON-safe counts

    @property
    def blocked_share(self) -> float:
        checked = self.stats["delivered_rows"] - self.stats["exact_duplicates"]
        return self.stats["quarantined_rows"] / checked if checked else 0.0


def _source_rows(entry: Entry, raw: pd.DataFrame) -> pd.Series:
    """How the quarantine names a delivered row: its row number, or its key joined by | for the front-end database."""
    if entry.dataset.format.kind == "frontdb":
        parts = [raw[entry.dataset.field(k).source].fillna("").astype("string") for k in entry.dataset.key]
        joined = parts[0]
        for part in parts[1:]:
            joined = joined + "|" + part
        return joined
    return raw[SOURCE_ROW].astype("string")


def _raw_json(raw: pd.DataFrame, columns: list[str]) -> pd.Series:
    records = raw[columns].astype(object).where(raw[columns].notna(), None).to_dict(orient="records")
    return pd.Series([json.dumps(r, ensure_ascii=False) for r in records], index=raw.index, dtype="string")


def _quarantine(entry: Entry, day: date, rows: pd.DataFrame, rule: pd.Series, reason: pd.Series,
                dimension: pd.Series, severity: str, raw_columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": entry.id,
            "partition": day.isoformat(),
            "source_row": _source_rows(entry, rows),
            "rule": rule,
            "reason": reason,
            "dimension": dimension,
            "severity": severity,
            "raw": _raw_json(rows, raw_columns),
        },
        index=rows.index,
    )[QUARANTINE_COLUMNS]


def _failures(results: list[expectations.RuleResult], reasons: dict[str, pd.Series]) -> pd.DataFrame:
    """Long table of (row position, rule, reason text) over every failed expectation, in rule order."""
    parts = []
    for order, res in enumerate(results):
        if res.unexpected_rows.size == 0:
            continue
        positions = res.unexpected_rows
        codes = reasons.get(res.rule.id)
        picked = (codes.iloc[positions].fillna("").astype(str) if codes is not None
                  else pd.Series("", index=range(len(positions))))
        # one text per distinct reason code, not per failing row
        texts = picked.map({c: describe(res.rule, c or None) for c in picked.unique()}).to_numpy()
        parts.append(pd.DataFrame({"pos": positions, "order": order, "rule": res.rule.id, "text": texts,
                                   "blocking": res.rule.blocking, "dimension": res.rule.dimension.value}))
    if not parts:
        return pd.DataFrame(columns=["pos", "order", "rule", "text", "blocking", "dimension"])
    return pd.concat(parts, ignore_index=True).sort_values(["pos", "order"], kind="stable")


def standardise(entry: Entry, raw_table: pa.Table, day: date, sha256: str | None) -> Outcome:
    ds = entry.dataset
    columns = ds.source_columns
    raw = raw_table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    for c in columns:  # a delivery missing an optional column still standardises (the reader warned)
        if c not in raw.columns:
            raw[c] = pd.Series(pd.NA, index=raw.index, dtype="string")

    unparseable = raw[raw[ERROR].notna()]
    parsed = raw[raw[ERROR].isna()]
    duplicate = parsed.duplicated(subset=columns, keep="first")
    rows = parsed[~duplicate].reset_index(drop=True)

    checked = check(ds, rows[columns], day)
    results = expectations.validate(entry.id, checked)
    failures = _failures(results, checked.reasons)

    blocking = failures[failures["blocking"].astype(bool)]
    blocked_pos = np.unique(blocking["pos"].to_numpy(np.int64))
    first = blocking.groupby("pos", sort=True).first()
    joined = blocking.groupby("pos", sort=True)["text"].agg("; ".join)
    blocked_rows = rows.iloc[blocked_pos]
    quarantine = pd.concat(
        [
            _quarantine(entry, day, unparseable, pd.Series(UNPARSEABLE_RULE, index=unparseable.index),
                        unparseable[ERROR], pd.Series(Dimension.accessibility.value, index=unparseable.index),
                        Severity.block.value, [RAW, ERROR]),
            _quarantine(entry, day, blocked_rows, pd.Series(first["rule"].to_numpy(), index=blocked_rows.index),
                        pd.Series(joined.to_numpy(), index=blocked_rows.index),
                        pd.Series(first["dimension"].to_numpy(), index=blocked_rows.index),
                        Severity.block.value, columns),
        ],
        ignore_index=True,
    )

    warned = failures[~failures["blocking"].astype(bool)]
    row_warnings = warned.groupby("pos")["rule"].agg(lambda r: json.dumps(sorted(set(r))))
    passing = np.setdiff1d(np.arange(len(rows)), blocked_pos)
    values = checked.values.iloc[passing].copy()
    values[WARNINGS] = row_warnings.reindex(passing).fillna("[]").to_numpy()
    values[SOURCE_ROW] = rows[SOURCE_ROW].iloc[passing].to_numpy(np.int64)
    values[PARTITION] = day
    values[SOURCE_SHA256] = sha256

    superseded = 0
    if len(values):
        key = list(ds.key)
        order = [ds.updated_field, SOURCE_ROW] if ds.updated_field else [SOURCE_ROW]
        values = values.sort_values(order, kind="stable", na_position="first")
        keep = ~values.duplicated(subset=key, keep="last")
        superseded = int((~keep).sum())
        values = values[keep].sort_values(SOURCE_ROW)

    schema = standard_schema(ds)
    table = pa.Table.from_pandas(values[schema.names].reset_index(drop=True), schema=schema, preserve_index=False)

    examples = {}
    for res in results:
        if res.unexpected_rows.size:
            sample = rows.iloc[res.unexpected_rows[:3]]
            column = ds.field(res.rule.field).source
            examples[res.rule.id] = [
                {"source_row": int(r), "value": None if pd.isna(v) else str(v)}
                for r, v in zip(sample[SOURCE_ROW], sample[column], strict=True)
            ]

    repairs: Counter = checked.repairs
    by_dimension = failures.groupby("dimension")["pos"].nunique() if len(failures) else pd.Series(dtype=int)
    dimensions = sorted({r.dimension.value for r in checked.rules})
    stats = {
        "checked_rows": int(len(rows)),
        "failed_rows_by_dimension": {d: int(by_dimension.get(d, 0)) for d in dimensions},
        "delivered_rows": int(len(raw)),
        "unparseable_rows": int(len(unparseable)),
        "exact_duplicates": int(duplicate.sum()),
        "superseded_in_delivery": superseded,
        "quarantined_rows": int(len(quarantine)),
        "standardised_rows": int(table.num_rows),
        "warned_rows": int(warned["pos"].nunique()),
        "repairs": dict(sorted((k, int(v)) for k, v in repairs.items())),
    }
    return Outcome(table, quarantine, results, examples, stats)


def rules_of(entry: Entry) -> list[Rule]:
    """The dataset's rules (as the Dagster layer declares its checks), from a zero-row delivery."""
    empty = pd.DataFrame({c: pd.Series(dtype="string") for c in entry.dataset.source_columns})
    return check(entry.dataset, empty, date(2000, 1, 1)).rules
