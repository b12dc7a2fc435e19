"""The standardised layer of one (dataset, day): raw landing in, standardised rows and quarantine out.

Order of work: unparseable rows go straight to the quarantine; exact duplicates within the delivery are
dropped and counted; the remaining rows are standardised and checked (``rules``) with Great Expectations
(``expectations``); rows failing a blocking rule go to the quarantine with every reason; the rest are
de-duplicated by key (the newest update time wins) and written in the contract of ``layout``. Pure: no Dagster.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.catalogue.models import Dimension, Severity
from jilin_pipelines.lake import PartitionWriter, scratch_dir
from jilin_pipelines.quality import expectations
from jilin_pipelines.quality import layout
from jilin_pipelines.quality.layout import PARTITION, PROVIDER, SOURCE_ROW, SOURCE_SHA256, WARNINGS, standard_schema
from jilin_pipelines.quality.rules import check, describe
from jilin_pipelines.sources import ERROR, RAW

QUARANTINE_COLUMNS = ["dataset", "partition", "provider", "source_row", "rule", "reason", "dimension", "severity",
                      "raw"]
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
            "provider": rows[PROVIDER] if PROVIDER in rows.columns else None,
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


def _fingerprints(rows: pa.Table, columns: list[str]) -> np.ndarray:
    """A 64-bit fingerprint of each row's ``columns``."""
    return pd.util.hash_pandas_object(_to_pandas(rows.select(columns)), index=False).to_numpy()


def _exact_duplicates(hashes: np.ndarray, parts: Callable[[], Iterator[pa.Table]], columns: list[str],
                      chunk_rows: int) -> np.ndarray:
    """``DataFrame.duplicated(subset=columns, keep="first")`` over the parsed rows of every part, from their
    fingerprints (``hashes``, in order): rows whose fingerprint occurs more than once are the candidates, and only
    they are compared in full — read again from the parts, about ``chunk_rows`` at a time, the rows of one
    fingerprint always together (equal rows have equal fingerprints: the earliest of each stays)."""
    candidates = np.flatnonzero(pd.Series(hashes).duplicated(keep=False).to_numpy())
    duplicate = np.zeros(len(hashes), dtype=bool)
    if not len(candidates):
        return duplicate
    candidates = candidates[np.lexsort((candidates, hashes[candidates]))]  # by fingerprint, then position
    group_starts = np.flatnonzero(np.r_[True, hashes[candidates][1:] != hashes[candidates][:-1]])
    # chunks cut at the first group starting at or after each multiple of chunk_rows
    at = np.searchsorted(group_starts, np.arange(chunk_rows, len(candidates), chunk_rows))
    bounds = np.unique(np.r_[0, group_starts[at[at < len(group_starts)]], len(candidates)])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        chunk = candidates[lo:hi]
        in_file_order = np.sort(chunk)
        picked, at = [], 0
        for part in parts():
            mine = in_file_order[(in_file_order >= at) & (in_file_order < at + part.num_rows)] - at
            if len(mine):
                picked.append(part.select(columns).take(pa.array(mine)))
            at += part.num_rows
        rows = pa.concat_tables(picked).take(pa.array(np.searchsorted(in_file_order, chunk)))
        same = _to_pandas(rows).duplicated(subset=columns, keep="first").to_numpy(bool)
        duplicate[chunk[same]] = True
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


def _standardise_chunk(entry: Entry, rows: pd.DataFrame, day: date, sha256: str | None | dict[str, str | None],
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
    if PROVIDER in rows.columns:  # a dataset of many providers: each row's own delivery
        values[PROVIDER] = rows[PROVIDER].iloc[passing].to_numpy(dtype=object)
        values[SOURCE_SHA256] = values[PROVIDER].map(sha256)
    else:
        values[PROVIDER] = None
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


def _newest_rows(keys: pa.Table, entry: Entry) -> tuple[np.ndarray, int]:
    """Which rows hold the newest version of their key (update time, then source row; no update time counts as
    oldest), as a mask over ``keys`` (the key, update time and source-row columns of the standardised rows), and
    how many were superseded. In Arrow: the rows ordered oldest first, the last row of each key kept (an ordered
    aggregation)."""
    ds = entry.dataset
    keep = np.zeros(keys.num_rows, dtype=bool)
    if not keys.num_rows:
        return keep, 0
    order = [(ds.updated_field, "ascending", "at_start"), (SOURCE_ROW, "ascending", "at_start")] \
        if ds.updated_field else [(SOURCE_ROW, "ascending", "at_start")]
    oldest_first = pc.sort_indices(keys, sort_keys=order)
    ordered = keys.select(list(ds.key)).take(oldest_first).append_column("_row", oldest_first)
    newest = ordered.group_by(list(ds.key), use_threads=False).aggregate([("_row", "last")])["_row_last"]
    keep[newest.to_numpy()] = True
    return keep, keys.num_rows - len(newest)


Raw = pa.Table | str | Path
"""A raw landing: the table, or its Parquet file (read a chunk at a time)."""


def _raw_parts(raw: Raw, columns: list[str], chunk_rows: int) -> Callable[[], Iterator[pa.Table]]:
    """The raw rows a part of at most ``chunk_rows`` at a time (at least one part, maybe empty), each with every
    source column (a delivery missing an optional column still standardises: the reader warned), as often as
    asked for."""
    if not isinstance(raw, pa.Table) and pq.ParquetFile(raw).metadata.num_rows <= chunk_rows:
        raw = pq.read_table(raw)  # within the budget: read once, not once per pass

    def parts() -> Iterator[pa.Table]:
        if isinstance(raw, pa.Table):
            pieces = [raw.slice(off, chunk_rows) for off in range(0, raw.num_rows, chunk_rows)] or [raw]
        else:
            parquet = pq.ParquetFile(raw)
            pieces = (pa.Table.from_batches([b], parquet.schema_arrow) for b in parquet.iter_batches(batch_size=chunk_rows))
        for piece in pieces:
            yield _with_columns(piece, columns)
    return parts


class _Spool:
    """The standardised rows of the chunks, in order: held in memory while they fit the chunk budget, else in a
    temporary Parquet file (``path``)."""

    def __init__(self, path: Path, budget: int):
        self.path, self.budget = path, budget
        self.held: list[pa.Table] = []
        self.rows = 0
        self.writer: PartitionWriter | None = None

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        self.held.append(table)
        if self.writer is None and self.rows > self.budget:
            self.writer = PartitionWriter(self.path).__enter__()
        if self.writer is not None:
            for held in self.held:
                self.writer.write(held)
            self.held = []

    def close(self) -> None:
        if self.writer is not None:
            self.writer.commit()
            self.writer.__exit__(None, None, None)

    def columns(self, names: list[str]) -> pa.Table:
        return pq.read_table(self.path, columns=names) if self.writer else pa.concat_tables(self.held).select(names)

    def batches(self, batch_rows: int) -> Iterator[pa.Table]:
        """Every row again, in tables of at most ``batch_rows`` (at least one, maybe empty)."""
        if self.writer is None:
            yield from self.held
            return
        yield pq.read_schema(self.path).empty_table()
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=batch_rows):
            yield pa.Table.from_batches([batch])


def _chunks_of(parts: Iterator[pa.Table], chunk_rows: int) -> Iterator[pa.Table]:
    """The rows of ``parts`` again, in chunks of exactly ``chunk_rows`` (the last one fewer; one empty chunk when
    there is no row at all, so that every rule still reports)."""
    held: list[pa.Table] = []
    n = 0
    empty = None
    yielded = False
    for part in parts:
        if empty is None:
            empty = part.slice(0, 0)
        while part.num_rows:
            take = min(part.num_rows, chunk_rows - n)
            held.append(part.slice(0, take))
            n += take
            part = part.slice(take)
            if n == chunk_rows:
                yield pa.concat_tables(held)
                held, n, yielded = [], 0, True
    if held:
        yield pa.concat_tables(held)
    elif not yielded and empty is not None:
        yield empty


def _parsed_rows(raw_parts: Callable[[], Iterator[pa.Table]]) -> Callable[[], Iterator[pa.Table]]:
    """The rows of the raw parts the reader could parse, a part at a time, as often as asked for."""
    def parts() -> Iterator[pa.Table]:
        for part in raw_parts():
            yield part.filter(pc.is_null(part[ERROR]))
    return parts


@dataclass
class _Survey:
    """What a first pass over the raw rows learns, before any is standardised."""

    delivered: int
    unparseable: pd.DataFrame  # the rows the reader could not parse: straight to the quarantine
    duplicate: np.ndarray  # per parsed row: an exact duplicate of an earlier one (dropped, counted)
    delivered_by: Counter  # a dataset of many providers: the rows each delivered...
    parsed_by: list[np.ndarray]  # ... and, a part at a time, the provider of each parsed row


def _survey(raw_parts: Callable[[], Iterator[pa.Table]], dup_columns: list[str], chunk_rows: int,
            many: bool) -> _Survey:
    """One pass over the raw rows: how many, the unparseable ones, and the parsed rows' fingerprints, from which
    the exact duplicates over ``dup_columns`` are found. ``many``: a dataset of many providers."""
    delivered = 0
    unparseable_parts: list[pd.DataFrame] = []
    hashes = []
    delivered_by, parsed_by = Counter(), []
    for part in raw_parts():
        delivered += part.num_rows
        failed = pc.is_valid(part[ERROR])
        unparseable_parts.append(_to_pandas(part.filter(failed)))
        hashes.append(_fingerprints(part.filter(pc.invert(failed)), dup_columns))
        if many:
            delivered_by.update(part[PROVIDER].to_pylist())
            parsed_by.append(part.filter(pc.invert(failed))[PROVIDER].to_numpy(zero_copy_only=False))
    unparseable = pd.concat(unparseable_parts, ignore_index=True)
    del unparseable_parts
    duplicate = _exact_duplicates(np.concatenate(hashes), _parsed_rows(raw_parts), dup_columns, chunk_rows)
    return _Survey(delivered, unparseable, duplicate, delivered_by, parsed_by)


def _unique_rows(parsed_parts: Callable[[], Iterator[pa.Table]], duplicate: np.ndarray) -> Iterator[pa.Table]:
    """The parsed rows but the exact duplicates, a part at a time."""
    at = 0
    for part in parsed_parts():
        yield part.filter(pa.array(~duplicate[at : at + part.num_rows]))
        at += part.num_rows


@dataclass
class _Checks:
    """The chunks of the unique rows, standardised and checked (their standardised rows spooled)."""

    chunks: list[_Chunk]
    offsets: list[int]  # each chunk's first row among the checked rows
    rows: int  # the rows checked


def _check_chunks(entry: Entry, chunks: Iterator[pa.Table], day: date, sha256: str | None | dict[str, str | None],
                  spool: _Spool, examples: dict[str, list[dict]]) -> _Checks:
    """Each chunk standardised and checked: its standardised rows written to ``spool`` (closed at the end), only
    its results, quarantine and failures kept; ``examples`` gathers the first failing rows of each rule."""
    done: list[_Chunk] = []
    offsets: list[int] = []
    checked = 0
    for rows in chunks:
        chunk = _standardise_chunk(entry, _to_pandas(rows), day, sha256, examples)
        offsets.append(checked)
        checked += rows.num_rows
        spool.write(chunk.values)
        chunk.values = None  # spooled: only the chunk's results, quarantine and failures are kept
        done.append(chunk)
    spool.close()
    return _Checks(done, offsets, checked)


@dataclass
class _Kept:
    """The standardised rows that flow on: the newest version of each key."""

    table: pa.Table | None  # None when written to a file
    rows: int
    superseded: int  # older versions of a key in the same delivery, dropped
    by_provider: Counter | None  # a dataset of many providers: the rows kept of each


def _keep_newest(entry: Entry, spool: _Spool, chunk_rows: int, out: Path | None, metadata: dict,
                 many: bool) -> _Kept:
    """The spooled rows holding the newest version of their key, as a table or (``out``) written to that Parquet
    file with the delivery's ``metadata``."""
    ds = entry.dataset
    keys = spool.columns([*ds.key, *([ds.updated_field] if ds.updated_field else []), SOURCE_ROW, PROVIDER])
    keep, superseded = _newest_rows(keys, entry)
    by_provider = Counter(keys[PROVIDER].filter(pa.array(keep)).to_pylist()) if many else None
    del keys
    kept = (b.filter(pa.array(keep[at : at + b.num_rows])) for b, at in _positioned(spool.batches(chunk_rows)))
    table = None
    if out is None:
        table = pa.concat_tables(list(kept)).combine_chunks()
    else:
        with PartitionWriter(out) as writer:
            for piece in kept:
                writer.write(piece)
            writer.commit(layout.delivery_metadata(metadata))
    return _Kept(table, int(keep.sum()), superseded, by_provider)


def _results(checks: _Checks) -> list[expectations.RuleResult]:
    """Each rule's expectation result over every chunk, as if validated at once."""
    chunks = checks.chunks
    if len(chunks) == 1:
        return chunks[0].results
    return [expectations.combine([c.results[i] for c in chunks], checks.offsets) for i in range(len(chunks[0].results))]


def _all_quarantine(entry: Entry, day: date, unparseable: pd.DataFrame, checks: _Checks) -> pd.DataFrame:
    """The unparseable rows, then each chunk's blocked rows."""
    return pd.concat(
        [_quarantine(entry, day, unparseable, pd.Series(UNPARSEABLE_RULE, index=unparseable.index),
                     unparseable[ERROR], pd.Series(Dimension.accessibility.value, index=unparseable.index),
                     Severity.block.value, [RAW, ERROR]),
         *(c.quarantine for c in checks.chunks)],
        ignore_index=True,
    )


def _failed_rows_by_dimension(checks: _Checks) -> dict[str, int]:
    """How many checked rows fail a rule of each of the dataset's dimensions."""
    chunks = checks.chunks
    failures = [c.failures.assign(pos=c.failures["pos"] + off) for c, off in zip(chunks, checks.offsets, strict=True)
                if len(c.failures)]
    failures = pd.concat(failures, ignore_index=True) if failures else chunks[0].failures
    by_dimension = failures.groupby("dimension")["pos"].nunique() if len(failures) else pd.Series(dtype=int)
    return {d: int(by_dimension.get(d, 0)) for d in chunks[0].dimensions}


def _stats(survey: _Survey, checks: _Checks, kept: _Kept, quarantine: pd.DataFrame) -> dict:
    """The delivery's counts, from delivered to standardised, and the repairs by field."""
    repairs: Counter = Counter()
    for c in checks.chunks:
        repairs.update(c.repairs)
    return {
        "checked_rows": int(checks.rows),
        "failed_rows_by_dimension": _failed_rows_by_dimension(checks),
        "delivered_rows": int(survey.delivered),
        "unparseable_rows": int(len(survey.unparseable)),
        "exact_duplicates": int(survey.duplicate.sum()),
        "superseded_in_delivery": kept.superseded,
        "quarantined_rows": int(len(quarantine)),
        "standardised_rows": kept.rows,
        "warned_rows": sum(c.warned_rows for c in checks.chunks),
        "repairs": dict(sorted((k, int(v)) for k, v in repairs.items())),
    }


def _provider_stats(survey: _Survey, kept: _Kept, quarantine: pd.DataFrame, providers: list[str]) -> dict:
    """Each provider's delivered, exactly duplicated, quarantined and standardised rows."""
    parsed = np.concatenate(survey.parsed_by) if survey.parsed_by else np.zeros(0, dtype=object)
    duplicated_by = Counter(parsed[survey.duplicate].tolist())
    quarantined_by = Counter(quarantine["provider"].tolist())
    return {code: {"delivered_rows": int(survey.delivered_by[code]),
                   "exact_duplicates": int(duplicated_by[code]),
                   "quarantined_rows": int(quarantined_by[code]),
                   "standardised_rows": int(kept.by_provider[code])}
            for code in providers}


def standardise(entry: Entry, raw: Raw, day: date, sha256: str | None | dict[str, str | None],
                chunk_rows: int | None = None, out: Path | None = None, facts: dict | None = None) -> Outcome:
    """The standardised rows, the quarantine and the expectations' results of one delivery (``raw``: the raw
    landing's table or its file), ``chunk_rows`` rows (default :data:`CHUNK_ROWS`) at a time: the result does not
    depend on the chunk size.

    With ``out``, the standardised rows are written to that Parquet file (atomically) and ``Outcome.table`` is None:
    no more than a chunk of the delivery is then held at once, but for what grows with it by a few bytes a row
    (a fingerprint per row for the exact duplicates; the key, update time and row number of each standardised row
    for the newest version per key) and with its failing rows (quarantine, expectation results). Each chunk's
    standardised rows wait in a temporary file until the newest version of every key is known. ``facts``: the raw
    landing's summary, whose delivery facts the file's metadata carries (``layout.delivery_metadata``).

    A dataset of many providers (the raw rows name theirs, ``PROVIDER``): ``sha256`` maps each provider's code to its
    delivery's SHA-256; each provider's file is its own delivery (exact duplicates are counted within it), and
    ``stats["providers"]`` gives each provider's delivered, exactly duplicated, quarantined and standardised rows."""
    columns = entry.dataset.source_columns
    chunk_rows = max(1, chunk_rows or CHUNK_ROWS)
    raw_parts = _raw_parts(raw, columns, chunk_rows)
    many = isinstance(sha256, dict)
    dup_columns = [*columns, PROVIDER] if many else columns  # a provider's file is its own delivery
    survey = _survey(raw_parts, dup_columns, chunk_rows, many)

    examples: dict[str, list[dict]] = {}
    with scratch_dir("standardise") as spool_dir:
        spool = _Spool(Path(spool_dir) / "values.parquet", chunk_rows)
        unique = _unique_rows(_parsed_rows(raw_parts), survey.duplicate)
        checks = _check_chunks(entry, _chunks_of(unique, chunk_rows), day, sha256, spool, examples)
        kept = _keep_newest(entry, spool, chunk_rows, out, facts or {"source_sha256": sha256}, many)

    quarantine = _all_quarantine(entry, day, survey.unparseable, checks)
    stats = _stats(survey, checks, kept, quarantine)
    if many:
        stats["providers"] = _provider_stats(survey, kept, quarantine, sorted(sha256))
    return Outcome(kept.table, quarantine, _results(checks), examples, stats)


def _positioned(tables: Iterator[pa.Table]) -> Iterator[tuple[pa.Table, int]]:
    """Each table with the position of its first row among all of them."""
    at = 0
    for table in tables:
        yield table, at
        at += table.num_rows
