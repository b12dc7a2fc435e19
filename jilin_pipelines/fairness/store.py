"""The fairness audit of one scenario partition against the base database: read the decisions of the day and of
the rolling window with their subjects' groups and coverage, compute the figures (``stats.audit``), and replace
the partition's rows of ``scenario_fairness`` in one transaction.

A decision counts once per window (a vehicle decided every day of the window is one vehicle): adverse if it was
adverse on any day of it, with that day's reasons. The groups are the subject's as of the audited day.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from jilin_pipelines.base import as_of, newest_delivered
from jilin_pipelines.base.bulk import bulk_insert
from jilin_pipelines.base.schema import SCENARIO_EVIDENCE, SCENARIO_FAIRNESS, metadata
from jilin_pipelines.fairness.groups import DIMENSIONS, person_groups, record_groups
from jilin_pipelines.fairness.stats import COLUMNS, COVERED, PROVINCE, audit
from jilin_pipelines.scenarios.core import Fairness, Scenario, Thresholds, joined_id
from jilin_pipelines.scenarios.store import OUTCOME_COLUMNS, day_column

@dataclass(frozen=True)
class SubjectRecord:
    """Where a subject that is not a person is grouped from: its golden record (``table``, found by ``key`` — the
    output's subject key, in order), grouped by county (``division_code``) and by ``kind`` (the column ``code``);
    ``also``: columns a coverage read matches on."""

    table: str
    key: tuple[str, ...]
    kind: str
    code: str
    also: tuple[str, ...] = ()

    @property
    def grouped_by(self) -> tuple[str, ...]:
        return ("division_code", self.code)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key, *self.also, *self.grouped_by)


SUBJECT_RECORDS = {
    "employer": SubjectRecord("employer", ("uscc",), "employer_type", "employer_type", also=("employer_no",)),
    "vehicle": SubjectRecord("vehicle", ("plate_no", "plate_type"), "use", "use_code"),
}


@dataclass(frozen=True)
class FairnessRun:
    """What auditing one partition did: the figures written, and what was read (for the audit log)."""

    rows: pd.DataFrame  # the scenario_fairness rows (:data:`stats.COLUMNS`)
    read_counts: dict[str, int]  # dataset read -> records read
    read_fields: dict[str, list[str]]  # dataset read -> fields read

    @property
    def flagged(self) -> pd.DataFrame:
        return self.rows[self.rows["flagged"].astype(bool)]


def _outcome(fairness: Fairness, table: pd.DataFrame) -> pd.Series:
    if fairness.outcome is not None:
        return pd.Series(np.asarray(fairness.outcome(table), dtype=object), index=table.index)
    column = next(c for c in OUTCOME_COLUMNS if c in table.columns)
    return table[column].astype(object)


def _reasons(fairness: Fairness, table: pd.DataFrame, outcome: pd.Series, t: Thresholds) -> pd.Series:
    """Per decision its reasons (a tuple): the declared ones, the ``reasons`` column, or an adverse outcome."""
    if fairness.reasons is not None:
        return pd.Series([tuple(r) for r in fairness.reasons(table, t)], index=table.index, dtype=object)
    if "reasons" in table.columns:
        parsed = {text: tuple(json.loads(text)) for text in table["reasons"].dropna().unique()}
        return table["reasons"].map(parsed).map(lambda r: r if isinstance(r, tuple) else ()).astype(object)
    own = {o: (o,) if o in fairness.adverse else () for o in outcome.unique()}  # each distinct outcome once
    return outcome.map(own).astype(object)


def decisions(engine: sa.Engine, scenario: Scenario, first: date, last: date, t: Thresholds) -> pd.DataFrame:
    """The scenario's decisions of partitions ``first`` … ``last``, one row per decision (see the module), with
    ``decision_id``, ``partition``, ``adverse``, ``missing_only``, ``reasons`` and the subject key (``subject``
    for a person named by the input row; else the declared output columns)."""
    f = scenario.fairness
    out = metadata().tables[scenario.output]
    day = out.c[day_column(scenario)]
    with engine.connect() as conn:
        table = pd.read_sql(sa.select(out).where(day >= first, day <= last), conn)
    table = table.rename(columns={day_column(scenario): "_partition"})
    table["_partition"] = pd.to_datetime(table["_partition"]).dt.date
    outcome = _outcome(f, table)
    reasons = _reasons(f, table, outcome, t)
    frame = pd.DataFrame({
        "decision_id": joined_id(table, scenario.decision_id).to_numpy(),
        "partition": table["_partition"].to_numpy(),
        "adverse": outcome.isin(f.adverse).to_numpy(bool),
        "reasons": reasons.to_numpy(),
    })
    missing = set(f.missing_data)
    codes, combos = pd.factorize(frame["reasons"])  # few distinct tuples: each judged once
    only_missing = np.array([bool(r) and set(r) <= missing for r in combos] + [False], dtype=bool)
    frame["missing_only"] = frame["adverse"] & only_missing[codes]
    if f.subject_key:
        for c in f.subject_key:
            frame[c] = table[c].to_numpy()
    else:  # the person the decision's input row names
        ev = metadata().tables[SCENARIO_EVIDENCE]
        with engine.connect() as conn:
            named = pd.read_sql(
                sa.select(ev.c.decision_id, ev.c.partition, ev.c.person_id)
                .where(ev.c.scenario == scenario.name, ev.c.partition >= first, ev.c.partition <= last,
                       ev.c.used_for == "input"), conn)
        named["partition"] = pd.to_datetime(named["partition"]).dt.date
        named = named.drop_duplicates(["decision_id", "partition"]).rename(columns={"person_id": "subject"})
        frame = frame.merge(named, on=["decision_id", "partition"], how="left")
    # once per decision: an adverse day first, then the latest
    frame = frame.sort_values(["decision_id", "adverse", "partition"], ascending=[True, False, False], kind="stable")
    return frame.drop_duplicates("decision_id").reset_index(drop=True)


def _lookup(engine: sa.Engine, read: str, column: str, values: pd.Series, day: date) -> pd.DataFrame:
    """The records of a read (``table`` as of the day, or ``table@dataset``'s newest delivered) whose ``column``
    holds one of ``values``."""
    table, _, dataset = read.partition("@")
    wanted = (column, values.dropna().drop_duplicates())
    if dataset:
        return newest_delivered(engine, table, dataset, day, columns=(column,), only=wanted)
    return as_of(engine, table, day, columns=(column,), provenance=False, only=wanted, include_placeholders=False)


def subjects(engine: sa.Engine, scenario: Scenario, frame: pd.DataFrame, day: date,
             counts: dict[str, int]) -> pd.DataFrame:
    """The frame with each subject's groups (the dimensions of its kind) and ``covered:<source>`` per source."""
    f = scenario.fairness
    frame = frame.copy()
    if f.subject == "person":
        ids = frame["subject"] if "subject" in frame.columns else frame[f.subject_key[0]]
        frame["subject"] = ids.astype("string").str.strip().str.upper().astype(object)
        groups = person_groups(frame["subject"], day)
        frame[list(groups.columns)] = groups.to_numpy()
        match = frame["subject"]
        record = None
    else:
        subject = SUBJECT_RECORDS[f.subject]
        values = frame[f.subject_key[0]]
        found = as_of(engine, subject.table, day, columns=subject.columns, provenance=False,
                      include_placeholders=False, only=(subject.key[0], values.dropna().drop_duplicates()))
        counts[f"base.{subject.table}"] = counts.get(f"base.{subject.table}", 0) + len(found)
        found = found.drop_duplicates(list(subject.key))[list(subject.columns)]
        record = frame[list(f.subject_key)].merge(
            found.rename(columns=dict(zip(subject.key, f.subject_key, strict=True))), on=list(f.subject_key),
            how="left")
        groups = record_groups(record["division_code"], record[subject.code], subject.kind)
        frame[list(groups.columns)] = groups.to_numpy()
        # the subject's own record (an employer's, a vehicle's) is a source too: a vehicle without one is uncovered
        frame[COVERED + subject.table] = record[list(subject.grouped_by)].notna().any(axis=1).to_numpy()
        match = None
    for read, column in f.coverage:
        values = match if match is not None else record[column]
        hits = _lookup(engine, read, column, values, day)
        name = read.partition("@")[0]
        dataset = f"base.{name}" if "@" not in read else read.partition("@")[2]
        counts[dataset] = counts.get(dataset, 0) + len(hits)
        frame[COVERED + read] = values.isin(set(hits[column].dropna())).to_numpy()
    return frame


def read_fields(scenario: Scenario) -> dict[str, list[str]]:
    """Per dataset the fairness audit reads, its fields (for the exchange audit log)."""
    f = scenario.fairness
    out = {f"scenario.{scenario.output}": sorted({c.name for c in metadata().tables[scenario.output].columns})}
    if not f.subject_key:
        out[f"base.{SCENARIO_EVIDENCE}"] = ["decision_id", "person_id"]
    if f.subject in SUBJECT_RECORDS:
        subject = SUBJECT_RECORDS[f.subject]
        out[f"base.{subject.table}"] = sorted(subject.columns)
    for read, column in f.coverage:
        table, _, dataset = read.partition("@")
        key = dataset or f"base.{table}"
        out[key] = sorted({*out.get(key, []), column})
    return out


def run_fairness(engine: sa.Engine, scenario: Scenario, day: date, thresholds: Thresholds | None = None,
                 progress: Callable[[str], None] | None = None) -> FairnessRun:
    """Audit the scenario's partition ``day`` (the day and the rolling window) and replace its rows of
    ``scenario_fairness``."""
    if scenario.fairness is None:
        raise ValueError(f"{scenario.name}: declares no fairness audit")
    t = thresholds or Thresholds()
    say = progress or (lambda _m: None)
    window = f"{t.fairness_window_days}d"
    first = day - timedelta(days=t.fairness_window_days - 1)
    counts: dict[str, int] = {}
    every = decisions(engine, scenario, first, day, t)
    counts[f"scenario.{scenario.output}"] = len(every)
    if not scenario.fairness.subject_key:
        counts[f"base.{SCENARIO_EVIDENCE}"] = len(every)
    every = subjects(engine, scenario, every, day, counts)
    windows = {"day": every[every["partition"] == day].reset_index(drop=True), window: every}
    say(f"{scenario.name} {day}: {len(windows['day'])} decisions of the day, {len(every)} in {window}")
    rows = audit(windows, DIMENSIONS[scenario.fairness.subject], k=t.fairness_k, ratio=t.fairness_ratio,
                 alpha=t.fairness_alpha, min_support=t.fairness_min_support)
    write(engine, scenario, day, rows)
    return FairnessRun(rows, counts, read_fields(scenario))


def write(engine: sa.Engine, scenario: Scenario, day: date, rows: pd.DataFrame) -> None:
    t = metadata().tables[SCENARIO_FAIRNESS]
    stored = rows.assign(scenario=scenario.name, partition=day)
    with engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.scenario == scenario.name, t.c.partition == day))
        if len(stored):
            bulk_insert(conn, SCENARIO_FAIRNESS, stored[[c.name for c in t.columns]])


def stored(engine: sa.Engine, scenario: str | None = None, day: date | None = None) -> pd.DataFrame:
    """The stored figures (of one scenario, one partition, or all)."""
    t = metadata().tables[SCENARIO_FAIRNESS]
    stmt = sa.select(t).order_by(t.c.scenario, t.c.partition, t.c.window, t.c.dimension, t.c.group)
    if scenario is not None:
        stmt = stmt.where(t.c.scenario == scenario)
    if day is not None:
        stmt = stmt.where(t.c.partition == day)
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)


def describe(row: pd.Series | dict) -> str:
    """One flagged (or any) group in words: the figures, the reasons that drive it, and whether coverage
    explains it — no personal value, only groups and shares."""
    ratio = row["ratio"]
    text = (f"{row['dimension']} {row['group']} ({row['window']}): n {row['n']}, adverse {row['adverse_rate']:.0%}, "
            f"favourable ratio {ratio:.2f} to the rest of the province" if ratio is not None else
            f"{row['dimension']} {row['group']} ({row['window']}): n {row['n']}, adverse {row['adverse_rate']:.0%}")
    if row.get("p_value") is not None:
        text += f", adjusted p {row['p_value']:.2g}"
    drivers = json.loads(row["drivers"]) if row.get("drivers") else []
    if drivers:
        text += "; driven by " + ", ".join(f"{d['reason']} ({d['group']:.0%} vs {d['rest']:.0%})" for d in drivers)
    gaps = [(s, c["group"], c["rest"]) for s, c in json.loads(row["coverage"]).items()
            if c.get("group") is not None and c.get("rest") is not None and c["group"] < c["rest"] - 0.1]
    if row.get("coverage_explains") is True:
        text += "; coverage explains it: the decisions adverse only for missing data make the gap"
    elif row.get("coverage_explains") is False:
        text += "; coverage does not explain it: the gap rests on evidence"
    if gaps:
        text += "; " + ", ".join(f"{s} holds {g:.0%} of the group vs {r:.0%} of the rest" for s, g, r in gaps)
    return text


__all__ = ["COLUMNS", "PROVINCE", "FairnessRun", "decisions", "describe", "run_fairness", "stored", "subjects"]
