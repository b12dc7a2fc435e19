"""Asking the lineage (``jilin-pipelines lineage ...``): a decision's evidence back to the delivery rows, every
decision that used a person's data, and the dataset graph upstream of a scenario.

Pure reads of the base database (``scenario_evidence`` and the scenario output tables) and of the declarations
(scenarios, ``catalogue/base/tables.yaml``, the catalogue); the text is masked by the caller unless revealed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa

from jilin_pipelines.base import lineage as base_lineage
from jilin_pipelines.base.schema import SCENARIO_EVIDENCE, metadata
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.scenarios import Scenario, scenario
from jilin_pipelines.scenarios.store import day_column, input_dataset
from jilin_pipelines.standards import validate_resident_id


@dataclass(frozen=True)
class DecisionLineage:
    scenario: Scenario
    decisions: pd.DataFrame  # the output rows of that decision id (one per partition decided)
    evidence: pd.DataFrame  # scenario_evidence rows, by partition, used_for, base table


def _evidence(engine: sa.Engine, *where) -> pd.DataFrame:
    t = metadata().tables[SCENARIO_EVIDENCE]
    stmt = sa.select(t).where(*where).order_by(t.c.partition, t.c.scenario, t.c.decision_id, t.c.used_for,
                                               t.c.base_table, t.c.base_key, t.c.dataset, t.c.source_row)
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)


def decision(engine: sa.Engine, scenario_name: str, decision_id: str, day: date | None = None) -> DecisionLineage:
    """The decision(s) named ``decision_id`` (the decision key joined by ``/``) and their evidence."""
    s = scenario(scenario_name)
    t = metadata().tables[s.output]
    parts = decision_id.split("/")
    if len(parts) != len(s.decision_id):
        raise ValueError(f"{s.name}: a decision is named by {'/'.join(s.decision_id)}, got {decision_id!r}")
    where = [t.c[c] == v for c, v in zip(s.decision_id, parts) if v != ""]
    where += [t.c[c].is_(None) for c, v in zip(s.decision_id, parts) if v == ""]
    if day is not None:
        where.append(t.c[day_column(s)] == day)
    with engine.connect() as conn:
        decisions = pd.read_sql(sa.select(t).where(*where).order_by(t.c[day_column(s)]), conn)
    e = metadata().tables[SCENARIO_EVIDENCE]
    ev_where = [e.c.scenario == s.name, e.c.decision_id == decision_id]
    if day is not None:
        ev_where.append(e.c.partition == day)
    return DecisionLineage(s, decisions, _evidence(engine, *ev_where))


def person(engine: sa.Engine, id_number: str) -> pd.DataFrame:
    """Every scenario decision whose evidence used records about the person: scenario, partition (when), purpose,
    decision_id, what the records were used for, and from which base tables and deliveries."""
    checked = validate_resident_id(pd.Series([id_number], dtype="string"))
    wanted = {id_number.strip(), str(checked.value.iloc[0]) if bool(checked.valid.iloc[0]) else id_number.strip()}
    e = metadata().tables[SCENARIO_EVIDENCE]
    ev = _evidence(engine, e.c.person_id.in_(sorted(wanted)))
    if ev.empty:
        return ev
    return (ev.groupby(["scenario", "partition", "purpose", "decision_id"], as_index=False)
            .agg(used_for=("used_for", lambda s: ", ".join(sorted(set(s)))),
                 base_tables=("base_table", lambda s: ", ".join(sorted(set(s)))),
                 deliveries=("dataset", lambda s: ", ".join(sorted(set(s)))),
                 run_id=("run_id", "last")))


def graph(scenario_name: str) -> list[str]:
    """The dataset graph upstream of a scenario, as indented lines: the output, the base tables it reads (with
    the columns), the standardised datasets they are merged from, the raw landings and the deliveries."""
    s = scenario(scenario_name)
    entries = {e.id: e for e in catalogue().entries}
    lines = [f"scenario/{s.output}  ({s.name}; purpose {s.purpose}; consumer {s.consumer})"]
    inputs = [input_dataset(s.input)] if s.input else []
    for ds in inputs:
        lines.append(f"  <- standardised/{ds}  [{', '.join(s.input_columns)}]  (the inputs delivered on the day)")
        lines += _delivery_lines(entries[ds], "       ")
    lin = base_lineage()
    for table in s.tables():
        columns = s.columns_of(table)
        only = [name.partition("@")[2] for name in s.reads if name.startswith(f"{table}@")]
        lines.append(f"  <- base/{table}  [{', '.join(columns)}]" + (f"  (as delivered by {', '.join(only)})" if only else ""))
        for ds in (only or lin[table].datasets):
            fields = sorted({f for c in columns for d, f in lin[table].columns.get(c, ()) if d == ds})
            lines.append(f"       <- standardised/{ds}" + (f"  [{', '.join(fields)}]" if fields else ""))
            lines += _delivery_lines(entries[ds], "            ")
    return lines


def _delivery_lines(entry, indent: str) -> list[str]:
    fmt = entry.dataset.format
    origin = f"{entry.department.name}: {fmt.kind} delivery (sharing class {entry.dataset.sharing_class.value})"
    return [f"{indent}<- raw/{entry.id}", f"{indent}     <- {origin}"]


def evidence_text(rows: pd.DataFrame) -> list[str]:
    """Evidence rows as lines: what each record served, the base record and version, the delivery row."""
    out = []
    for (partition, used_for), group in rows.groupby(["partition", "used_for"], sort=True):
        out.append(f"  partition {partition} — {used_for}:")
        for r in group.itertuples():
            key = "/".join(str(k) for k in json.loads(r.base_key))
            version = f" version from {r.base_valid_from}" if r.base_valid_from is not None and not pd.isna(
                r.base_valid_from) else " (delivered row)"
            out.append(f"    {r.base_table} {key}{version} <- {r.dataset} {r.delivery_partition} row {r.source_row} "
                       f"sha256 {str(r.sha256)[:16]}…")
    return out
