"""A dataset's quality rules are declared from its catalogue entry alone — the Dagster layer declares its checks
from them when it loads, before any delivery — and are exactly the rules the evaluation of a delivery then checks:
the same ids, in the same order, reading the check-frame columns the evaluation computed, with the same
expectations, each one validated by Great Expectations on every delivered row."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.catalogue.models import Dimension, Severity
from jilin_pipelines.quality import expectations, rules
from jilin_pipelines.quality.rules import check, declare
from jilin_pipelines.raw import days_in_sources, land_day
from jilin_pipelines.settings import CHECKOUT, Settings
from jilin_pipelines.sources import ERROR


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory):
    """{dataset id: (day, its parsed rows)}: each dataset's first delivery of the committed sample with rows."""
    settings = Settings.from_env({"JILIN_SOURCES_DIR": str(CHECKOUT / "sample_sources"),
                                  "JILIN_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    entries = list(catalogue().entries)
    out = {}
    for day in days_in_sources(settings, entries):
        for entry in (e for e in entries if e.id not in out):
            raw = pq.read_table(land_day(entry, day, settings).path).to_pandas(
                types_mapper={pa.string(): pd.StringDtype()}.get)
            parsed = raw[raw[ERROR].isna()].reindex(columns=entry.dataset.source_columns).astype("string")
            if len(parsed):
                out[entry.id] = day, parsed.reset_index(drop=True)
        if len(out) == len(entries):
            break
    return out


def _facts(rule: rules.Rule) -> tuple:
    return (rule.id, rule.field, rule.source, rule.check, rule.dimension, rule.severity, rule.description,
            rule.column, rule.expectation, rule.kwargs)


def test_every_dataset_declares_the_rules_its_evaluation_checks(deliveries):
    assert set(deliveries) == {e.id for e in catalogue().entries}  # every dataset, on a delivery with rows
    for entry in catalogue().entries:
        day, rows = deliveries[entry.id]
        declared = declare(entry.dataset)
        checked = check(entry.dataset, rows, day)
        results = expectations.validate(entry.id, checked)
        assert declared, entry.id
        assert [_facts(r) for r in checked.rules] == [_facts(r) for r in declared], entry.id
        assert list(checked.frame.columns) == [r.column for r in declared], entry.id
        assert len(checked.frame) == len(rows) > 0
        assert [(res.rule.id, res.element_count) for res in results] == [(r.id, len(rows)) for r in declared], \
            entry.id
        assert set(checked.reasons) <= {r.id for r in declared}, entry.id


def test_declaring_evaluates_nothing(monkeypatch):
    def no_evaluation(*args, **kwargs):
        raise AssertionError("the declaration evaluated a delivery")

    monkeypatch.setattr(rules, "_Builder", no_evaluation)
    monkeypatch.setattr(rules, "check", no_evaluation)
    for entry in catalogue().entries:
        assert declare(entry.dataset) != []


def test_an_evaluation_that_drifts_from_the_declaration_is_refused(deliveries, monkeypatch):
    day, rows = deliveries["traffic_police.motor_vehicles"]
    dataset = catalogue().entry("traffic_police.motor_vehicles").dataset
    declared = declare(dataset)
    monkeypatch.setattr(rules, "declare", lambda ds: [r for r in declared if r.id != "plate_no.standard"])
    with pytest.raises(RuntimeError, match="not the rules evaluated"):
        check(dataset, rows, day)


def test_known_rules_of_the_catalogue():
    def rule(dataset_id: str, rule_id: str) -> rules.Rule:
        return next(r for r in declare(catalogue().entry(dataset_id).dataset) if r.id == rule_id)

    plate_type = rule("traffic_police.motor_vehicles", "plate_type.code_list")
    assert (plate_type.column, plate_type.expectation, plate_type.kwargs) == \
           ("plate_type__code_list", "in_set", {"value_set": ["01", "02", "07", "51", "52"]})
    assert plate_type.severity is Severity.block and plate_type.dimension is Dimension.normativity

    owner_id = rule("traffic_police.motor_vehicles", "owner_id.standard")
    assert owner_id.description == "所有人证件号码 is a valid resident ID number or unified social credit code"
    assert (owner_id.column, owner_id.expectation) == ("owner_id__standard", "true")

    longitude = rule("traffic_police.video_points", "longitude.in_jilin")
    assert (longitude.expectation, longitude.kwargs) == ("between", {"min_value": 121.5, "max_value": 131.4})

    sex = rule("traffic_police.driving_licences", "sex.matches_id")  # a warning, in a dataset that quarantines
    assert sex.severity is Severity.warn and sex.dimension is Dimension.consistency
    assert sex.description == "xb agrees with id_number"

    base = rule("social_security.insured_persons", "contribution_base.range")  # a scenario input: warnings only
    assert base.kwargs == {"min_value": 0.0, "max_value": 200000.0} and base.severity is Severity.warn
    order = [r.id for r in declare(catalogue().entry("traffic_police.motor_vehicles").dataset)]
    assert order.index("first_registration_date.format") + 1 == order.index("first_registration_date.not_future")

