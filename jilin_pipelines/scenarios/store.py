"""A scenario against the base database: load its view as of a day, decide, and write the decisions and their
evidence for that partition in one transaction (re-running a partition replaces exactly it).

``scenario_evidence`` holds one row per (decision, base record version, delivery row behind it): the record-level
provenance that ``jilin-pipelines lineage decision`` follows back to the delivery files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd
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


def input_rows(scenario: Scenario, standardised: pd.DataFrame) -> pd.DataFrame:
    """The scenario's inputs delivered on the day: the input dataset's standardised partition (every row, as
    scenario inputs are never quarantined — even one whose key is missing, which the base cannot hold), in the
    input table's column names, with the delivery columns."""
    dataset = input_dataset(scenario.input)
    source = next(s for s in base_config().table(scenario.input).sources if s.dataset == dataset and not s.role)
    frame = pd.DataFrame({c: standardised[source.field_of(c)] for c in scenario.input_columns})
    frame["_dataset"] = dataset
    for c in DELIVERY_META[1:]:
        frame[c] = standardised[c]
    return frame.reset_index(drop=True)


def load_view(engine: sa.Engine, scenario: Scenario, day: date, standardised: pd.DataFrame | None = None) -> BaseView:
    """Exactly what the scenario declared, as of the day: golden records per ``table``, one dataset's newest
    delivered versions per ``table@dataset``, and (for a scenario with inputs) the rows of ``standardised``, the
    input dataset's standardised partition of the day."""
    if (scenario.input is None) != (standardised is None):
        raise ValueError(f"{scenario.name}: the input partition is required exactly when the scenario has inputs")
    frames = {}
    for name, columns in scenario.reads.items():
        table, _, dataset = name.partition("@")
        if dataset:
            frames[name] = newest_delivered(engine, table, dataset, day, columns=columns)
        else:
            frames[name] = as_of(engine, table, day, columns=columns, provenance=False)
    return BaseView(frames, None if standardised is None else input_rows(scenario, standardised))


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


@dataclass(frozen=True)
class ScenarioRun:
    decisions: Decisions
    evidence: pd.DataFrame
    read_counts: dict[str, int]  # records read per base table


def run_scenario(engine: sa.Engine, scenario: Scenario, day: date, standardised: pd.DataFrame | None = None,
                 thresholds: Thresholds | None = None, run_id: str | None = None) -> ScenarioRun:
    """Decide the scenario's partition ``day`` (its inputs: ``standardised``, the input dataset's standardised
    partition of the day) and replace that partition's outputs and evidence."""
    view = load_view(engine, scenario, day, standardised)
    decisions = scenario.decide(view, day, thresholds or Thresholds())
    ev = evidence_rows(engine, scenario, day, decisions, run_id)
    out = metadata().tables[scenario.output]
    evt = metadata().tables[SCENARIO_EVIDENCE]
    with engine.begin() as conn:  # bulk paths: COPY on PostgreSQL, batched executemany on SQLite
        conn.execute(sa.delete(out).where(out.c[day_column(scenario)] == day))
        conn.execute(sa.delete(evt).where(evt.c.scenario == scenario.name, evt.c.partition == day))
        bulk_insert(conn, scenario.output, decisions.table[[c.name for c in out.columns]])
        bulk_insert(conn, SCENARIO_EVIDENCE, ev[[c.name for c in evt.columns if c.name != "id"]])
    counts = dict.fromkeys(scenario.tables(), 0)
    for name, frame in view.as_of.items():
        counts[name.partition("@")[0]] += len(frame)
    return ScenarioRun(decisions, ev, counts)


def outputs(engine: sa.Engine, scenario: Scenario, day: date | None = None) -> pd.DataFrame:
    """The scenario's stored decisions (of one partition, or all), sorted by the output key."""
    t = metadata().tables[scenario.output]
    stmt = sa.select(t).order_by(*[t.c[k] for k in scenario.output_key])
    if day is not None:
        stmt = stmt.where(t.c[day_column(scenario)] == day)
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)
