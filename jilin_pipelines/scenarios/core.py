"""What every scenario is: a declaration (name, purpose, the base columns it reads, its output) and a pure rule
``decide(view, day, thresholds) -> Decisions`` over DataFrames, whose set-based core (the joins, windows and
aggregations over the base) is SQL run by the view's engine (``BaseView.query``: embedded DuckDB, or Spark).

A scenario partition D decides on the inputs delivered on D against the base databases as of D (DESIGN,
"Scenario rules"). The :class:`BaseView` hands a rule exactly that: per declared base table the golden records as
of D, reduced to the declared columns, and the scenario's input rows delivered on D. A rule cannot read what it
did not declare, so the declaration is what the sharing policy checks and what the audit log records.

Every decision carries evidence: the base records (and the golden version) it rests on, each with its provenance
down to the delivery (dataset, partition, source row, file SHA-256). :func:`evidence` builds those rows; the store
looks up the provenance of just the golden versions they name, so the view never carries it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from jilin_pipelines.catalogue.outputs import outputs
from jilin_pipelines.engines import EMBEDDED, Engine

# the columns every golden frame of the view carries besides the declared ones
KEY_META = ("placeholder", "_valid_from")
# the columns every delivered input frame carries (the delivery itself)
DELIVERY_META = ("_dataset", "_partition", "_source_row", "_source_sha256")
# evidence rows, as rules produce them: a golden record's version (``base_key``, ``base_valid_from``: the store
# expands its provenance into one row per delivery), or a delivered row's own delivery (the ``DELIVERY_COLUMNS``)
DELIVERY_COLUMNS = {"dataset": "_dataset", "delivery_partition": "_partition", "source_row": "_source_row",
                    "sha256": "_source_sha256"}
EVIDENCE_COLUMNS = ("decision_id", "used_for", "base_table", "base_key", "base_valid_from", "person_id",
                    *DELIVERY_COLUMNS)


@dataclass(frozen=True)
class Thresholds:
    """The scenario thresholds, with DESIGN.md's defaults (Dagster config: the ``scenario_thresholds`` resource)."""

    assistance_standard_yuan: float = 800.0  # the monthly social-assistance standard
    income_multiple: float = 3.0  # income_above_threshold: AAE180 above this many standards
    pension_months: int = 3  # pension_above_threshold: full calendar months before the application
    vehicle_window_days: int = 30  # commercial_vehicle_safety: violations in D-29 ... D
    high_risk_violations: int = 3
    high_risk_points: int = 12
    # the fairness audit of every scenario (jilin_pipelines/fairness)
    fairness_ratio: float = 0.8  # a group is flagged below this favourable-outcome ratio (the four-fifths rule)
    fairness_alpha: float = 0.05  # ... with a difference significant at this level (Benjamini-Hochberg adjusted)
    fairness_min_support: int = 30  # ... and at least this many decisions in the group
    fairness_k: int = 10  # groups of fewer decisions are merged or suppressed in every output
    fairness_window_days: int = 30  # the rolling window, beside the day


@dataclass(frozen=True)
class BaseView:
    """What a rule may see: ``as_of[table]`` the golden records as of the day (declared columns, key, placeholder,
    ``_valid_from``); ``delivered`` the scenario's input rows delivered on the day (declared columns
    plus the delivery: ``_dataset``, ``_partition``, ``_source_row``, ``_source_sha256``), or None."""

    as_of: Mapping[str, pd.DataFrame]
    delivered: pd.DataFrame | None = None
    compute: Engine = EMBEDDED  # where the rule's set-based core runs (``engines.py``)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.as_of[table]

    def query(self, sqls: Mapping[str, str], **frames: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """A rule's set-based core: each SQL text (the engines' common dialect, ``engines.DIALECT``) over the
        named frames, run by the view's engine. A time-zone-aware timestamp travels as its wall-clock time, so
        ``CAST(t AS DATE)`` is the day where it happened whichever engine runs it."""
        tables = {name: pa.Table.from_pandas(_wall_clock(frame), preserve_index=False) for name, frame in frames.items()}
        return {key: table.to_pandas() for key, table in self.compute.queries(sqls, tables).items()}


def _wall_clock(frame: pd.DataFrame) -> pd.DataFrame:
    aware = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    return frame.assign(**{c: frame[c].dt.tz_localize(None) for c in aware}) if aware else frame


def literal(value) -> str:
    """A value as an SQL literal of the rules' queries (text, a day, a number)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | np.integer | np.floating):
        return repr(float(value)) if isinstance(value, float | np.floating) else str(int(value))
    raise TypeError(f"no SQL literal for {value!r}")


def in_list(values) -> str:
    """``(v1, v2, …)`` for ``IN``."""
    return "(" + ", ".join(literal(v) for v in values) + ")"


@dataclass(frozen=True)
class Decisions:
    """A rule's answer: ``table`` the output rows (the output table's columns), ``evidence`` the records behind
    them (:data:`EVIDENCE_COLUMNS`)."""

    table: pd.DataFrame
    evidence: pd.DataFrame


@dataclass(frozen=True)
class Fairness:
    """What the fairness audit (``jilin_pipelines/fairness``) needs of a scenario.

    ``subject``: whom a decision is about — ``person`` (grouped by county, sex and age band from the resident ID),
    ``employer`` (county and employer type, from its golden record) or ``vehicle`` (county and use). ``subject_key``:
    the output columns that name the subject (a person's ID, an employer's USCC, a vehicle's plate number and type);
    empty: the person named by the decision's input row (its ``input`` evidence row). ``adverse``: the outcomes that
    go against the subject. ``outcome``: the outcome of each output row, when the output has no outcome column
    (``decision``, ``result``, ``risk``); ``reasons``: the reasons of each output row (a tuple; given the thresholds), when it has no
    ``reasons`` column (default: an adverse outcome is its own reason). ``missing_data``: the reasons that rest on
    data missing about the subject rather than on evidence. ``coverage``: per source, the read (``table`` or
    ``table@dataset``) and its column that holds a record of the subject (matched on the subject's ID, or on the
    subject record's column of the same name)."""

    subject: str
    adverse: tuple[str, ...]
    subject_key: tuple[str, ...] = ()
    outcome: Callable[[pd.DataFrame], pd.Series] | None = None
    reasons: Callable[[pd.DataFrame, Thresholds], Sequence[tuple[str, ...]]] | None = None
    missing_data: tuple[str, ...] = ()
    coverage: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.subject not in ("person", "employer", "vehicle"):
            raise ValueError(f"fairness: unknown subject {self.subject!r}")
        if not self.adverse:
            raise ValueError("fairness: a scenario must declare which outcomes are adverse")


Narrowing = Callable[[Mapping[str, pd.DataFrame]], pd.Series]
"""The values a read's records must have, from the frames of the reads declared before it."""


@dataclass(frozen=True)
class Scenario:
    """A scenario's declaration. ``reads``: base table -> the columns the rule reads as of D (keys included;
    ``table@dataset``: only that dataset's newest delivered versions); ``input``: the base table whose rows
    delivered on D are the scenario's inputs, ``input_columns`` the columns read from them (None: the scenario
    decides per record as of D); ``decision_id`` the columns naming a decision (joined by ``/`` in the evidence and
    the lineage commands). The output table — its columns, key, allowed values and meanings — is declared under the
    scenario's name in ``catalogue/scenarios/outputs.yaml``. ``units`` (a scenario without inputs): the read
    whose records as of D it decides on, and the columns that name a decision — its records are decided a chunk at
    a time, records of one decision together. ``narrow``: given the input rows (or a chunk of the units' records)
    and D, per declared read the column and the values a record must have to matter to them (or a function of the
    frames of the reads declared before it that gives those values) — the view then holds only those records, so
    what a partition holds grows with its inputs or its chunk, not with the base. The rule must decide exactly as on
    the whole tables (a test holds every scenario to that)."""

    name: str
    title: str
    purpose: str
    legal_basis: str
    consumer: str
    reads: Mapping[str, tuple[str, ...]]
    decision_id: tuple[str, ...]
    decide: Callable[[BaseView, date, Thresholds], Decisions]
    input: str | None = None
    input_columns: tuple[str, ...] = ()
    # output column -> the base columns (``table.column``) it is computed from; the decision columns
    # not listed here are computed from every column the scenario reads
    column_lineage: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    narrow: Callable[[pd.DataFrame, date], Mapping[str, tuple[str, pd.Series | Narrowing]]] | None = None
    units: tuple[str, tuple[str, ...]] | None = None
    fairness: Fairness | None = None

    @property
    def output(self) -> str:
        """The table the scenario writes (its columns, key and meanings: ``catalogue/scenarios/outputs.yaml``)."""
        return outputs().of(self.name).table

    @property
    def output_key(self) -> tuple[str, ...]:
        return outputs().of(self.name).key

    def describe(self, column: str) -> str | None:
        """What an output column means (its outcomes and reasons, in words): the UI's column schema, the docs."""
        return outputs().meaning(self.name, column)

    @property
    def group(self) -> str:
        return f"scenario_{self.name}"

    def columns_of(self, table: str) -> list[str]:
        """The columns read of a base table (over ``table`` and every ``table@dataset``), sorted."""
        return sorted({c for name, cols in self.reads.items() if name.partition("@")[0] == table for c in cols})

    def tables(self) -> tuple[str, ...]:
        """The base tables read (``person@dataset`` counts as ``person``), in declaration order."""
        return tuple(dict.fromkeys(name.partition("@")[0] for name in self.reads))

    def lineage_of(self, column: str) -> tuple[tuple[str, str], ...]:
        """(base table, column) pairs an output column comes from."""
        if column in self.column_lineage:
            refs = self.column_lineage[column]
        else:
            refs = tuple(f"{t}.{c}" for t, cols in self.reads.items() for c in cols)
            refs += tuple(f"{self.input}.{c}" for c in self.input_columns)
        pairs = (r.rpartition(".") for r in refs)  # ``table.column`` or ``table@<department>.<dataset>.column``
        return tuple(dict.fromkeys((table.partition("@")[0], column) for table, _, column in pairs))


# ------------------------------------------------------------------------------------------------ helpers for rules


def reasons_json(flags: pd.DataFrame) -> pd.Series:
    """Boolean flag columns -> the JSON array of the names that hold, sorted (one string per row)."""
    names = sorted(flags.columns)
    if flags.empty:
        return pd.Series([], dtype=object, index=flags.index)
    bits = flags[names].to_numpy(dtype=bool)
    # rows share few distinct combinations: build each text once
    codes = bits @ (1 << np.arange(len(names), dtype=np.int64))
    texts = {c: json.dumps([n for i, n in enumerate(names) if c >> i & 1]) for c in np.unique(codes)}
    return pd.Series([texts[c] for c in codes], index=flags.index, dtype=object)


def key_json(rows: pd.DataFrame, key: tuple[str, ...] | list[str]) -> pd.Series:
    """The key values of each row as a JSON array of text (each distinct value encoded once)."""
    parts = []
    for c in key:
        values = rows[c].astype("string")
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        encoded = pd.Series([json.dumps(str(u), ensure_ascii=False) for u in uniques] + ["null"], dtype=object)
        parts.append(encoded.to_numpy()[codes])  # the sentinel -1 picks "null"
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + ", " + p
    return pd.Series("[" + joined + "]", index=rows.index, dtype=object)


def evidence(decision_id: pd.Series, used_for: str | pd.Series, table: str, rows: pd.DataFrame,
             key: tuple[str, ...], person: pd.Series | None = None) -> pd.DataFrame:
    """Evidence rows: ``rows`` (golden records as of the day, or delivered input rows) used for the decisions
    ``decision_id`` (aligned with ``rows``), each for ``used_for`` (a flag, or ``input``). A golden record names
    its version (key and ``_valid_from``: the store expands its provenance into its deliveries); a delivered row
    names its delivery itself."""
    if rows.empty:
        return pd.DataFrame(columns=list(EVIDENCE_COLUMNS))
    delivered = "_source_row" in rows.columns
    frame = pd.DataFrame({
        "decision_id": decision_id.to_numpy(),
        "used_for": used_for if isinstance(used_for, str) else used_for.to_numpy(),
        "base_table": table,
        "base_key": key_json(rows, key).to_numpy(),
        "base_valid_from": None if delivered else rows["_valid_from"].astype(str).to_numpy(),
        "person_id": None if person is None else person.to_numpy(),
    })
    for column, source in DELIVERY_COLUMNS.items():
        frame[column] = rows[source].to_numpy() if delivered else None
    return frame


def concat_evidence(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=list(EVIDENCE_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(EVIDENCE_COLUMNS)]


def joined_id(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """The decision id: the columns as text joined by ``/``."""
    out = frame[columns[0]].astype("string").fillna("")
    for c in columns[1:]:
        out = out + "/" + frame[c].astype("string").fillna("")
    return out.astype(object)
