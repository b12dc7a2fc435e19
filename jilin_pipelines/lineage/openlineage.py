"""OpenLineage run events for asset materialisations: build, validate, write, send. No Dagster here.

The Dagster layer calls :func:`run_event` at the start and end of every asset materialisation (START,
then COMPLETE or FAIL) and hands the event to a :class:`LineageEmitter`, which appends it to a JSON Lines
file and sends it through the transports of the official OpenLineage client (``openlineage-python``): its
``HttpTransport`` to an OpenLineage endpoint (Marquez) when one is configured, and whatever the client's own
configuration names (``OPENLINEAGE_CONFIG``, ``OPENLINEAGE__TRANSPORT__...``: file, Kafka, HTTP, ...; see
:func:`client_transport_config`). A failing transport never fails the pipeline: the event is in the file, and
the error is returned and logged.

Naming
------
Jobs
    namespace ``jilin_pipelines`` (:data:`JOB_NAMESPACE`); name the asset key joined by ``/``
    (``traffic_police/raw/motor_vehicles``, ``traffic_police/standardised/motor_vehicles``,
    ``base/person``, ``scenario_social_assistance_verification/decisions``): :func:`job_name`.
    A scenario is a job of its own, ``scenario_<name>`` (:func:`scenario_job_name`), the ``parent`` of
    every run of the scenario's assets.
Runs
    ``runId`` is a UUID. One OpenLineage run per asset materialisation (per partition): derive it
    from the Dagster run ID with :func:`run_id_for` so START and COMPLETE/FAIL agree without shared state.
Datasets
    * the departments' sources, before landing: files ``file://<sources dir>`` with name
      ``<department>/<dataset>`` (the folder of the daily files; the day's file's SHA-256 is the
      dataset version); the HTTP API its base URL (``http://host:port``) with name
      ``api/v1/<department>/<dataset>``; a front-end database its URL without user or password
      (``postgresql://host:5432/db``, ``sqlite:///path``) with the table as name —
      :func:`file_source_namespace`, :func:`api_source_namespace`, :func:`database_source_namespace`;
    * the Parquet lake ``jilin://lake`` (:data:`LAKE_NAMESPACE`), name ``<layer>/<department>/<dataset>``
      (``raw/traffic_police/motor_vehicles``, ``standardised/traffic_police/motor_vehicles``,
      ``quarantine/...``): :func:`lake_name`;
    * the base databases ``jilin://base`` (:data:`BASE_NAMESPACE`), name the table (``person``,
      ``legal_entity``, ``vehicle``, ...);
    * scenario results ``jilin://scenarios`` (:data:`SCENARIO_NAMESPACE`), name ``<scenario>/<table>``.

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

Validation
----------
:func:`validate_event` checks an event against an OpenLineage spec
directory (``OpenLineage.json`` and ``facets/*.json``) and this package's own facet schemas, offline: the
schemas are put in a local ``referencing.Registry`` under their ``$id``s, so the ``https://openlineage.io``
references resolve to the local files. Each facet is also checked against the schema its ``_schemaURL``
names, under the key that schema defines.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from jilin_pipelines.privacy.redaction import mask_free_text, mask_optional


# --- names -------------------------------------------------------------------------------------------

PRODUCER = "urn:jilin-pipelines:jilin_pipelines:0.1.0"
"""``producer`` of every event and ``_producer`` of every facet (no public repository URL exists yet)."""

JOB_NAMESPACE = "jilin_pipelines"
LAKE_NAMESPACE = "jilin://lake"
BASE_NAMESPACE = "jilin://base"
SCENARIO_NAMESPACE = "jilin://scenarios"

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")

OPENLINEAGE_SPEC_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA_URL = f"{OPENLINEAGE_SPEC_ID}#/$defs/RunEvent"

# The facet schemas of the spec copy in tests/lineage/openlineage-spec (tests check these against it).
_OL_FACETS = "https://openlineage.io/spec/facets"
FACET_SCHEMA_URLS = {
    "schema": f"{_OL_FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "columnLineage": f"{_OL_FACETS}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
    "dataQualityAssertions": (
        f"{_OL_FACETS}/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"
    ),
    "version": f"{_OL_FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "dataQualityMetrics": (
        f"{_OL_FACETS}/1-0-0/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet"
    ),
    "outputStatistics": (
        f"{_OL_FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
    ),
    "parent": f"{_OL_FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": f"{_OL_FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "nominalTime": f"{_OL_FACETS}/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
    "jobType": f"{_OL_FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
}
OWN_FACETS_DIR = Path(__file__).parent  # *Facet.json beside this module: package data, found without a subpackage
OWN_FACET_GLOB = "*Facet.json"
JILIN_PURPOSE_SCHEMA_URL = (
    "urn:jilin-pipelines:openlineage:facets:1-0-0:JilinPurposeRunFacet.json#/$defs/JilinPurposeRunFacet"
)
FACET_SCHEMA_URLS["jilin_purpose"] = JILIN_PURPOSE_SCHEMA_URL

_RUN_ID_NAMESPACE = uuid.UUID("5f0c1d2e-7a43-5b8e-9c61-4a2f3e8d9b70")
_SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
_SCENARIO = re.compile(r"^[a-z][a-z0-9_]*$")


def job_name(asset_key: str | Sequence[str]) -> str:
    """The job name of an asset: its key's parts joined by ``/`` (a string is taken as already joined)."""
    parts = [asset_key] if isinstance(asset_key, str) else list(asset_key)
    if not parts or any(not p for p in parts):
        raise ValueError(f"not an asset key: {asset_key!r}")
    return "/".join(parts)


def scenario_job_name(scenario: str) -> str:
    """``scenario_<name>``: the job standing for a scenario, the parent of its assets' runs."""
    if not _SCENARIO.match(scenario):
        raise ValueError(f"not a scenario name: {scenario!r}")
    return f"scenario_{scenario}"


def lake_name(layer: str, department: str, dataset: str) -> str:
    """``<layer>/<department>/<dataset>``, the name of a lake dataset in :data:`LAKE_NAMESPACE`."""
    return job_name([layer, department, dataset])


def run_id_for(*parts: object) -> str:
    """A UUID determined by ``parts`` (e.g. Dagster run ID, asset key, partition): same parts, same run."""
    if not parts:
        raise ValueError("run_id_for needs at least one part")
    return str(uuid.uuid5(_RUN_ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def file_source_namespace(sources_dir: str | os.PathLike[str]) -> str:
    """``file://<absolute sources dir>`` (percent-encoded as a file URI)."""
    return Path(sources_dir).resolve().as_uri()


def api_source_namespace(base_url: str) -> str:
    """The API's ``scheme://host[:port][/path]``: no user, password, query or fragment."""
    parts = urlsplit(base_url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"not an absolute URL: {base_url!r}")
    return urlunsplit((parts.scheme, _host_port(parts), parts.path.rstrip("/"), "", ""))


def database_source_namespace(url: str) -> str:
    """A database URL without user, password or query; the driver suffix (``+psycopg2``) is dropped."""
    parts = urlsplit(url)
    if not parts.scheme:
        raise ValueError(f"not a database URL: {url!r}")
    scheme = parts.scheme.split("+", 1)[0]
    return f"{scheme}://{_host_port(parts)}{parts.path}"  # by hand: urlunsplit drops the // of sqlite:///path


def _host_port(parts) -> str:
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


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


# --- validation --------------------------------------------------------------------------------------


class LineageValidationError(ValueError):
    """An event does not conform to the OpenLineage spec; the message lists every problem with its path."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("invalid OpenLineage event:\n" + "\n".join(f"  - {p}" for p in self.problems))


_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")


@cache
def _format_checker():
    """``date-time`` (RFC 3339, with offset), ``uri`` (absolute, RFC 3986 shape) and ``uuid``, stdlib only.

    jsonschema checks ``date-time`` and ``uri`` only with optional packages that are not installed and
    skips them silently otherwise; these checkers make the formats count.
    """
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.match(value):
            return False
        datetime.fromisoformat(f"{value[:10]}T{value[11:]}".upper().replace("Z", "+00:00"))  # a real day and time
        return True

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(_URI.match(value))

    @checker.checks("uuid", raises=ValueError)
    def _uuid_format(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return str(uuid.UUID(value)) == value.lower() and value.count("-") == 4

    return checker


@dataclass(frozen=True)
class _Spec:
    registry: Any  # referencing.Registry
    facet_roots: dict[str, dict]  # schema document $id → the document
    core_id: str


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LineageValidationError([f"cannot read schema {path}: {exc}"]) from None


@cache
def _spec(spec_dir: str) -> _Spec:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    root = Path(spec_dir)
    core_file = root / "OpenLineage.json"
    if not core_file.is_file():
        raise LineageValidationError([f"no OpenLineage.json in {root} (the spec directory)"])
    core = _load_json(core_file)
    documents = [core]
    facet_files = sorted((root / "facets").glob("*.json")) + sorted(OWN_FACETS_DIR.glob(OWN_FACET_GLOB))
    documents += [_load_json(p) for p in facet_files]
    registry = Registry()
    facet_roots: dict[str, dict] = {}
    for doc in documents:
        doc_id = doc.get("$id")
        if not doc_id:
            raise LineageValidationError([f"a schema in {root} has no $id"])
        registry = registry.with_resource(doc_id, Resource.from_contents(doc, default_specification=DRAFT202012))
        if doc is not core:
            facet_roots[doc_id] = doc
    return _Spec(registry=registry.crawl(), facet_roots=facet_roots, core_id=core["$id"])


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(the event)"


def _leaves(error) -> Iterable[Any]:
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def _problems(schema: dict, instance: Any, spec: _Spec, prefix: Sequence[Any] = ()) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, registry=spec.registry, format_checker=_format_checker())
    found = []
    for error in validator.iter_errors(instance):
        for leaf in _leaves(error):
            found.append(f"at {_path([*prefix, *leaf.absolute_path])}: {leaf.message}")
    return sorted(dict.fromkeys(found))


_CONTAINERS = (  # (where the facets are, which base facet their schema must extend)
    ("run", "facets", ("RunFacet",)),
    ("job", "facets", ("JobFacet",)),
)
_DATASET_KINDS = ("DatasetFacet", "InputDatasetFacet", "OutputDatasetFacet")


def _facet_containers(event: Mapping[str, Any]) -> Iterable[tuple[list[Any], Mapping[str, Any], tuple[str, ...]]]:
    for owner, key, kinds in _CONTAINERS:
        facets = (event.get(owner) or {}).get(key)
        if isinstance(facets, Mapping):
            yield [owner, key], facets, kinds
    for role in ("inputs", "outputs"):
        for i, ds in enumerate(event.get(role) or ()):
            if not isinstance(ds, Mapping):
                continue
            for key in ("facets", "inputFacets" if role == "inputs" else "outputFacets"):
                if isinstance(ds.get(key), Mapping):
                    yield [role, i, key], ds[key], _DATASET_KINDS


def _facet_problems(event: Mapping[str, Any], spec: _Spec) -> list[str]:
    problems: list[str] = []
    for where, facets, kinds in _facet_containers(event):
        for name, facet in facets.items():
            at = _path([*where, name])
            url = facet.get("_schemaURL") if isinstance(facet, Mapping) else None
            if not isinstance(url, str):
                continue  # the envelope's validation reports it
            doc_id, _, pointer = url.partition("#")
            if doc_id == spec.core_id:  # a custom facet typed only by a base facet of the core spec
                base = pointer.rsplit("/", 1)[-1]
                if base not in kinds:
                    problems.append(f"at {at}: _schemaURL {url!r} is not one of {' or '.join(kinds)}")
                problems += _problems({"$ref": url}, facet, spec, [*where, name])
                continue
            doc = spec.facet_roots.get(doc_id)
            if doc is None:
                problems.append(f"at {at}: _schemaURL {url!r} names no schema of the local spec or of this package")
                continue
            defined = list((doc.get("properties") or {}))
            if name not in defined:
                problems.append(f"at {at}: the schema {doc_id} defines the facet {', '.join(defined)}, not {name!r}")
                continue
            target = url if pointer else f"{doc_id}#/properties/{name}"
            try:
                resolved = spec.registry.resolver().lookup(target).contents
            except Exception as exc:  # noqa: BLE001 - a bad pointer, reported with the facet's path
                problems.append(f"at {at}: _schemaURL {url!r} does not resolve: {exc}")
                continue
            base = _base_kind(resolved)
            if base is not None and base not in kinds:
                problems.append(f"at {at}: a {base} cannot stand among {_path(where)} (expected {' or '.join(kinds)})")
            problems += _problems({"$ref": target}, facet, spec, [*where, name])
            problems += _problems(doc, {name: facet}, spec, where)
    return problems


def _base_kind(schema: Mapping[str, Any]) -> str | None:
    for part in schema.get("allOf") or ():
        ref = part.get("$ref", "") if isinstance(part, Mapping) else ""
        if "OpenLineage.json#/$defs/" in ref:
            return ref.rsplit("/", 1)[-1]
    return None


def validate_event(event: Mapping[str, Any], spec_dir: str | os.PathLike[str]) -> None:
    """Raise :class:`LineageValidationError` unless ``event`` is a valid OpenLineage run event.

    ``spec_dir`` holds ``OpenLineage.json`` and ``facets/*.json``; nothing is fetched from the network. The
    event is checked against ``OpenLineage.json`` (whose RunEvent definition gives the readable messages),
    its ``schemaURL`` must name that spec, and every facet is checked against the schema its ``_schemaURL``
    names (the spec's facets and this package's own, ``lineage/*Facet.json``), under the facet key that
    schema defines, in a place its base facet allows (a run facet among the run's facets, ...).
    """
    spec = _spec(str(Path(spec_dir).resolve()))
    problems = _problems({"$ref": f"{spec.core_id}#/$defs/RunEvent"}, event, spec)
    if not problems and _problems({"$ref": spec.core_id}, event, spec):
        problems.append("at (the event): valid as a RunEvent but not as exactly one of RunEvent, DatasetEvent, JobEvent")
    url = event.get("schemaURL") if isinstance(event, Mapping) else None
    if isinstance(url, str) and url.partition("#")[0] != spec.core_id:
        problems.append(f"at schemaURL: {url!r} is not the spec in {spec_dir} ({spec.core_id})")
    if isinstance(event, Mapping):
        problems += _facet_problems(event, spec)
    if problems:
        raise LineageValidationError(list(dict.fromkeys(problems)))
