"""The OpenLineage datasets of the pipeline's layers, built from the catalogue and the base configuration.

Pure (no Dagster): the Dagster assets (``defs/``) hand these to ``defs.openlineage_run.lineage_run``; the
naming follows :mod:`.naming` ("Datasets"). Every builder gives names, types and descriptions of the
catalogue, never values.

* :func:`source_ref` — a department's delivery before landing: the folder of its daily files, its API, or
  its front-end database table (``version``: the delivery's SHA-256 when known);
* :func:`raw_ref` — ``jilin://lake`` ``raw/<department>/<dataset>``: the source fields as delivered plus the
  landing's bookkeeping columns, column lineage from the source (DIRECT, IDENTITY);
* :func:`standardised_ref` — ``jilin://lake`` ``standardised/<department>/<dataset>``: the standard fields,
  column lineage standard field ← source field of the raw landing; :func:`quality_assertions` turns the
  step's quality results into its ``dataQualityAssertions``;
* :func:`quality_results_ref`, :func:`quarantine_ref`, :func:`scorecard_ref` — the quality results per
  dataset, the quarantine table of the base database, the per-department scorecard;
* :func:`base_ref` — ``jilin://base`` ``<table>``: the golden table's columns, column lineage from
  :func:`jilin_pipelines.base.lineage`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jilin_pipelines.catalogue import Entry, catalogue
from jilin_pipelines.catalogue.models import Severity, Standard
from jilin_pipelines.lineage.events import Assertion, DatasetRef, InputField
from jilin_pipelines.lineage.naming import (
    BASE_NAMESPACE,
    LAKE_NAMESPACE,
    api_source_namespace,
    database_source_namespace,
    file_source_namespace,
    job_name,
    lake_name,
)
from jilin_pipelines.quality.layout import PARTY_TYPE_SUFFIX, SOURCE_ROW, standard_schema
from jilin_pipelines.settings import Settings

RAW_BOOKKEEPING = (
    ("_source_row", "int64", "1-based position of the row in the delivery"),
    ("_error", "string", "why the row could not be parsed (null when it parsed)"),
    ("_raw", "string", "the raw text of an unparseable row"),
)
QUARANTINE_TABLE = "quarantine"
SCORECARD_NAME = job_name(["quality", "scorecard"])
SCORECARD_FIELDS = (
    ("department", "string", "the providing department"),
    ("dimension", "string", "GB/T 36344 dimension"),
    ("datasets", "int64", "datasets of the department checked that day"),
    ("rows_checked", "int64", "rows checked"),
    ("rows_passed", "int64", "rows that met every expectation of the dimension"),
    ("rows_failed", "int64", "rows that failed an expectation of the dimension"),
    ("pass_rate", "double", "rows_passed / rows_checked"),
)


def _entry(entry: Entry | str) -> Entry:
    return catalogue().entry(entry) if isinstance(entry, str) else entry


def source_ref(entry: Entry | str, settings: Settings, *, sha256: str | None = None) -> DatasetRef:
    """The delivery as the department provides it: file folder, HTTP API or front-end database table."""
    from jilin_pipelines.raw import reads_over_http  # the reader's choice, made in one place

    e = _entry(entry)
    ds = e.dataset
    fields = [(f.source, "string", f.title or f.name) for f in ds.fields]
    dept = e.department.department
    if ds.format.kind == "frontdb":
        return DatasetRef(database_source_namespace(settings.social_security_db_url), ds.format.table, fields,
                          version=sha256)
    if reads_over_http(e, settings):
        return DatasetRef(api_source_namespace(settings.api_url), f"api/v1/{dept}/{ds.name}", fields, version=sha256)
    return DatasetRef(file_source_namespace(settings.sources_dir), f"{dept}/{ds.name}", fields, version=sha256)


def raw_ref(entry: Entry | str, *, rows: int | None = None, source: DatasetRef | None = None) -> DatasetRef:
    """The raw landing; with ``source``, each delivered field's lineage (DIRECT, IDENTITY) from it."""
    e = _entry(entry)
    fields = [(f.source, "string", f"{f.title or f.name} → {f.name}" + (" (personal)" if f.personal else ""))
              for f in e.dataset.fields]
    lineage = {}
    if source is not None:
        lineage = {f.source: [InputField(source.namespace, source.name, f.source, "DIRECT", "IDENTITY")]
                   for f in e.dataset.fields}
    return DatasetRef(LAKE_NAMESPACE, lake_name("raw", e.department.department, e.dataset.name),
                      [*fields, *RAW_BOOKKEEPING], lineage, row_count=rows)


def standardised_ref(
    entry: Entry | str, *, rows: int | None = None, assertions: Sequence[Assertion] = (), version: str | None = None
) -> DatasetRef:
    """The standardised partition: standard fields, bookkeeping columns, lineage from the raw landing."""
    e = _entry(entry)
    ds = e.dataset
    raw = lake_name("raw", e.department.department, ds.name)
    by_name = {f.name: f for f in ds.fields}
    descriptions = {f.name: f"{f.title} (from {f.source})" + (" — personal" if f.personal else "") for f in ds.fields}
    fields = [(c.name, str(c.type), descriptions.get(c.name)) for c in standard_schema(ds)]
    lineage: dict[str, list[InputField]] = {}
    for f in ds.fields:
        how = f.standard.value if f.standard else f.type.value
        inputs = [InputField(LAKE_NAMESPACE, raw, f.source, "DIRECT", "TRANSFORMATION", f"normalised ({how})")]
        if f.id_type_field and f.id_type_field in by_name:
            inputs.append(InputField(LAKE_NAMESPACE, raw, by_name[f.id_type_field].source, "INDIRECT", "CONDITIONAL"))
        lineage[f.name] = inputs
        if f.standard is Standard.party_id and f.id_type_field is None:
            lineage[f.name + PARTY_TYPE_SUFFIX] = [InputField(
                LAKE_NAMESPACE, raw, f.source, "DIRECT", "TRANSFORMATION", "resident ID (A) or USCC (B), told by form"
            )]
    lineage[SOURCE_ROW] = [InputField(LAKE_NAMESPACE, raw, "_source_row", "DIRECT", "IDENTITY")]
    return DatasetRef(LAKE_NAMESPACE, lake_name("standardised", e.department.department, ds.name), fields, lineage,
                      assertions, version=version, row_count=rows)


def quality_assertions(
    entry: Entry | str,
    results: Iterable,
    *,
    blocked_share: float | None = None,
    held: bool = False,
    delivered: bool | None = None,
) -> list[Assertion]:
    """The step's quality results as ``dataQualityAssertions``: one per expectation (``RuleResult``: the rule's
    check, its standard field, ``error`` for a blocking rule, else ``warn``), the blocked share against the
    dataset's limit (failed when the partition is ``held``), and timeliness (the delivery is there). Counts only, no values."""
    e = _entry(entry)
    ds = e.dataset
    known = {c.name for c in standard_schema(ds)}
    out = []
    for res in results:
        rule = res.rule
        out.append(Assertion(
            assertion=rule.check,
            success=bool(res.success),
            column=rule.field if rule.field in known else None,
            severity="error" if rule.severity is Severity.block else "warn",
            name=rule.id,
            description=f"GB/T 36344 {rule.dimension.value}: {rule.description}",
            expected="0 unexpected rows",
            actual=f"{int(res.unexpected_count)} of {int(res.element_count)} rows unexpected",
        ))
    if blocked_share is not None:
        out.append(Assertion(
            assertion="blocked_share",
            success=not held,
            severity="error",
            name="blocked_share",
            description="share of the delivered rows blocked into the quarantine: above the limit (and at least "
                        f"{ds.min_blocked_rows} rows) the partition is held out of the base",
            expected=f"<= {ds.max_blocked_share:.4f} or fewer than {ds.min_blocked_rows} rows",
            actual=f"{blocked_share:.4f}",
        ))
    if delivered is not None:
        out.append(Assertion(
            assertion="freshness",
            success=bool(delivered),
            severity="warn",
            name="timeliness",
            description=f"GB/T 36344 timeliness: the {ds.update_cycle} delivery is there",
            expected="delivered",
            actual="delivered" if delivered else "no delivery",
        ))
    return out


def quality_results_ref(entry: Entry | str) -> DatasetRef:
    """The per-dataset quality results the scorecard reads (``<lake>/quality/<department>/<dataset>/<day>.json``)."""
    e = _entry(entry)
    return DatasetRef(LAKE_NAMESPACE, lake_name("quality", e.department.department, e.dataset.name))


def quarantine_ref(*, rows: int | None = None) -> DatasetRef:
    """The quarantine table of the base database (the rows blocked by a partition are written there)."""
    return DatasetRef(BASE_NAMESPACE, QUARANTINE_TABLE, row_count=rows)


def scorecard_ref(entries: Iterable[Entry], *, rows: int | None = None) -> DatasetRef:
    """The day's scorecard: its rows aggregate the quality results of every dataset."""
    inputs = [quality_results_ref(e) for e in entries]
    agg = [InputField(i.namespace, i.name, "results", "INDIRECT", "AGGREGATION") for i in inputs]
    lineage = {name: agg for name, _, _ in SCORECARD_FIELDS if name != "department"} if agg else {}
    return DatasetRef(LAKE_NAMESPACE, SCORECARD_NAME, SCORECARD_FIELDS, lineage, row_count=rows)


def base_ref(table: str, *, rows: int | None = None, assertions: Sequence[Assertion] = ()) -> DatasetRef:
    """A base table: its configured columns and, per column, the standardised fields it is merged from."""
    from jilin_pipelines.base import base_config, lineage

    entries = {e.id: e for e in catalogue().entries}
    fields = [(c, str(t)) for c, t in base_config().table(table).columns.items()]
    column_lineage = {}
    for column, sources in lineage()[table].columns.items():
        if not sources:
            continue
        column_lineage[column] = [
            InputField(LAKE_NAMESPACE, lake_name("standardised", entries[ds].department.department,
                                                 entries[ds].dataset.name), f)
            for ds, f in sources
        ]
    return DatasetRef(BASE_NAMESPACE, table, fields, column_lineage, assertions, row_count=rows)


def base_inputs(table: str) -> list[DatasetRef]:
    """The standardised datasets a base table is merged from (names only)."""
    from jilin_pipelines.base import lineage

    return [standardised_name_ref(ds) for ds in lineage()[table].datasets]


def standardised_name_ref(entry: Entry | str) -> DatasetRef:
    """A standardised dataset by name only (an input whose schema the consumer already has)."""
    e = _entry(entry)
    return DatasetRef(LAKE_NAMESPACE, lake_name("standardised", e.department.department, e.dataset.name))
