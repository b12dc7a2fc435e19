"""Events for the four kinds of asset, built from the catalogue the way the Dagster layer builds them."""

from __future__ import annotations

from datetime import date, datetime, timezone

from jilin_pipelines.catalogue import Entry, catalogue
from jilin_pipelines.lineage import (
    BASE_NAMESPACE,
    LAKE_NAMESPACE,
    SCENARIO_NAMESPACE,
    Assertion,
    DatasetRef,
    InputField,
    ParentRun,
    Purpose,
    api_source_namespace,
    file_source_namespace,
    job_name,
    lake_name,
    run_event,
    run_id_for,
)

DAGSTER_RUN_ID = "0b7a3f4e-2c1d-4e5f-8a9b-0c1d2e3f4a5b"
DAY = date(2025, 6, 2)
SOURCES_DIR = "/srv/jilin/sources"
API_URL = "http://127.0.0.1:8765"
WHEN = {
    "START": datetime(2025, 6, 3, 2, 5, 0, tzinfo=timezone.utc),
    "COMPLETE": datetime(2025, 6, 3, 2, 6, 30, 250000, tzinfo=timezone.utc),
    "FAIL": datetime(2025, 6, 3, 2, 6, 31, tzinfo=timezone.utc),
}
SCENARIO = "social_assistance_verification"
PURPOSE = Purpose(
    scenario=SCENARIO,
    purpose="社会救助家庭经济状况核对: 核对申请家庭成员的车辆、经营和收入",
    legal_basis="《社会救助暂行办法》第十一条; 《中华人民共和国个人信息保护法》第十三条",
)
BOOKKEEPING = [
    ("_source_row", "int64", "1-based position of the row in the delivery"),
    ("_error", "string", "why the row could not be parsed"),
    ("_raw", "string", "the raw text of an unparseable row"),
]


def entry(dataset_id: str) -> Entry:
    return catalogue().entry(dataset_id)


def source_ref(e: Entry, *, sha256: str | None = None) -> DatasetRef:
    ds = e.dataset
    fields = [(f.source, "string", f.title or f.name) for f in ds.fields]
    if ds.format.kind == "api":
        return DatasetRef(api_source_namespace(API_URL), f"api/v1/{e.department.department}/{ds.name}", fields)
    return DatasetRef(file_source_namespace(SOURCES_DIR), f"{e.department.department}/{ds.name}", fields, version=sha256)


def raw_ref(e: Entry, *, rows: int | None = None, lineage_from: DatasetRef | None = None) -> DatasetRef:
    name = lake_name("raw", e.department.department, e.dataset.name)
    fields = [(f.source, "string", f"{f.title or f.name} → {f.name}") for f in e.dataset.fields] + BOOKKEEPING
    lineage = {}
    if lineage_from is not None:
        lineage = {
            f.source: [InputField(lineage_from.namespace, lineage_from.name, f.source, "DIRECT", "IDENTITY")]
            for f in e.dataset.fields
        }
    return DatasetRef(LAKE_NAMESPACE, name, fields, lineage, row_count=rows)


def standardised_ref(e: Entry, *, rows: int | None = None, with_results: bool = False) -> DatasetRef:
    raw_name = lake_name("raw", e.department.department, e.dataset.name)
    fields = [(f.name, f.type.value, f.title) for f in e.dataset.fields]
    lineage: dict[str, list[InputField]] = {}
    for f in e.dataset.fields:
        inputs = [InputField(LAKE_NAMESPACE, raw_name, f.source, "DIRECT", "TRANSFORMATION",
                             f"normalised ({f.standard.value if f.standard else f.type.value})")]
        if f.id_type_field:
            id_type = e.dataset.field(f.id_type_field)
            inputs.append(InputField(LAKE_NAMESPACE, raw_name, id_type.source, "INDIRECT", "CONDITIONAL"))
        lineage[f.name] = inputs
    assertions: list[Assertion] = []
    if with_results:
        for i, f in enumerate(e.dataset.fields):
            if f.required:
                assertions.append(Assertion("not_null", True, f.name, "error", f"{f.name}_not_null"))
            if f.standard:
                assertions.append(Assertion(
                    f.standard.value, i % 2 == 0, f.name, f.severity.value == "block" and "error" or "warn",
                    f"{f.name}_{f.standard.value}", f"values of {f.name} conform to {f.standard.value}",
                    expected="0", actual=str(i),
                ))
        assertions.append(Assertion("row_count", True, None, "warn", "rows_delivered", expected=">0", actual=str(rows)))
    return DatasetRef(LAKE_NAMESPACE, lake_name("standardised", e.department.department, e.dataset.name),
                      fields, lineage, assertions, row_count=rows)


def person_ref(*, rows: int | None = None) -> DatasetRef:
    licences = lake_name("standardised", "traffic_police", "driving_licences")
    insured = lake_name("standardised", "social_security", "insured_persons")
    fields = [
        ("id_number", "string", "resident ID number (personal)"),
        ("name", "string", "name (personal)"),
        ("birth_date", "date", "birth date (personal)"),
        ("known", "boolean", "named by an identity-bearing dataset"),
    ]
    lineage = {
        "id_number": [(LAKE_NAMESPACE, licences, "id_number"), (LAKE_NAMESPACE, insured, "id_number")],
        "name": [(LAKE_NAMESPACE, licences, "name"), (LAKE_NAMESPACE, insured, "name")],
        "birth_date": [(LAKE_NAMESPACE, licences, "birth_date"), (LAKE_NAMESPACE, insured, "birth_date")],
        "known": [InputField(LAKE_NAMESPACE, licences, "id_number", "INDIRECT", "CONDITIONAL")],
    }
    return DatasetRef(BASE_NAMESPACE, "person", fields, lineage, row_count=rows)


def decisions_ref(*, rows: int | None = None) -> DatasetRef:
    fields = [
        ("application_id", "string", "the assistance application"),
        ("decision", "string", "eligible | ineligible | manual_review"),
        ("reasons", "json", "flag names, sorted"),
    ]
    applications = lake_name("standardised", "social_security", "assistance_applications")
    lineage = {
        "application_id": [(LAKE_NAMESPACE, applications, "application_id")],
        "decision": [InputField(BASE_NAMESPACE, "person", "id_number", "INDIRECT", "CONDITIONAL"),
                     InputField(BASE_NAMESPACE, "vehicle", "owner_id", "INDIRECT", "JOIN")],
        "reasons": [InputField(BASE_NAMESPACE, "vehicle", "status_code", "INDIRECT", "CONDITIONAL")],
    }
    return DatasetRef(SCENARIO_NAMESPACE, f"{SCENARIO}/decisions", fields, lineage,
                      [Assertion("not_null", True, "decision")], row_count=rows)


def asset_event(kind: str, event_type: str, *, error: str | BaseException | None = None) -> dict:
    """A START, COMPLETE or FAIL event of a raw, standardised, base or scenario asset."""
    done = event_type == "COMPLETE"
    rows = 1200 if done else None
    error = error if error is not None or event_type != "FAIL" else RuntimeError("the delivery could not be read")
    common = dict(event_time=WHEN[event_type], partition_day=DAY, error=error)
    if kind == "raw":
        e = entry("traffic_police.motor_vehicles")
        src = source_ref(e, sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        key = ["traffic_police", "raw", "motor_vehicles"]
        inputs, outputs = [src], [raw_ref(e, rows=rows, lineage_from=src)]
    elif kind == "raw_api":
        e = entry("traffic_police.driving_licences")
        src = source_ref(e)
        key = ["traffic_police", "raw", "driving_licences"]
        inputs, outputs = [src], [raw_ref(e, rows=rows, lineage_from=src)]
    elif kind == "standardised":
        e = entry("traffic_police.motor_vehicles")
        key = ["traffic_police", "standardised", "motor_vehicles"]
        inputs, outputs = [raw_ref(e)], [standardised_ref(e, rows=rows, with_results=done)]
    elif kind == "base":
        key = ["base", "person"]
        inputs = [standardised_ref(entry("traffic_police.driving_licences")),
                  standardised_ref(entry("social_security.insured_persons"))]
        outputs = [person_ref(rows=rows)]
    elif kind == "scenario":
        key = [f"scenario_{SCENARIO}", "decisions"]
        inputs = [person_ref(), DatasetRef(BASE_NAMESPACE, "vehicle")]
        outputs = [decisions_ref(rows=rows)]
        common.update(purpose=PURPOSE, parent=ParentRun.scenario(SCENARIO, run_id_for(DAGSTER_RUN_ID, SCENARIO)))
    else:
        raise ValueError(kind)
    name = job_name(key)
    return run_event(event_type, run_id=run_id_for(DAGSTER_RUN_ID, name, DAY), job_name=name,
                     inputs=inputs, outputs=outputs, **common)


KINDS = ("raw", "raw_api", "standardised", "base", "scenario")
EVENT_TYPES = ("START", "COMPLETE", "FAIL")
