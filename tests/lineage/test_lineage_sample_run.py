"""The OpenLineage events of the full sample run (the session's ``sample_run``): all validate against the spec
copy, every materialisation of every day has its START and COMPLETE, and the facets say what the layers do
(that no personal value is in them: ``tests/privacy/test_sample_run_privacy.py``)."""

from __future__ import annotations

import json
from collections import defaultdict

import dagster as dg
import pandas as pd
import pytest

from jilin_pipelines.base import lineage as base_lineage
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.lineage import (
    LineageValidationError,
    default_path,
    run_id_for,
    validate_event,
)
from jilin_pipelines.quality.rules import declare
from jilin_pipelines.raw import landed_summary
from jilin_pipelines.lake import partition_path


@pytest.fixture(scope="module")
def lines(sample_run) -> list[str]:
    path = default_path(sample_run.settings.data_dir)
    assert path.is_file(), f"the sample run wrote no OpenLineage events at {path}"
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def events(lines) -> list[dict]:
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def materialisations(sample_run) -> dict[str, tuple[str, str, str | None]]:
    """OpenLineage run ID expected → (job, partition, the ``openlineage_run_id`` the materialisation recorded)."""
    expected = {}
    with dg.DagsterInstance.from_config(str(sample_run.settings.dagster_home)) as instance:
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
                mat = record.asset_materialization
                job = mat.asset_key.to_user_string()
                recorded = mat.metadata.get("openlineage_run_id")
                expected[run_id_for(run.run_id, job, mat.partition)] = (
                    job, mat.partition, recorded.value if recorded is not None else None)
    return expected


def test_every_event_of_the_sample_run_validates(events, spec_dir):
    problems = {}
    for i, event in enumerate(events):
        try:
            validate_event(event, spec_dir)
        except LineageValidationError as exc:
            problems[f"line {i + 1} ({event.get('eventType')} {event.get('job', {}).get('name')})"] = exc.problems[:3]
    assert not problems, f"{len(problems)} of {len(events)} events invalid, e.g. {list(problems.items())[:3]}"


def test_every_materialised_asset_of_every_day_has_start_and_complete(events, materialisations):
    by_run = defaultdict(list)
    for e in events:
        by_run[e["run"]["runId"]].append(e)
    days = {partition for _, partition, _ in materialisations.values()}
    assert days == {f"2025-06-0{d}" for d in range(2, 9)}
    jobs = {job for job, _, _ in materialisations.values()}
    for entry in catalogue().entries:
        dept, name = entry.department.department, entry.dataset.name
        assert {f"{dept}/raw/{name}", f"{dept}/standardised/{name}"} <= jobs, entry.id
    assert {f"base/{t}" for t in base_lineage()} | {"quality/scorecard"} <= jobs

    missing = []
    for run_id, (job, partition, recorded) in materialisations.items():
        got = by_run.get(run_id, [])
        types = [e["eventType"] for e in got]
        if types != ["START", "COMPLETE"]:
            missing.append(f"{job} {partition}: {types}")
            continue
        assert recorded == run_id, f"{job} {partition}: the materialisation records OpenLineage run {recorded}"
        for e in got:
            assert e["job"]["name"] == job
            assert e["run"]["facets"]["nominalTime"]["nominalStartTime"] == f"{partition}T00:00:00+08:00"
    assert not missing, f"{len(missing)} of {len(materialisations)} materialisations without START+COMPLETE: {missing[:5]}"
    strays = sorted({by_run[r][0]["job"]["name"] for r in set(by_run) - set(materialisations)})
    assert not strays, f"OpenLineage runs without a materialisation: {strays[:5]}"
    assert len(events) == 2 * len(materialisations)


def _completes(events, layer: str) -> list[dict]:
    return [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].split("/")[1:2] == [layer]]


def test_raw_events_name_the_delivery_and_its_checksum(events, sample_run):
    completes = _completes(events, "raw")
    assert len(completes) == 7 * len(catalogue().entries)
    for e in completes:
        dept, _, name = e["job"]["name"].split("/")
        entry = catalogue().entry(f"{dept}.{name}")
        day = e["run"]["facets"]["nominalTime"]["nominalStartTime"][:10]
        facts = landed_summary(partition_path(entry, pd.Timestamp(day).date(), sample_run.settings))
        (source,) = e["inputs"]
        (raw,) = e["outputs"]
        assert raw["name"] == f"raw/{dept}/{name}"
        assert source["facets"].get("version", {}).get("datasetVersion") == facts["source_sha256"]
        assert raw["outputFacets"]["outputStatistics"]["rowCount"] == facts["landed_rows"]
        lineage = raw["facets"]["columnLineage"]["fields"]
        assert set(lineage) == {f.source for f in entry.dataset.fields}
        assert all(i["inputFields"][0]["name"] == source["name"] for i in lineage.values())
        if entry.dataset.format.kind == "frontdb":
            assert source["namespace"].startswith("sqlite:///")
        else:
            assert source["namespace"] == sample_run.settings.sources_dir.resolve().as_uri()


def test_standardised_events_carry_schema_column_lineage_and_the_quality_results(events):
    completes = _completes(events, "standardised")
    assert len(completes) == 7 * len(catalogue().entries)
    failed_somewhere = False
    for e in completes:
        dept, _, name = e["job"]["name"].split("/")
        entry = catalogue().entry(f"{dept}.{name}")
        out = e["outputs"][0]
        assert out["name"] == f"standardised/{dept}/{name}"
        assert {f.name for f in entry.dataset.fields} <= set(out["facets"]["columnLineage"]["fields"])
        assert {f.name for f in entry.dataset.fields} <= {f["name"] for f in out["facets"]["schema"]["fields"]}
        for f in entry.dataset.fields:
            (first, *_) = out["facets"]["columnLineage"]["fields"][f.name]["inputFields"]
            assert (first["name"], first["field"]) == (f"raw/{dept}/{name}", f.source)
        assertions = out["facets"]["dataQualityAssertions"]["assertions"]
        assert {a["name"] for a in assertions} == {r.id for r in declare(entry.dataset)} | {"blocked_share", "timeliness"}
        failed_somewhere |= not all(a["success"] for a in assertions)
        assert out["outputFacets"]["outputStatistics"]["rowCount"] >= 0
    assert failed_somewhere, "the sample has defects: some assertion must fail"


def test_base_events_carry_the_column_lineage_of_every_table(events):
    completes = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].startswith("base/")]
    assert {e["job"]["name"] for e in completes} == {f"base/{t}" for t in base_lineage()}
    for e in completes:
        table = e["job"]["name"].split("/", 1)[1]
        (out,) = e["outputs"]
        expected = {c for c, sources in base_lineage()[table].columns.items() if sources}
        assert set(out["facets"]["columnLineage"]["fields"]) == expected
        assert {i["name"] for i in e["inputs"]} == {
            f"standardised/{ds.replace('.', '/')}" for ds in base_lineage()[table].datasets}
    person = [e for e in completes if e["job"]["name"] == "base/person"]
    assert all(e["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"][0]["name"] == "consistency"
               for e in person)
