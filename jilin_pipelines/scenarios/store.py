"""A scenario against the base database: load its view as of a day, decide, and write the decisions and their
evidence for that partition in one transaction (re-running a partition replaces exactly it).

``scenario_evidence`` holds one row per (decision, base record version, delivery row behind it): the record-level
provenance that ``jilin-pipelines lineage decision`` follows back to the delivery files.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.base import as_of, base_config, newest_delivered, provenance_of
from jilin_pipelines.base.bulk import bulk_insert
from jilin_pipelines.base.golden import delivery_sources
from jilin_pipelines.base.query import provenance_deliveries_of
from jilin_pipelines.base.schema import SCENARIO_EVIDENCE, metadata
from jilin_pipelines.engines import EMBEDDED, Engine
from jilin_pipelines.lake import scratch_dir
from jilin_pipelines.scenarios.core import (
    DELIVERY_COLUMNS,
    DELIVERY_META,
    BaseView,
    Decisions,
    Scenario,
    Thresholds,
)


def input_dataset(table: str) -> str:
    """The dataset that delivers a scenario's input table itself (not as a reference)."""
    sources = [s.dataset for s in base_config().table(table).sources if not s.reference and not s.role]
    if len(sources) != 1:
        raise ValueError(f"{table}: a scenario input needs exactly one delivering dataset, found {sources}")
    return sources[0]


def _input_source(scenario: Scenario):
    dataset = input_dataset(scenario.input)
    return dataset, next(s for s in base_config().table(scenario.input).sources if s.dataset == dataset and not s.role)


def input_fields(scenario: Scenario) -> list[str]:
    """The columns of the input dataset's standardised partition that :func:`input_rows` takes."""
    _, source = _input_source(scenario)
    return [*dict.fromkeys(source.field_of(c) for c in scenario.input_columns), *DELIVERY_META[1:]]


def input_rows(scenario: Scenario, standardised: pd.DataFrame) -> pd.DataFrame:
    """The scenario's inputs delivered on the day: the input dataset's standardised partition (every row, as
    scenario inputs are never quarantined — even one whose key is missing, which the base cannot hold), in the
    input table's column names, with the delivery columns."""
    dataset, source = _input_source(scenario)
    frame = pd.DataFrame({c: standardised[source.field_of(c)] for c in scenario.input_columns})
    frame["_dataset"] = dataset
    for c in DELIVERY_META[1:]:
        frame[c] = standardised[c]
    return frame.reset_index(drop=True)


def load_view(engine: sa.Engine, scenario: Scenario, day: date, standardised: pd.DataFrame | None = None, *,
              inputs: pd.DataFrame | None = None, units: pd.DataFrame | None = None, narrow: bool = True,
              compute: Engine | None = None) -> BaseView:
    """Exactly what the scenario declared, as of the day: golden records per ``table``, one dataset's newest
    delivered versions per ``table@dataset``, and (for a scenario with inputs) its input rows — from
    ``standardised``, the input dataset's standardised partition of the day, or ``inputs``, rows of
    :func:`input_rows` already. ``units`` (a scenario with units): a chunk of the units' records as of the day,
    which the view holds as that read. With ``narrow`` (and a scenario that declares how), only the base records
    that matter to those inputs or units. ``compute``: the engine the rule's set-based core runs on (default
    the embedded one)."""
    if inputs is None and standardised is not None:
        inputs = input_rows(scenario, standardised)
    if (scenario.input is None) != (inputs is None):
        raise ValueError(f"{scenario.name}: the input partition is required exactly when the scenario has inputs")
    if units is not None and scenario.units is None:
        raise ValueError(f"{scenario.name}: decides on no units")
    on = inputs if inputs is not None else units
    only = scenario.narrow(on, day) if narrow and on is not None and scenario.narrow is not None else {}
    frames: dict[str, pd.DataFrame] = {}
    for name, columns in scenario.reads.items():
        if units is not None and name == scenario.units[0]:
            frames[name] = units
            continue
        table, _, dataset = name.partition("@")
        wanted = only.get(name)
        if wanted is not None and callable(wanted[1]):
            wanted = (wanted[0], wanted[1](frames))
        if dataset:
            frames[name] = newest_delivered(engine, table, dataset, day, columns=columns, only=wanted)
        else:
            frames[name] = as_of(engine, table, day, columns=columns, provenance=False, only=wanted)
    return BaseView(frames, inputs, compute or EMBEDDED)


def load_units(engine: sa.Engine, scenario: Scenario, day: date) -> pd.DataFrame | None:
    """The records as of the day that a scenario with units decides on (the whole read), or None."""
    if scenario.units is None:
        return None
    name = scenario.units[0]
    return as_of(engine, name, day, columns=scenario.reads[name], provenance=False)


def day_column(scenario: Scenario) -> str:
    return "partition" if "partition" in scenario.output_key else "as_of"


def _provenance(engine: sa.Engine, golden: pd.DataFrame) -> pd.Series:
    """The provenance of the golden versions that evidence rows name (``base_table``, ``base_key`` — the key's
    JSON array — and ``base_valid_from``), each distinct version looked up once."""
    out = pd.Series(None, index=golden.index, dtype=object)
    for table, rows in golden.groupby("base_table", sort=True):
        named = rows[["base_key", "base_valid_from"]].drop_duplicates()
        versions = pd.DataFrame([json.loads(k) for k in named["base_key"]], columns=list(base_config().table(table).key),
                                index=named.index)
        versions["_valid_from"] = named["base_valid_from"].to_numpy()
        named = named.assign(provenance=provenance_of(engine, table, versions))
        out[rows.index] = rows.merge(named, on=["base_key", "base_valid_from"], how="left")["provenance"].to_numpy()
    return out


def evidence_rows(engine: sa.Engine, scenario: Scenario, day: date, decisions: Decisions,
                  run_id: str | None) -> pd.DataFrame:
    """The rule's evidence, one row per delivery: a golden record's provenance (looked up in the base) expanded
    into its distinct delivery rows (each distinct provenance parsed once), a delivered row as it is."""
    ev = decisions.evidence
    is_golden = ev["base_valid_from"].notna()
    golden = ev[is_golden].assign(provenance=_provenance(engine, ev[is_golden]))
    deliveries: dict[str, list[tuple]] = {}
    texts = golden["provenance"].unique()
    resolved = provenance_deliveries_of(engine, texts)
    for text in texts:
        deliveries[text] = sorted({(src["dataset"], src["partition"], int(src["source_row"]), src["sha256"])
                                   for src in delivery_sources(text, resolved)})
    expanded = golden.assign(_d=golden["provenance"].map(deliveries)).explode("_d").dropna(subset=["_d"])
    expanded[list(DELIVERY_COLUMNS)] = pd.DataFrame(expanded["_d"].tolist(), index=expanded.index,
                                                    columns=list(DELIVERY_COLUMNS))
    out = pd.concat([expanded.drop(columns=["_d", "provenance"]), ev[~is_golden]], ignore_index=True)
    out = out.drop_duplicates(
        ["decision_id", "used_for", "base_table", "base_key", "dataset", "delivery_partition", "source_row"])
    out.insert(0, "scenario", scenario.name)
    out.insert(1, "partition", day)
    out.insert(3, "purpose", scenario.purpose)
    out["run_id"] = run_id
    out["base_valid_from"] = pd.to_datetime(out["base_valid_from"]).dt.date
    out["delivery_partition"] = pd.to_datetime(out["delivery_partition"]).dt.date
    out["source_row"] = out["source_row"].astype("int64")
    return out


CHUNK_ROWS = 50_000
"""The scenarios' chunk budget: a scenario decides this many input rows (or records of its units) at a time (rows
of one decision always together), and each chunk's decisions and evidence wait on disk until the partition is
written, so the memory they take does not grow with the day's inputs."""

OUTCOME_COLUMNS = ("decision", "result", "risk")  # the column of an output table that holds its answer


@dataclass(frozen=True)
class ScenarioRun:
    """What deciding one partition did: counts only (the decisions and evidence are in the base database)."""

    decisions: int
    evidence: int
    outcomes: dict[str, int]  # per answer (and per ``flag <name>`` for the scenarios with reasons)
    read_counts: dict[str, int]  # records read per base table (over the chunks)


def _chunks(rows: pd.DataFrame | None, by: tuple[str, ...], chunk_rows: int) -> list[pd.DataFrame | None]:
    """The rows (inputs, or the units' records) in chunks of about ``chunk_rows``, split by a fingerprint of the
    columns ``by`` that name their decision."""
    if rows is None or len(rows) <= chunk_rows:
        return [rows]
    n = -(-len(rows) // chunk_rows)
    ids = rows[list(by)].astype("string").fillna("\x00")
    chunk = pd.util.hash_pandas_object(ids, index=False).to_numpy() % n
    return [rows[chunk == c].reset_index(drop=True) for c in range(n) if (chunk == c).any()]


def _outcomes(table: pd.DataFrame) -> Counter:
    column = next((c for c in OUTCOME_COLUMNS if c in table.columns), None)
    counts = Counter({str(k): int(v) for k, v in table[column].value_counts().items()} if column else {})
    if "reasons" in table.columns:  # each distinct reasons array parsed once
        for text, n in table["reasons"].value_counts().items():
            counts.update({f"flag {flag}": int(n) for flag in json.loads(text)})
    return counts


def run_scenario(engine: sa.Engine, scenario: Scenario, day: date, standardised: pd.DataFrame | None = None,
                 thresholds: Thresholds | None = None, run_id: str | None = None,
                 chunk_rows: int | None = None, compute: Engine | None = None) -> ScenarioRun:
    """Decide the scenario's partition ``day`` (its inputs: ``standardised``, the input dataset's standardised
    partition of the day) and replace that partition's outputs and evidence, in one transaction. The inputs are
    decided ``chunk_rows`` (default :data:`CHUNK_ROWS`) at a time, each against just the base records that matter
    to it (``Scenario.narrow``); the result does not depend on the chunk. ``compute``: the engine the rules'
    set-based core runs on (``engines.py``; default the embedded one)."""
    inputs = None if standardised is None else input_rows(scenario, standardised)
    out = metadata().tables[scenario.output]
    evt = metadata().tables[SCENARIO_EVIDENCE]
    out_columns = [c.name for c in out.columns]
    ev_columns = [c.name for c in evt.columns if c.name != "id"]
    decided = evidenced = 0
    outcomes: Counter = Counter()
    with scratch_dir(scenario.name) as spill:
        parts = []
        counts = dict.fromkeys(scenario.tables(), 0)
        units = load_units(engine, scenario, day)
        rows, by = (units, scenario.units[1]) if units is not None else (inputs, scenario.decision_id)
        for i, part in enumerate(_chunks(rows, by, max(1, chunk_rows or CHUNK_ROWS))):
            view = load_view(engine, scenario, day, **({"units": part} if units is not None else {"inputs": part}),
                             compute=compute)
            for name, frame in view.as_of.items():
                counts[name.partition("@")[0]] += len(frame)
            decisions = scenario.decide(view, day, thresholds or Thresholds())
            del view
            ev = evidence_rows(engine, scenario, day, decisions, run_id)
            decided, evidenced = decided + len(decisions.table), evidenced + len(ev)
            outcomes.update(_outcomes(decisions.table))
            paths = (Path(spill) / f"{i}.decisions.parquet", Path(spill) / f"{i}.evidence.parquet")
            pq.write_table(pa.Table.from_pandas(decisions.table[out_columns], preserve_index=False), paths[0])
            pq.write_table(pa.Table.from_pandas(ev[ev_columns], preserve_index=False), paths[1])
            parts.append(paths)
            del decisions, ev
        with engine.begin() as conn:  # bulk paths: COPY on PostgreSQL, batched executemany on SQLite
            conn.execute(sa.delete(out).where(out.c[day_column(scenario)] == day))
            conn.execute(sa.delete(evt).where(evt.c.scenario == scenario.name, evt.c.partition == day))
            for decisions_path, evidence_path in parts:
                bulk_insert(conn, scenario.output, pq.read_table(decisions_path).to_pandas())
                bulk_insert(conn, SCENARIO_EVIDENCE, pq.read_table(evidence_path).to_pandas())
    return ScenarioRun(decided, evidenced, dict(sorted(outcomes.items())), counts)


def outputs(engine: sa.Engine, scenario: Scenario, day: date | None = None) -> pd.DataFrame:
    """The scenario's stored decisions (of one partition, or all), sorted by the output key."""
    t = metadata().tables[scenario.output]
    stmt = sa.select(t).order_by(*[t.c[k] for k in scenario.output_key])
    if day is not None:
        stmt = stmt.where(t.c[day_column(scenario)] == day)
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)
