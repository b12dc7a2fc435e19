"""Run events for raw, standardised, base and scenario assets validate against the local OpenLineage spec;
broken events do not; the facets say what the asset read, wrote, checked and why."""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from datetime import datetime

import pytest
from lineage_testkit import DAGSTER_RUN_ID, DAY, EVENT_TYPES, KINDS, PURPOSE, SCENARIO, asset_event, entry

from jilin_pipelines.lineage import (
    LineageValidationError,
    ParentRun,
    Purpose,
    run_event,
    run_id_for,
    validate_event,
)
from jilin_pipelines.lineage import naming as ol


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_asset_event_validates(spec_dir, kind, event_type):
    event = asset_event(kind, event_type)
    validate_event(event, spec_dir)
    assert event["eventType"] == event_type
    assert json.loads(json.dumps(event)) == event  # plain JSON


def test_start_and_end_of_one_materialisation_share_the_run_id():
    start, complete = asset_event("standardised", "START"), asset_event("standardised", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert start["run"]["runId"] != asset_event("raw", "START")["run"]["runId"]
    assert run_id_for(DAGSTER_RUN_ID, "x", DAY) == run_id_for(DAGSTER_RUN_ID, "x", DAY) != run_id_for(DAGSTER_RUN_ID, "x")
    uuid.UUID(start["run"]["runId"])


def test_raw_event_names_the_source_file_and_the_lake():
    event = asset_event("raw", "COMPLETE")
    assert event["job"] == {
        "namespace": "jilin_pipelines",
        "name": "traffic_police/raw/motor_vehicles",
        "facets": {"jobType": event["job"]["facets"]["jobType"]},
    }
    [source], [raw] = event["inputs"], event["outputs"]
    assert (source["namespace"], source["name"]) == ("file:///srv/jilin/sources", "traffic_police/motor_vehicles")
    assert source["facets"]["version"]["datasetVersion"].startswith("9f86d081")
    assert (raw["namespace"], raw["name"]) == ("jilin://lake", "raw/traffic_police/motor_vehicles")
    assert raw["outputFacets"]["outputStatistics"]["rowCount"] == 1200
    names = [f["name"] for f in raw["facets"]["schema"]["fields"]]
    assert names == entry("traffic_police.motor_vehicles").dataset.source_columns + ["_source_row", "_error", "_raw"]
    assert "号牌号码" in names
    assert event["run"]["facets"]["nominalTime"] == {
        **event["run"]["facets"]["nominalTime"],
        "nominalStartTime": "2025-06-02T00:00:00+08:00",
        "nominalEndTime": "2025-06-03T00:00:00+08:00",
    }


def test_api_source_is_named_by_its_url():
    [source] = asset_event("raw_api", "START")["inputs"]
    assert (source["namespace"], source["name"]) == ("http://127.0.0.1:8765", "api/v1/traffic_police/driving_licences")


def test_standardised_event_maps_every_standard_field_to_its_source_field():
    e = entry("traffic_police.motor_vehicles")
    [output] = asset_event("standardised", "COMPLETE")["outputs"]
    lineage = output["facets"]["columnLineage"]["fields"]
    assert set(lineage) == {f.name for f in e.dataset.fields}
    for f in e.dataset.fields:
        first = lineage[f.name]["inputFields"][0]
        assert (first["namespace"], first["name"], first["field"]) == (
            "jilin://lake", "raw/traffic_police/motor_vehicles", f.source)
    owner, owner_type = e.dataset.field("owner_id"), e.dataset.field(e.dataset.field("owner_id").id_type_field)
    assert [i["field"] for i in lineage["owner_id"]["inputFields"]] == [owner.source, owner_type.source]
    assert lineage["owner_id"]["inputFields"][1]["transformations"] == [{"type": "INDIRECT", "subtype": "CONDITIONAL"}]
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [f.name for f in e.dataset.fields]


def test_standardised_completion_reports_its_checks():
    [output] = asset_event("standardised", "COMPLETE")["outputs"]
    assertions = output["facets"]["dataQualityAssertions"]["assertions"]
    plate = [a for a in assertions if a.get("column") == "plate_no"]
    assert {"assertion": "not_null", "success": True, "column": "plate_no", "severity": "error",
            "name": "plate_no_not_null"} in plate
    assert any(a["success"] is False for a in assertions)
    assert {"assertion": "row_count", "success": True, "severity": "warn", "name": "rows_delivered",
            "expected": ">0", "actual": "1200"} in assertions
    [started] = asset_event("standardised", "START")["outputs"]
    assert "dataQualityAssertions" not in started["facets"]


def test_base_event_reads_two_departments():
    event = asset_event("base", "COMPLETE")
    assert [i["name"] for i in event["inputs"]] == [
        "standardised/traffic_police/driving_licences", "standardised/social_security/insured_persons"]
    [person] = event["outputs"]
    assert (person["namespace"], person["name"]) == ("jilin://base", "person")
    sources = {(i["name"], i["field"]) for i in person["facets"]["columnLineage"]["fields"]["name"]["inputFields"]}
    assert sources == {("standardised/traffic_police/driving_licences", "name"),
                       ("standardised/social_security/insured_persons", "name")}


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_scenario_event_carries_its_parent_and_purpose(event_type):
    facets = asset_event("scenario", event_type)["run"]["facets"]
    assert facets["parent"]["job"] == {"namespace": "jilin_pipelines", "name": f"scenario_{SCENARIO}"}
    assert facets["parent"]["run"] == {"runId": run_id_for(DAGSTER_RUN_ID, SCENARIO)}
    purpose = facets["jilin_purpose"]
    assert (purpose["scenario"], purpose["purpose"], purpose["legal_basis"]) == (
        SCENARIO, PURPOSE.purpose, PURPOSE.legal_basis)
    assert purpose["_schemaURL"].endswith("JilinPurposeRunFacet.json#/$defs/JilinPurposeRunFacet")
    assert "jilin_purpose" not in asset_event("base", event_type)["run"]["facets"]


def test_fail_event_carries_the_error():
    event = asset_event("standardised", "FAIL", error=KeyError("号牌号码"))
    facet = event["run"]["facets"]["errorMessage"]
    assert facet["message"] == "KeyError: '号牌号码'"
    assert facet["programmingLanguage"] == "python"
    assert "errorMessage" not in asset_event("standardised", "COMPLETE")["run"]["facets"]


def test_the_scenario_job_itself_can_be_reported():
    parent_run = run_id_for(DAGSTER_RUN_ID, SCENARIO)
    event = run_event("START", run_id=parent_run, job_name=f"scenario_{SCENARIO}", purpose=PURPOSE,
                      job_type="ASSET_GROUP")
    assert event["inputs"] == event["outputs"] == []
    assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None


# --- the validator can fail --------------------------------------------------------------------------


def _facets(event, where):
    node = event
    for step in where:
        node = node[step]
    return node


def _drop(where, key):
    def change(event):
        del _facets(event, where)[key]
    return change


def _set(where, key, value):
    def change(event):
        _facets(event, where)[key] = value
    return change


def _rename(where, old, new):
    def change(event):
        node = _facets(event, where)
        node[new] = node.pop(old)
    return change


def _move_parent_to_job(event):
    event["job"]["facets"]["parent"] = event["run"]["facets"].pop("parent")


OUT = ["outputs", 0, "facets"]
BROKEN = {
    "no eventTime": (_drop([], "eventTime"), "'eventTime' is a required property"),
    "bad eventType": (_set([], "eventType", "DONE"), "at eventType: 'DONE' is not one of"),
    "eventTime not a date-time": (_set([], "eventTime", "2025-06-03 soon"), "at eventTime:"),
    "eventTime without offset": (_set([], "eventTime", "2025-06-03T02:05:00"), "at eventTime:"),
    "runId not a UUID": (_set(["run"], "runId", "run-1"), "at run.runId: 'run-1' is not a 'uuid'"),
    "no job name": (_drop(["job"], "name"), "at job: 'name' is a required property"),
    "producer not a URI": (_set([], "producer", "jilin pipelines"), "at producer:"),
    "schemaURL of another spec": (
        _set([], "schemaURL", "https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent"), "at schemaURL:"),
    "facet without _producer": (_drop(OUT + ["schema"], "_producer"), "'_producer' is a required property"),
    "schema field without name": (
        lambda e: _facets(e, OUT + ["schema", "fields", 0]).pop("name"),
        "at outputs[0].facets.schema.fields[0]: 'name' is a required property"),
    "schema facet under a wrong key": (_rename(OUT, "schema", "schemas"), "defines the facet schema, not 'schemas'"),
    "columnLineage without inputFields": (
        lambda e: _facets(e, OUT + ["columnLineage", "fields", "plate_no"]).pop("inputFields"),
        "at outputs[0].facets.columnLineage.fields.plate_no: 'inputFields' is a required property"),
    "columnLineage input without field": (
        lambda e: _facets(e, OUT + ["columnLineage", "fields", "plate_no", "inputFields", 0]).pop("field"),
        "'field' is a required property"),
    "assertion success not a boolean": (
        lambda e: _facets(e, OUT + ["dataQualityAssertions", "assertions", 0]).update(success="yes"),
        "at outputs[0].facets.dataQualityAssertions.assertions[0].success: 'yes' is not of type 'boolean'"),
    "custom facet typed as a job facet among run facets": (
        _set(["run", "facets", "jilin_purpose"], "_schemaURL",
             "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobFacet"),
        "at run.facets.jilin_purpose: _schemaURL"),
    "unknown facet schema": (
        _set(OUT + ["schema"], "_schemaURL", "https://example.org/MyFacet.json#/$defs/MyFacet"),
        "names no schema of the local spec"),
    "a run facet among job facets": (_move_parent_to_job, "at job.facets.parent: a RunFacet cannot stand among job.facets (expected JobFacet)"),
    "purpose without legal basis": (
        _drop(["run", "facets", "jilin_purpose"], "legal_basis"), "'legal_basis' is a required property"),
    "purpose with a bad scenario": (
        _set(["run", "facets", "jilin_purpose"], "scenario", "Social Assistance"), "at run.facets.jilin_purpose.scenario"),
    "parent without job": (_drop(["run", "facets", "parent"], "job"), "'job' is a required property"),
    "parent runId not a UUID": (
        lambda e: _facets(e, ["run", "facets", "parent", "run"]).update(runId="42"),
        "at run.facets.parent.run.runId: '42' is not a 'uuid'"),
    "nominal time not a date-time": (
        _set(["run", "facets", "nominalTime"], "nominalStartTime", "2 June"), "at run.facets.nominalTime.nominalStartTime"),
    "error without language": (
        _drop(["run", "facets", "errorMessage"], "programmingLanguage"), "'programmingLanguage' is a required property"),
    "rowCount not an integer": (
        lambda e: e["outputs"][0]["outputFacets"]["outputStatistics"].update(rowCount="many"),
        "at outputs[0].outputFacets.outputStatistics.rowCount"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_events_fail_validation_with_a_readable_message(spec_dir, case):
    change, expected = BROKEN[case]
    kind = "standardised" if "columnLineage" in case or "assertion" in case or "schema field" in case else "scenario"
    event = copy.deepcopy(asset_event(kind, "FAIL" if "error" in case else "COMPLETE"))
    validate_event(event, spec_dir)  # valid before the change
    change(event)
    with pytest.raises(LineageValidationError) as raised:
        validate_event(event, spec_dir)
    assert expected in str(raised.value), str(raised.value)


def test_a_custom_facet_typed_by_the_core_spec_validates(spec_dir):
    event = asset_event("raw", "START")
    event["run"]["facets"]["jilin_delivery"] = {
        "_producer": "urn:jilin-pipelines:test", "_schemaURL": f"{ol.OPENLINEAGE_SPEC_ID}#/$defs/RunFacet", "day": "x"}
    validate_event(event, spec_dir)
    del event["run"]["facets"]["jilin_delivery"]["_producer"]
    with pytest.raises(LineageValidationError, match="jilin_delivery: '_producer' is a required property"):
        validate_event(event, spec_dir)


@pytest.mark.parametrize(("value", "ok"), [
    ("2025-06-03T02:05:00Z", True), ("2025-06-03t02:05:00.5+08:00", True), ("2025-06-03 02:05:00-05:00", True),
    ("2025-06-03T02:05:00", False), ("2025-02-30T02:05:00Z", False), ("2025-06-03T25:05:00Z", False),
    ("yesterday", False),
])
def test_event_times_are_checked_as_rfc3339(spec_dir, value, ok):
    event = asset_event("raw", "START")
    event["eventTime"] = value
    if ok:
        validate_event(event, spec_dir)
    else:
        with pytest.raises(LineageValidationError, match="at eventTime"):
            validate_event(event, spec_dir)


def test_facet_schema_urls_are_the_local_specs(spec_dir):
    """Every _schemaURL the builder writes names a schema file of the spec copy (or ours) and a definition in it."""
    ids = {}
    for path in [*sorted((spec_dir / "facets").glob("*.json")), *sorted(ol.OWN_FACETS_DIR.glob(ol.OWN_FACET_GLOB))]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        ids[doc["$id"]] = doc
    for key, url in ol.FACET_SCHEMA_URLS.items():
        doc_id, _, pointer = url.partition("#")
        assert doc_id in ids, f"{key}: {doc_id} is not in {spec_dir}"
        assert key in ids[doc_id]["properties"], key
        assert pointer.rsplit("/", 1)[-1] in ids[doc_id]["$defs"], key
    core = json.loads((spec_dir / "OpenLineage.json").read_text(encoding="utf-8"))
    assert ol.RUN_EVENT_SCHEMA_URL == core["$id"] + "#/$defs/RunEvent"


def test_validation_uses_only_the_local_files(spec_dir, tmp_path):
    """Without the schema facet's file in the spec directory, an event with a schema facet no longer validates:
    nothing is fetched from openlineage.io."""
    copy_dir = tmp_path / "spec"
    shutil.copytree(spec_dir, copy_dir)
    event = asset_event("raw", "START")
    validate_event(event, copy_dir)
    (copy_dir / "facets" / "SchemaDatasetFacet.json").unlink()
    fewer = tmp_path / "fewer"
    shutil.copytree(copy_dir, fewer)  # a new path: the registry is built afresh
    with pytest.raises(LineageValidationError, match="SchemaDatasetFacet.json.*names no schema"):
        validate_event(event, fewer)
    with pytest.raises(LineageValidationError, match="no OpenLineage.json"):
        validate_event(event, tmp_path / "nowhere")


# --- the builder refuses what cannot be a correct event -----------------------------------------------


def test_builder_rejects_inconsistent_arguments():
    run = run_id_for("r")
    when = datetime(2025, 6, 3, 2, 0).astimezone()
    with pytest.raises(ValueError, match="FAIL event needs the error"):
        run_event("FAIL", run_id=run, job_name="a/b", event_time=when)
    with pytest.raises(ValueError, match="only FAIL and ABORT"):
        run_event("COMPLETE", run_id=run, job_name="a/b", event_time=when, error="x")
    with pytest.raises(ValueError, match="event_type must be one of"):
        run_event("DONE", run_id=run, job_name="a/b", event_time=when)
    with pytest.raises(ValueError, match="time zone"):
        run_event("START", run_id=run, job_name="a/b", event_time=datetime(2025, 6, 3, 2, 0))
    with pytest.raises(ValueError, match="run_id must be a UUID"):
        run_event("START", run_id="run-1", job_name="a/b", event_time=when)
    with pytest.raises(ValueError, match="is not the parent job"):
        run_event("START", run_id=run, job_name="a/b", event_time=when, purpose=PURPOSE,
                  parent=ParentRun.scenario("budget_staff_basic_info", run))
    with pytest.raises(ValueError, match="not a scenario name"):
        Purpose("Budget!", "p", "l")
    with pytest.raises(ValueError, match="must not be empty"):
        Purpose("budget_staff_basic_info", " ", "l")


def test_dataset_refs_reject_lineage_and_checks_of_unknown_fields():
    from jilin_pipelines.lineage import DatasetRef

    with pytest.raises(ValueError, match="unknown fields plate"):
        DatasetRef("jilin://lake", "x", [("plate_no", "string")], {"plate": [("jilin://lake", "y", "p")]})
    with pytest.raises(ValueError, match="unknown fields owner"):
        DatasetRef("jilin://lake", "x", [("plate_no", "string")], assertions=[("not_null", True, "owner")])
    with pytest.raises(ValueError, match="duplicate fields plate_no"):
        DatasetRef("jilin://lake", "x", [("plate_no", "string"), ("plate_no", "string")])
    with pytest.raises(ValueError, match="lists no input field"):
        DatasetRef("jilin://lake", "x", column_lineage={"a": []})


def test_namespace_helpers():
    assert ol.file_source_namespace("/srv/jilin/sources/") == "file:///srv/jilin/sources"
    assert ol.api_source_namespace("https://user:secret@gat.jl.gov.cn:8443/exchange/?x=1") == (
        "https://gat.jl.gov.cn:8443/exchange")
    assert ol.database_source_namespace("postgresql+psycopg2://u:pw@db.jl:5432/exchange?sslmode=require") == (
        "postgresql://db.jl:5432/exchange")
    assert ol.database_source_namespace("sqlite:////srv/x/exchange.sqlite") == "sqlite:////srv/x/exchange.sqlite"
    assert ol.job_name(["traffic_police", "raw", "motor_vehicles"]) == "traffic_police/raw/motor_vehicles"
    assert ol.scenario_job_name("certificate_verification") == "scenario_certificate_verification"
    with pytest.raises(ValueError):
        ol.job_name(["a", ""])
