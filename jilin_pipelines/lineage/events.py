"""OpenLineage run events for asset materialisations: the values the Dagster layer gives, and the events built
from them (:func:`run_event`). No Dagster here; validation is :mod:`.validation`, emission :mod:`.emit`.

Facets
------
Datasets carry ``schema`` (fields, types, descriptions), ``columnLineage`` (output field ← input
fields), ``dataQualityAssertions`` (the checks run on the data: the spec's facet, attached to the dataset
the checks were run on, as a dataset facet), ``version`` when known and, on outputs,
``outputStatistics`` (row count). The run carries ``parent`` (the scenario job's run), ``jilin_purpose``
(custom: ``scenario``, ``purpose``, ``legal_basis``; its JSON schema ships beside this module,
``JilinPurposeRunFacet.json``), ``nominalTime`` (the partition day, Asia/Shanghai) and, on FAIL,
``errorMessage``. The job carries ``jobType`` (BATCH, DAGSTER, ASSET).

Privacy
-------
Events carry names of datasets and fields, never values. Free text an event is given (error messages,
stack traces, assertion texts, descriptions, purposes) goes through the redaction service
(:func:`jilin_pipelines.privacy.redaction.mask_free_text`, which alerts, logs and errors use alike), which masks
with the rules of :mod:`jilin_pipelines.standards.masking` every resident ID number (18 or 15 digits),
USCC, mobile or landline number, and every value written after the name of a personal field of the
catalogue or a generic personal key (``owner_name=张三``, ``'xm': '张三'``, ``姓名：张三``).
A bare name in running text (``张三的申请``) cannot be told from other words and is not masked: put
personal values in messages only as ``key=value``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple

from jilin_pipelines.privacy.redaction import mask_free_text, mask_optional
from jilin_pipelines.lineage.naming import (
    _SHANGHAI,
    EVENT_TYPES,
    FACET_SCHEMA_URLS,
    JOB_NAMESPACE,
    PRODUCER,
    RUN_EVENT_SCHEMA_URL,
    scenario_job_name,
)


# --- the API's values --------------------------------------------------------------------------------


class Field(NamedTuple):
    """A field of a dataset's schema; a plain ``(name, type, description)`` tuple or a name works as well."""

    name: str
    type: str | None = None
    description: str | None = None


class InputField(NamedTuple):
    """A field an output field is computed from; a plain ``(namespace, name, field)`` tuple works as well.

    ``transformation`` (``DIRECT`` or ``INDIRECT``) and ``subtype`` (``IDENTITY``, ``TRANSFORMATION``,
    ``AGGREGATION``; ``JOIN``, ``FILTER``, ...) follow the spec's column lineage; ``masking`` says whether
    the transformation masks the data (a pseudonym, a masked ID).
    """

    namespace: str
    name: str
    field: str
    transformation: str | None = None
    subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


class Assertion(NamedTuple):
    """A data-quality check and its result; a plain ``(assertion, success, column)`` tuple works as well."""

    assertion: str
    success: bool
    column: str | None = None
    severity: str | None = None
    name: str | None = None
    description: str | None = None
    expected: str | None = None
    actual: str | None = None


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as an event names it, with what is known of it: schema, column lineage, checks, version.

    ``column_lineage`` maps an output field to the input fields it is computed from; its keys and every
    assertion's column must be fields of ``fields`` when ``fields`` is given.
    """

    namespace: str
    name: str
    fields: Sequence[Field | tuple] = ()
    column_lineage: Mapping[str, Sequence[InputField | tuple]] = field(default_factory=dict)
    assertions: Sequence[Assertion | tuple] = ()
    version: str | None = None
    row_count: int | None = None
    # ``dataQualityMetrics``: per column (or per stratum of one, ``adverse_rate[county=220184 公主岭市]``) the spec's
    # metrics — ``count``, ``sum``, ``min``, ``max``, ``nullCount``, ``distinctCount``
    quality_metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.namespace or not self.name:
            raise ValueError(f"a dataset needs a namespace and a name: {self.namespace!r}, {self.name!r}")
        object.__setattr__(self, "fields", tuple(Field(f) if isinstance(f, str) else Field(*f) for f in self.fields))
        object.__setattr__(
            self,
            "column_lineage",
            {out: tuple(InputField(*i) for i in ins) for out, ins in self.column_lineage.items()},
        )
        object.__setattr__(self, "assertions", tuple(Assertion(*a) for a in self.assertions))
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"{self.name}: duplicate fields {', '.join(dupes)}")
        if names:
            known = set(names)
            unknown = sorted(set(self.column_lineage) - known)
            unknown += sorted({a.column for a in self.assertions if a.column and a.column not in known})
            if unknown:
                raise ValueError(f"{self.name}: column lineage or assertions name unknown fields {', '.join(unknown)}")
        for out, ins in self.column_lineage.items():
            if not ins:
                raise ValueError(f"{self.name}.{out}: column lineage lists no input field")
        if self.row_count is not None and self.row_count < 0:
            raise ValueError(f"{self.name}: negative row count {self.row_count}")


@dataclass(frozen=True)
class Purpose:
    """Why a scenario's run reads the data (the custom run facet ``jilin_purpose``)."""

    scenario: str
    purpose: str
    legal_basis: str

    def __post_init__(self) -> None:
        scenario_job_name(self.scenario)  # validates the name
        if not self.purpose.strip() or not self.legal_basis.strip():
            raise ValueError(f"scenario {self.scenario}: purpose and legal basis must not be empty")


@dataclass(frozen=True)
class ParentRun:
    """The run this run belongs to (the standard ``parent`` run facet)."""

    run_id: str
    job_name: str
    job_namespace: str = JOB_NAMESPACE

    @classmethod
    def scenario(cls, scenario: str, run_id: str) -> ParentRun:
        """The run of the scenario job ``scenario_<name>``."""
        return cls(run_id=run_id, job_name=scenario_job_name(scenario))


# --- building events ---------------------------------------------------------------------------------


def _facet(key: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMA_URLS[key], **{k: v for k, v in body.items() if v is not None}}


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{what} must be a UUID, got {value!r}") from None


def _time(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"event times need a time zone: {value!r}")
    return value.isoformat()


def _dataset_facets(ds: DatasetRef) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if ds.fields:
        facets["schema"] = _facet(
            "schema",
            fields=[
                {k: v for k, v in (("name", f.name), ("type", f.type), ("description", mask_optional(f.description)))
                 if v is not None}
                for f in ds.fields
            ],
        )
    if ds.column_lineage:
        facets["columnLineage"] = _facet(
            "columnLineage",
            fields={out: {"inputFields": [_input_field(i) for i in ins]} for out, ins in ds.column_lineage.items()},
        )
    if ds.assertions:
        facets["dataQualityAssertions"] = _facet(
            "dataQualityAssertions", assertions=[_assertion(a) for a in ds.assertions]
        )
    if ds.version is not None:
        facets["version"] = _facet("version", datasetVersion=str(ds.version))
    if ds.quality_metrics:
        facets["dataQualityMetrics"] = _facet(
            "dataQualityMetrics", rowCount=None if ds.row_count is None else int(ds.row_count),
            columnMetrics={mask_free_text(column): {k: v for k, v in metrics.items() if v is not None}
                           for column, metrics in ds.quality_metrics.items()},
        )
    return facets


def _input_field(i: InputField) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": i.namespace, "name": i.name, "field": i.field}
    if i.transformation is not None:
        t = {"type": i.transformation, "subtype": i.subtype, "description": mask_optional(i.description),
             "masking": i.masking}
        out["transformations"] = [{k: v for k, v in t.items() if v is not None}]
    return out


def _assertion(a: Assertion) -> dict[str, Any]:
    if not isinstance(a.success, bool):
        raise ValueError(f"assertion {a.assertion!r}: success must be True or False, got {a.success!r}")
    body = {
        "assertion": mask_free_text(a.assertion),
        "success": a.success,
        "column": a.column,
        "severity": a.severity,
        "name": mask_optional(a.name),
        "description": mask_optional(a.description),
        "expected": mask_optional(a.expected),
        "actual": mask_optional(a.actual),
    }
    return {k: v for k, v in body.items() if v is not None}


def _dataset(ds: DatasetRef, role: str) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": ds.namespace, "name": ds.name}
    facets = _dataset_facets(ds)
    if facets:
        out["facets"] = facets
    if role == "output" and ds.row_count is not None:
        out["outputFacets"] = {"outputStatistics": _facet("outputStatistics", rowCount=int(ds.row_count))}
    return out


def run_event(
    event_type: str,
    *,
    run_id: str,
    job_name: str,
    event_time: datetime | None = None,
    inputs: Iterable[DatasetRef] = (),
    outputs: Iterable[DatasetRef] = (),
    job_namespace: str = JOB_NAMESPACE,
    purpose: Purpose | None = None,
    parent: ParentRun | None = None,
    error: str | BaseException | None = None,
    stack_trace: str | None = None,
    partition_day: date | None = None,
    job_type: str = "ASSET",
) -> dict[str, Any]:
    """An OpenLineage RunEvent as a JSON-ready dict.

    ``event_type`` is one of :data:`EVENT_TYPES`; FAIL needs ``error`` (an exception or its message), which
    becomes the masked ``errorMessage`` run facet (with the masked ``stack_trace`` if given); only FAIL and
    ABORT take one. ``event_time`` must be time-zone aware (default: now, UTC). ``partition_day`` becomes the
    ``nominalTime`` facet (that day in Asia/Shanghai). ``purpose`` and ``parent`` give a scenario's runs
    their ``jilin_purpose`` and ``parent`` facets; when both are given and the parent is a scenario job,
    they must name the same scenario.
    """
    _check_run(event_type, job_name, job_namespace, purpose, parent, error)
    run_facets = _run_facets(purpose, parent, partition_day, error, stack_trace)
    run: dict[str, Any] = {"runId": _uuid(run_id, "run_id")}
    if run_facets:
        run["facets"] = run_facets
    return {
        "eventType": event_type,
        "eventTime": _time(event_time if event_time is not None else datetime.now(timezone.utc)),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA_URL,
        "run": run,
        "job": {
            "namespace": job_namespace,
            "name": job_name,
            "facets": {"jobType": _facet("jobType", processingType="BATCH", integration="DAGSTER", jobType=job_type)},
        },
        "inputs": [_dataset(d, "input") for d in inputs],
        "outputs": [_dataset(d, "output") for d in outputs],
    }


def _check_run(event_type: str, job_name: str, job_namespace: str, purpose: Purpose | None, parent: ParentRun | None,
               error: str | BaseException | None) -> None:
    """Refuse what :func:`run_event` cannot describe (its docstring says what is allowed)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type must be one of {', '.join(EVENT_TYPES)}, got {event_type!r}")
    if event_type == "FAIL" and error is None:
        raise ValueError("a FAIL event needs the error")
    if error is not None and event_type not in ("FAIL", "ABORT"):
        raise ValueError(f"only FAIL and ABORT events carry an error, not {event_type}")
    if not job_name or not job_namespace:
        raise ValueError("a job needs a namespace and a name")
    if purpose is not None and parent is not None and parent.job_name.startswith("scenario_"):
        if parent.job_name != scenario_job_name(purpose.scenario):
            raise ValueError(f"the purpose's scenario {purpose.scenario!r} is not the parent job {parent.job_name!r}")


def _run_facets(purpose: Purpose | None, parent: ParentRun | None, partition_day: date | None,
                error: str | BaseException | None, stack_trace: str | None) -> dict[str, Any]:
    """The run's facets: ``parent``, ``jilin_purpose``, ``nominalTime`` and ``errorMessage``, those that apply."""
    run_facets: dict[str, Any] = {}
    if parent is not None:
        run_facets["parent"] = _facet(
            "parent",
            run={"runId": _uuid(parent.run_id, "the parent's run_id")},
            job={"namespace": parent.job_namespace, "name": parent.job_name},
        )
    if purpose is not None:
        run_facets["jilin_purpose"] = _facet(
            "jilin_purpose",
            scenario=purpose.scenario,
            purpose=mask_free_text(purpose.purpose),
            legal_basis=mask_free_text(purpose.legal_basis),
        )
    if partition_day is not None:
        start = datetime.combine(partition_day, datetime.min.time(), _SHANGHAI)
        run_facets["nominalTime"] = _facet(
            "nominalTime", nominalStartTime=_time(start), nominalEndTime=_time(start + timedelta(days=1))
        )
    if error is not None:
        message = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
        run_facets["errorMessage"] = _facet(
            "errorMessage",
            message=mask_free_text(message),
            programmingLanguage="python",
            stackTrace=mask_optional(stack_trace),
        )
    return run_facets
