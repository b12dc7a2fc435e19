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
import pyarrow.compute as pc

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


CHUNK_ROWS = 100_000
"""The standardised layer's chunk budget: rows are standardised and checked (Great Expectations included) this
many at a time, so the pandas working set does not grow with the delivery."""


def _with_columns(raw_table: pa.Table, columns: list[str]) -> pa.Table:
    """A delivery missing an optional column still standardises (the reader warned): the column, all null."""
    for c in columns:
        if c not in raw_table.column_names:
            raw_table = raw_table.append_column(c, pa.nulls(raw_table.num_rows, pa.string()))
    return raw_table


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)


def _exact_duplicates(parsed: pa.Table, columns: list[str], chunk_rows: int) -> np.ndarray:
    """``DataFrame.duplicated(subset=columns, keep="first")`` over the whole table, a chunk at a time: rows whose
    64-bit fingerprint occurs more than once are the candidates, and only they are compared in full."""
    if parsed.num_rows <= chunk_rows:
        return _to_pandas(parsed.select(columns)).duplicated(subset=columns, keep="first").to_numpy(bool)
    hashes = np.concatenate([
        pd.util.hash_pandas_object(_to_pandas(parsed.select(columns).slice(off, chunk_rows)), index=False).to_numpy()
        for off in range(0, parsed.num_rows, chunk_rows)
    ])
    candidates = np.flatnonzero(pd.Series(hashes).duplicated(keep=False).to_numpy())
    duplicate = np.zeros(parsed.num_rows, dtype=bool)
    if len(candidates):
        same = _to_pandas(parsed.select(columns).take(pa.array(candidates))).duplicated(subset=columns, keep="first")
        duplicate[candidates[same.to_numpy(bool)]] = True
    return duplicate


@dataclass
class _Chunk:
    """What one chunk of the checked rows contributes."""

    results: list[expectations.RuleResult]
    quarantine: pd.DataFrame
    values: pa.Table
    failures: pd.DataFrame
    warned_rows: int
    repairs: Counter
    dimensions: list[str]


def _standardise_chunk(entry: Entry, rows: pd.DataFrame, day: date, sha256: str | None,
                       examples: dict[str, list[dict]]) -> _Chunk:
    ds = entry.dataset
    columns = ds.source_columns
    checked = check(ds, rows[columns], day)
    results = expectations.validate(entry.id, checked)
    failures = _failures(results, checked.reasons)

    blocking = failures[failures["blocking"].astype(bool)]
    blocked_pos = np.unique(blocking["pos"].to_numpy(np.int64))
    first = blocking.groupby("pos", sort=True).first()
    joined = blocking.groupby("pos", sort=True)["text"].agg("; ".join)
    blocked_rows = rows.iloc[blocked_pos]
    quarantine = _quarantine(entry, day, blocked_rows, pd.Series(first["rule"].to_numpy(), index=blocked_rows.index),
                             pd.Series(joined.to_numpy(), index=blocked_rows.index),
                             pd.Series(first["dimension"].to_numpy(), index=blocked_rows.index),
                             Severity.block.value, columns)

    warned = failures[~failures["blocking"].astype(bool)]
    row_warnings = warned.groupby("pos")["rule"].agg(lambda r: json.dumps(sorted(set(r))))
    passing = np.setdiff1d(np.arange(len(rows)), blocked_pos)
    values = checked.values.iloc[passing].copy()
    values[WARNINGS] = row_warnings.reindex(passing).fillna("[]").to_numpy()
    values[SOURCE_ROW] = rows[SOURCE_ROW].iloc[passing].to_numpy(np.int64)
    values[PARTITION] = day
    values[SOURCE_SHA256] = sha256
    schema = standard_schema(ds)
    table = pa.Table.from_pandas(values[schema.names].reset_index(drop=True), schema=schema, preserve_index=False)

    for res in results:
        have = examples.get(res.rule.id, [])
        if res.unexpected_rows.size and len(have) < 3:
            sample = rows.iloc[res.unexpected_rows[: 3 - len(have)]]
            column = ds.field(res.rule.field).source
            examples[res.rule.id] = have + [
                {"source_row": int(r), "value": None if pd.isna(v) else str(v)}
                for r, v in zip(sample[SOURCE_ROW], sample[column], strict=True)
            ]
    return _Chunk(results, quarantine, table, failures, int(warned["pos"].nunique()), checked.repairs,
                  sorted({r.dimension.value for r in checked.rules}))


def _newest_per_key(table: pa.Table, entry: Entry) -> tuple[pa.Table, int]:
    """The newest version of each key (update time, then source row; no update time counts as oldest), in
    source-row order; and how many were superseded. In Arrow: the rows ordered oldest first, the last row of each
    key kept (an ordered aggregation)."""
    ds = entry.dataset
    if not table.num_rows:
        return table, 0
    order = [(ds.updated_field, "ascending", "at_start"), (SOURCE_ROW, "ascending", "at_start")] \
        if ds.updated_field else [(SOURCE_ROW, "ascending", "at_start")]
    oldest_first = pc.sort_indices(table, sort_keys=order)
    keys = table.select(list(ds.key)).take(oldest_first).append_column("_row", oldest_first)
    newest = keys.group_by(list(ds.key), use_threads=False).aggregate([("_row", "last")])["_row_last"]
    newest = pc.take(newest, pc.sort_indices(pc.take(table[SOURCE_ROW], newest)))  # in source-row order
    return table.take(newest), table.num_rows - len(newest)


def standardise(entry: Entry, raw_table: pa.Table, day: date, sha256: str | None,
                chunk_rows: int | None = None) -> Outcome:
    """The standardised rows, the quarantine and the expectations' results of one delivery, ``chunk_rows`` rows
    (default :data:`CHUNK_ROWS`) at a time: the result does not depend on the chunk size."""
    ds = entry.dataset
    columns = ds.source_columns
    chunk_rows = max(1, chunk_rows or CHUNK_ROWS)
    raw_table = _with_columns(raw_table, columns)
    failed = pc.is_valid(raw_table[ERROR])
    unparseable = _to_pandas(raw_table.filter(failed))
    parsed = raw_table.filter(pc.invert(failed))
    delivered = raw_table.num_rows
    del raw_table

    duplicate = _exact_duplicates(parsed, columns, chunk_rows)
    rows = parsed.filter(pa.array(~duplicate))
    del parsed

    examples: dict[str, list[dict]] = {}
    chunks: list[_Chunk] = []
    offsets = list(range(0, rows.num_rows, chunk_rows)) or [0]
    for off in offsets:
        chunk = _to_pandas(rows.slice(off, chunk_rows))
        chunks.append(_standardise_chunk(entry, chunk, day, sha256, examples))
        del chunk

    if len(chunks) == 1:
        results = chunks[0].results
    else:
        results = [expectations.combine([c.results[i] for c in chunks], offsets) for i in range(len(chunks[0].results))]
    quarantine = pd.concat(
        [_quarantine(entry, day, unparseable, pd.Series(UNPARSEABLE_RULE, index=unparseable.index),
                     unparseable[ERROR], pd.Series(Dimension.accessibility.value, index=unparseable.index),
                     Severity.block.value, [RAW, ERROR]),
         *(c.quarantine for c in chunks)],
        ignore_index=True,
    )
    table, superseded = _newest_per_key(pa.concat_tables([c.values for c in chunks]), entry)

    failures = [c.failures.assign(pos=c.failures["pos"] + off) for c, off in zip(chunks, offsets, strict=True)
                if len(c.failures)]
    failures = pd.concat(failures, ignore_index=True) if failures else chunks[0].failures
    repairs: Counter = Counter()
    for c in chunks:
        repairs.update(c.repairs)
    by_dimension = failures.groupby("dimension")["pos"].nunique() if len(failures) else pd.Series(dtype=int)
    stats = {
        "checked_rows": int(rows.num_rows),
        "failed_rows_by_dimension": {d: int(by_dimension.get(d, 0)) for d in chunks[0].dimensions},
        "delivered_rows": int(delivered),
        "unparseable_rows": int(len(unparseable)),
        "exact_duplicates": int(duplicate.sum()),
        "superseded_in_delivery": superseded,
        "quarantined_rows": int(len(quarantine)),
        "standardised_rows": int(table.num_rows),
        "warned_rows": sum(c.warned_rows for c in chunks),
        "repairs": dict(sorted((k, int(v)) for k, v in repairs.items())),
    }
    return Outcome(table, quarantine, results, examples, stats)


def rules_of(entry: Entry) -> list[Rule]:
    """The dataset's rules (as the Dagster layer declares its checks), from a zero-row delivery."""
    empty = pd.DataFrame({c: pd.Series(dtype="string") for c in entry.dataset.source_columns})
    return check(entry.dataset, empty, date(2000, 1, 1)).rules
