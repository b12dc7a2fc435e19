"""A scenario that reads a field its purpose may not see makes the Dagster definitions fail to load, with a
message naming the scenario, the field and the rule; the real scenarios load."""

from __future__ import annotations

import dataclasses

import pytest

from jilin_pipelines.definitions import build_definitions
from jilin_pipelines.defs import scenario_assets
from jilin_pipelines.privacy.policy import SharingPolicyError
from jilin_pipelines.scenarios import SCENARIOS, scenario


def test_the_real_scenarios_load():
    defs = build_definitions()
    assert {j.name for j in defs.jobs} >= {s.group for s in SCENARIOS}


def test_a_scenario_reading_beyond_its_purpose_fails_to_load(monkeypatch):
    budget = scenario("budget_staff_basic_info")
    # budget preparation has no business with traffic violations: violations are shared for vehicle safety only
    overreaching = dataclasses.replace(budget, reads={**budget.reads, "violation": ("violation_no", "driver_id")})
    monkeypatch.setattr(scenario_assets, "SCENARIOS", (*SCENARIOS[:3], overreaching))
    with pytest.raises(SharingPolicyError) as caught:
        build_definitions()
    message = str(caught.value)
    assert "budget_staff_basic_info" in message
    assert "violation.driver_id" in message and "traffic_police.violations" in message
    assert "commercial_vehicle_safety" in message  # the rule: the purposes the dataset is shared for


def test_a_scenario_taking_a_person_name_from_every_source_fails_to_load(monkeypatch):
    """Reading ``person.name`` whole would take names that traffic violations' and urban cases' references put
    there; the approval scenario may read only the identity-bearing datasets' own versions."""
    approval = scenario("social_security_approval")
    overreaching = dataclasses.replace(approval, reads={**approval.reads, "person": ("id_number", "name")})
    monkeypatch.setattr(scenario_assets, "SCENARIOS", (overreaching,))
    with pytest.raises(SharingPolicyError, match=r"social_security_approval.*"):
        build_definitions()
