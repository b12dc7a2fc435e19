"""``lineage.datasets``: the layers' datasets as the assets report them, for the cases the sample run does not
reach (the HTTP API, a PostgreSQL front-end database with a password) and for every base table."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from jilin_pipelines.base import lineage as base_lineage
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.lineage import LAKE_NAMESPACE, run_event, run_id_for, validate_event
from jilin_pipelines.lineage.datasets import (
    base_inputs,
    base_ref,
    quality_assertions,
    raw_ref,
    source_ref,
    standardised_ref,
)
from jilin_pipelines.quality.rules import declare
from jilin_pipelines.settings import Settings


def settings(**env) -> Settings:
    return Settings.from_env({"JILIN_SOURCES_DIR": "/srv/jilin/sources", "JILIN_DATA_DIR": "/srv/jilin/data", **env})


def test_api_datasets_are_named_by_the_api_when_read_over_http_and_by_their_files_otherwise():
    e = catalogue().entry("traffic_police.driving_licences")
    over_http = source_ref(e, settings(JILIN_SOURCES_API_URL="http://user:pw@api.example:8443/",
                                       JILIN_SOURCES_API_TOKEN="t"), sha256="ab" * 32)
    assert (over_http.namespace, over_http.name) == ("http://api.example:8443", "api/v1/traffic_police/driving_licences")
    assert over_http.version == "ab" * 32
    from_files = source_ref(e, settings())
    assert (from_files.namespace, from_files.name) == ("file:///srv/jilin/sources", "traffic_police/driving_licences")


def test_a_front_end_database_is_named_without_its_credentials():
    e = catalogue().entry("social_security.insured_persons")
    ref = source_ref(e, settings(JILIN_SOCIAL_SECURITY_DB_URL="postgresql+psycopg2://si:s3cret@db.si:5432/exchange"))
    assert ref.namespace == "postgresql://db.si:5432/exchange"
    assert ref.name == e.dataset.format.table
    assert "s3cret" not in repr(ref)


def test_a_party_id_gets_its_type_column_and_an_id_type_field_its_indirect_input():
    vehicles = standardised_ref("traffic_police.motor_vehicles").column_lineage
    assert [(i.field, i.transformation) for i in vehicles["owner_id"]] == [("所有人证件号码", "DIRECT"),
                                                                            ("所有人证件类型", "INDIRECT")]
    permits = standardised_ref("transport.road_transport_permits")
    assert "operator_id_type" in permits.column_lineage
    assert "operator_id_type" in {f.name for f in permits.fields}


@pytest.mark.parametrize("entry", catalogue().entries, ids=lambda e: e.id)
def test_every_datasets_raw_and_standardised_events_validate(entry, spec_dir):
    s = settings()
    source = source_ref(entry, s, sha256="0" * 64)
    results = [SimpleNamespace(rule=r, success=i % 2 == 0, unexpected_count=i, element_count=10)
               for i, r in enumerate(declare(entry.dataset))]
    assertions = quality_assertions(entry, results, blocked_share=0.25, delivered=False)
    assert [a.name for a in assertions][-2:] == ["blocked_share", "timeliness"]
    assert assertions[-1].success is False
    assert len(assertions) == len(results) + 2
    events = [
        run_event("COMPLETE", run_id=run_id_for("r", entry.id), job_name="raw", inputs=[source],
                  outputs=[raw_ref(entry, rows=10, source=source)]),
        run_event("COMPLETE", run_id=run_id_for("s", entry.id), job_name="standardised", inputs=[raw_ref(entry)],
                  outputs=[standardised_ref(entry, rows=8, assertions=assertions)]),
    ]
    for event in events:
        validate_event(event, spec_dir)


@pytest.mark.parametrize("table", list(base_lineage()))
def test_every_base_tables_event_validates_with_its_column_lineage(table, spec_dir):
    ref = base_ref(table, rows=3)
    assert ref.column_lineage, table
    assert all(i.namespace == LAKE_NAMESPACE and i.name.startswith("standardised/")
               for ins in ref.column_lineage.values() for i in ins)
    inputs = base_inputs(table)
    assert {i.name for ins in ref.column_lineage.values() for i in ins} <= {i.name for i in inputs}
    validate_event(run_event("COMPLETE", run_id=run_id_for(table), job_name=f"base/{table}", inputs=inputs,
                             outputs=[ref]), spec_dir)
