"""A scenario against the base database: load its view as of a day, decide, and write the decisions and their
evidence for that partition in one transaction (re-running a partition replaces exactly it).

``scenario_evidence`` holds one row per (decision, base record version, delivery row behind it): the record-level
provenance that ``jilin-pipelines lineage decision`` follows back to the delivery files.
"""

from __future__ import annotations

import json
import tempfile
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
from jilin_pipelines.base.schema import SCENARIO_EVIDENCE, metadata
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
              inputs: pd.DataFrame | None = None, narrow: bool = True) -> BaseView:
    """Exactly what the scenario declared, as of the day: golden records per ``table``, one dataset's newest
    delivered versions per ``table@dataset``, and (for a scenario with inputs) its input rows — from
    ``standardised``, the input dataset's standardised partition of the day, or ``inputs``, rows of
    :func:`input_rows` already. With ``narrow`` (and a scenario that declares how), only the base records that
    matter to those inputs."""
    if inputs is None and standardised is not None:
        inputs = input_rows(scenario, standardised)
    if (scenario.input is None) != (inputs is None):
        raise ValueError(f"{scenario.name}: the input partition is required exactly when the scenario has inputs")
    only = scenario.narrow(inputs, day) if narrow and scenario.narrow is not None else {}
    frames = {}
    for name, columns in scenario.reads.items():
        table, _, dataset = name.partition("@")
        if dataset:
            frames[name] = newest_delivered(engine, table, dataset, day, columns=columns, only=only.get(name))
        else:
            frames[name] = as_of(engine, table, day, columns=columns, provenance=False, only=only.get(name))
    return BaseView(frames, inputs)


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
    for text in golden["provenance"].unique():
        deliveries[text] = sorted({(src["dataset"], src["partition"], int(src["source_row"]), src["sha256"])
                                   for src in delivery_sources(text)})
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
"""The scenarios' chunk budget: a scenario with inputs decides this many input rows at a time (rows of one
decision id always together), and each chunk's decisions and evidence wait on disk until the partition is
written, so the memory they take does not grow with the day's inputs."""

OUTCOME_COLUMNS = ("decision", "result", "risk")  # the column of an output table that holds its answer


@dataclass(frozen=True)
class ScenarioRun:
    """What deciding one partition did: counts only (the decisions and evidence are in the base database)."""

    decisions: int
    evidence: int
    outcomes: dict[str, int]  # per answer (and per ``flag <name>`` for the scenarios with reasons)
    read_counts: dict[str, int]  # records read per base table (over the chunks)


def _chunks(scenario: Scenario, inputs: pd.DataFrame | None, chunk_rows: int) -> list[pd.DataFrame | None]:
    """The input rows in chunks of about ``chunk_rows``, split by a fingerprint of their decision id."""
    if inputs is None or len(inputs) <= chunk_rows:
        return [inputs]
    n = -(-len(inputs) // chunk_rows)
    ids = inputs[list(scenario.decision_id)].astype("string").fillna("\x00")
    chunk = pd.util.hash_pandas_object(ids, index=False).to_numpy() % n
    return [inputs[chunk == c].reset_index(drop=True) for c in range(n) if (chunk == c).any()]


def _outcomes(table: pd.DataFrame) -> Counter:
    column = next((c for c in OUTCOME_COLUMNS if c in table.columns), None)
    counts = Counter({str(k): int(v) for k, v in table[column].value_counts().items()} if column else {})
    if "reasons" in table.columns:  # each distinct reasons array parsed once
        for text, n in table["reasons"].value_counts().items():
            counts.update({f"flag {flag}": int(n) for flag in json.loads(text)})
    return counts


def run_scenario(engine: sa.Engine, scenario: Scenario, day: date, standardised: pd.DataFrame | None = None,
                 thresholds: Thresholds | None = None, run_id: str | None = None,
                 chunk_rows: int | None = None) -> ScenarioRun:
    """Decide the scenario's partition ``day`` (its inputs: ``standardised``, the input dataset's standardised
    partition of the day) and replace that partition's outputs and evidence, in one transaction. The inputs are
    decided ``chunk_rows`` (default :data:`CHUNK_ROWS`) at a time, each against just the base records that matter
    to it (``Scenario.narrow``); the result does not depend on the chunk."""
    inputs = None if standardised is None else input_rows(scenario, standardised)
    out = metadata().tables[scenario.output]
    evt = metadata().tables[SCENARIO_EVIDENCE]
    out_columns = [c.name for c in out.columns]
    ev_columns = [c.name for c in evt.columns if c.name != "id"]
    decided = evidenced = 0
    outcomes: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix=f"jilin_{scenario.name}_") as spill:
        parts = []
        counts = dict.fromkeys(scenario.tables(), 0)
        for i, part in enumerate(_chunks(scenario, inputs, max(1, chunk_rows or CHUNK_ROWS))):
            view = load_view(engine, scenario, day, inputs=part)
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
