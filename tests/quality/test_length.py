"""Free text and names are bounded: a value longer than the field's ``max_length`` (default 500 characters) fails
the field's ``length`` rule — blocking the row in a dataset that quarantines, a warning in a scenario input — and is
dropped from the standardised values either way, so it never reaches a golden record; codes and identifiers are
bounded by their own standards and get no such rule."""

from __future__ import annotations

from datetime import date

import pandas as pd

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.catalogue.models import DEFAULT_MAX_LENGTH, Severity
from jilin_pipelines.quality.rules import check

DAY = date(2025, 6, 2)
HUGE = "黄" * 2_621_440


def _checked(dataset_id: str, field: str, value: str):
    entry = catalogue().entry(dataset_id)
    source = entry.dataset.field(field).source
    raw = pd.DataFrame({c: ["x", "x"] for c in entry.dataset.source_columns}, dtype="string")
    raw.loc[1, source] = value
    return entry, check(entry.dataset, raw, DAY)


def test_an_overlong_name_fails_its_rule_and_never_reaches_the_values():
    entry, checked = _checked("traffic_police.motor_vehicles", "owner_name", HUGE)
    rule = next(r for r in checked.rules if r.id == "owner_name.length")
    assert rule.severity is Severity.block
    assert checked.frame[rule.column].tolist() == [True, False]
    assert checked.values["owner_name"].tolist() == ["x", pd.NA] or pd.isna(checked.values["owner_name"][1])
    assert checked.reasons["owner_name.length"].tolist()[1] == "too_long"


def test_in_a_scenario_input_it_is_a_warning_and_still_dropped():
    entry, checked = _checked("social_security.insured_persons", "name", "张" * (DEFAULT_MAX_LENGTH + 1))
    rule = next(r for r in checked.rules if r.id == "name.length")
    assert rule.severity is Severity.warn  # the insured row still gets its approval
    assert pd.isna(checked.values["name"][1]) and checked.values["name"][0] == "x"


def test_a_value_at_the_limit_passes_and_identifiers_have_no_length_rule():
    entry, checked = _checked("traffic_police.motor_vehicles", "owner_name", "张" * DEFAULT_MAX_LENGTH)
    assert checked.frame["owner_name__length"].tolist() == [True, True]
    assert not any(r.id in ("owner_id.length", "plate_no.length") for r in checked.rules)
