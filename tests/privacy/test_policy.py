"""Sharing classes are enforced on a scenario's declared reads: an overreaching scenario is refused with a message
naming the scenario, the base table column, the dataset and field behind it and the rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jilin_pipelines.base import lineage
from jilin_pipelines.catalogue import Catalogue, Dataset, SharingClass, catalogue
from jilin_pipelines.privacy.policy import scenario_reads as policy_reads
from jilin_pipelines.privacy import (
    SharingPolicyError,
    check_reads,
    fields_by_dataset,
    personal_fields,
)
from jilin_pipelines.scenarios import SCENARIOS as REAL_SCENARIOS
from jilin_pipelines.scenarios import scenario as scenario_by_name

SCENARIOS = (
    "social_assistance_verification",
    "social_security_approval",
    "certificate_verification",
    "budget_staff_basic_info",
    "commercial_vehicle_safety",
)


def with_dataset(dataset_id: str, **changes) -> Catalogue:
    """The project's catalogue with one dataset changed (validated like a YAML entry)."""
    cat = catalogue()
    departments = []
    for dep in cat.departments:
        datasets = tuple(
            Dataset.model_validate({**ds.model_dump(), **changes}) if f"{dep.department}.{ds.name}" == dataset_id
            else ds
            for ds in dep.datasets
        )
        departments.append(dep.model_copy(update={"datasets": datasets}))
    return Catalogue(tuple(departments))


def test_an_overreaching_scenario_is_refused_naming_scenario_field_dataset_and_rule():
    """Budget preparation has no business with traffic violations: reading violation.driver_id is refused."""
    reads = {"insured_person": ["id_number", "employer_no", "status", "contribution_base"],
             "violation": ["driver_id"]}
    with pytest.raises(SharingPolicyError) as err:
        check_reads("budget_staff_basic_info", "budget_staff_basic_info", reads)
    message = str(err.value)
    assert "scenario budget_staff_basic_info" in message
    assert "violation.driver_id" in message
    assert "dataset traffic_police.violations, field driver_id" in message
    assert "conditionally shared" in message and "['commercial_vehicle_safety'] only" in message
    assert "not for 'budget_staff_basic_info'" in message
    # only the overreach is reported: insured persons are shared for budget preparation
    assert [(v.table, v.column, v.dataset, v.field) for v in err.value.violations] == [
        ("violation", "driver_id", "traffic_police.violations", "driver_id")]
    # the same read for the purpose the dataset is shared for passes and says what it read
    assert check_reads("commercial_vehicle_safety", "commercial_vehicle_safety", {"violation": ["driver_id"]}) == [
        ("traffic_police.violations", "driver_id")]


def test_the_reads_returned_are_the_catalogue_fields_behind_the_columns():
    pairs = check_reads("certificate_verification", "certificate_verification",
                        {"certificate": ["cert_type", "cert_no", "holder_id", "placeholder"]})
    assert pairs == sorted({
        ("traffic_police.driving_licences", "id_number"), ("transport.road_transport_permits", "permit_no"),
        ("transport.practitioner_qualifications", "cert_no"), ("municipal.construction_permits", "permit_no"),
        ("transport.road_transport_permits", "operator_id"), ("transport.practitioner_qualifications", "id_number"),
        ("municipal.construction_permits", "builder_uscc"),
    })
    assert fields_by_dataset(pairs)["transport.practitioner_qualifications"] == ["cert_no", "id_number"]
    personal = personal_fields(pairs)
    assert ("traffic_police.driving_licences", "id_number") in personal
    assert ("municipal.construction_permits", "permit_no") not in personal


@pytest.mark.parametrize("purpose", SCENARIOS)
def test_every_conditional_dataset_table_is_readable_exactly_for_its_purposes(purpose):
    """Over the whole catalogue: a table fed by one dataset may be read iff that dataset's class allows the purpose."""
    cat = catalogue()
    for table, lin in lineage().items():
        if len(lin.datasets) != 1:
            continue
        ds = cat.entry(lin.datasets[0]).dataset
        columns = [c for c, src in lin.columns.items() if src]
        allowed = ds.sharing_class is SharingClass.unconditional or (
            ds.sharing_class is SharingClass.conditional and purpose in ds.allowed_purposes)
        if allowed:
            assert check_reads(purpose, purpose, {table: columns})
        else:
            with pytest.raises(SharingPolicyError, match=f"{table}\\.{columns[0]} .*{lin.datasets[0]}"):
                check_reads(purpose, purpose, {table: columns})


def test_reference_sources_count_and_sources_narrow_what_is_checked():
    """person.id_number carries the IDs of traffic violations' drivers (placeholders) too: a scenario whose purpose
    may not see violations cannot read it, unless it declares it takes only some sources' contributions."""
    with pytest.raises(SharingPolicyError) as err:
        check_reads("social_security_approval", "social_security_approval", {"person": ["id_number", "name"]})
    refused = {(v.column, v.dataset) for v in err.value.violations}
    assert ("id_number", "traffic_police.violations") in refused
    assert ("id_number", "municipal.urban_cases") in refused
    assert ("name", "traffic_police.motor_vehicles") in refused
    assert ("id_number", "social_security.insured_persons") not in refused
    identity = ["traffic_police.driving_licences", "social_security.insured_persons",
                "transport.practitioner_qualifications"]
    pairs = check_reads("social_security_approval", "social_security_approval", {"person": ["id_number", "name"]},
                        sources={"person": identity})
    assert {d for d, _ in pairs} == set(identity)
    with pytest.raises(SharingPolicyError, match="jishiban.verification_requests is not a source of person"):
        check_reads("social_security_approval", "social_security_approval", {"person": ["name"]},
                    sources={"person": ["jishiban.verification_requests"]})
    with pytest.raises(SharingPolicyError, match="person.division_code: none of the named sources"):
        check_reads("social_security_approval", "social_security_approval", {"person": ["division_code"]},
                    sources={"person": ["social_security.insured_persons"]})


def test_a_not_shared_dataset_is_refused_for_every_purpose():
    cat = with_dataset("traffic_police.video_points", sharing_class="not_shared")
    for purpose in SCENARIOS:
        with pytest.raises(SharingPolicyError) as err:
            check_reads(purpose, purpose, {"video_point": ["device_id", "status"]}, cat=cat)
        assert "video_point.device_id (from dataset traffic_police.video_points, field device_id)" in str(err.value)
        assert "not shared (不予共享)" in str(err.value)
    # the bookkeeping columns reveal the source too
    with pytest.raises(SharingPolicyError, match="video_point.placeholder .*not shared"):
        check_reads("x", "commercial_vehicle_safety", {"video_point": ["placeholder"]}, cat=cat)
    # unchanged, the dataset is unconditionally shared
    assert check_reads("x", "commercial_vehicle_safety", {"video_point": ["device_id"]})


def test_allowed_consumers_of_conditional_data():
    cat = with_dataset("traffic_police.violations", allowed_consumers=["transport_bureau"])
    reads = {"violation": ["plate_no", "points"]}
    purpose = "commercial_vehicle_safety"
    assert check_reads(purpose, purpose, reads, consumer="transport_bureau", cat=cat)
    with pytest.raises(SharingPolicyError, match="consumers \\['transport_bureau'\\] only, not with 'civil_affairs'"):
        check_reads(purpose, purpose, reads, consumer="civil_affairs", cat=cat)
    with pytest.raises(SharingPolicyError, match="names no consumer"):
        check_reads(purpose, purpose, reads, cat=cat)


def test_allowed_consumers_are_validated_in_the_catalogue_models():
    with pytest.raises(ValidationError, match="conditionally shared datasets only"):
        with_dataset("traffic_police.video_points", allowed_consumers=["transport_bureau"])
    with pytest.raises(ValidationError, match="allowed_consumers repeats transport_bureau"):
        with_dataset("traffic_police.violations", allowed_consumers=["transport_bureau", "transport_bureau"])
    with pytest.raises(ValidationError, match="pattern"):
        with_dataset("traffic_police.violations", allowed_consumers=["Transport Bureau"])


def test_unknown_tables_columns_and_bad_declarations_are_named():
    with pytest.raises(SharingPolicyError) as err:
        check_reads("s", "commercial_vehicle_safety", {"violations": ["points"], "violation": ["point", "points"]})
    message = str(err.value)
    assert "violations: unknown base table" in message
    assert "violation.point: unknown column of violation" in message
    assert "violation.points" not in message
    with pytest.raises(SharingPolicyError, match="declares no reads"):
        check_reads("s", "commercial_vehicle_safety", {})
    with pytest.raises(SharingPolicyError, match="must be a list"):
        check_reads("s", "commercial_vehicle_safety", {"violation": "points"})
    with pytest.raises(SharingPolicyError, match="purpose 'Vehicle safety' is not a plain name"):
        check_reads("s", "Vehicle safety", {"violation": ["points"]})


def test_delivered_versions_tables_are_checked_like_their_golden_table():
    assert check_reads("s", "commercial_vehicle_safety", {"violation_source_version": ["points", "_dataset"]}) == [
        ("traffic_police.violations", "points")]
    with pytest.raises(SharingPolicyError, match="violation_source_version._partition .*traffic_police.violations"):
        check_reads("s", "budget_staff_basic_info", {"violation_source_version": ["_partition"]})


def test_one_datasets_delivered_versions_are_read_as_table_at_dataset():
    """``person@traffic_police.driving_licences``: only that dataset's versions, so only its class counts."""
    identity = ["traffic_police.driving_licences", "social_security.insured_persons",
                "transport.practitioner_qualifications"]
    reads = {f"person@{d}": ["id_number", "name"] for d in identity} | {"insured_person": ["id_number", "status"]}
    pairs = check_reads("social_security_approval", "social_security_approval", reads)
    assert ("traffic_police.driving_licences", "name") in pairs
    assert {d for d, _ in pairs} == set(identity)
    with pytest.raises(SharingPolicyError) as err:
        check_reads("budget_staff_basic_info", "budget_staff_basic_info",
                    {"person@traffic_police.violations": ["id_number"]})
    assert "person@traffic_police.violations.id_number (from dataset traffic_police.violations, field driver_id)" in (
        str(err.value))
    with pytest.raises(SharingPolicyError, match="jishiban.verification_requests is not a source of person"):
        check_reads("s", "certificate_verification", {"person@jishiban.verification_requests": ["id_number"]})
    with pytest.raises(SharingPolicyError, match="none of the named sources .*supplies it"):
        check_reads("s", "social_security_approval", {"person@social_security.insured_persons": ["division_code"]})
    with pytest.raises(SharingPolicyError, match="names its source twice"):
        check_reads("s", "social_security_approval", {"person@social_security.insured_persons": ["name"]},
                    sources={"person@social_security.insured_persons": ["social_security.insured_persons"]})
    assert check_reads("s", "social_security_approval",
                       {"person@social_security.insured_persons": ["id_number", "_partition", "_dataset"]}) == [
        ("social_security.insured_persons", "id_number")]


@pytest.mark.parametrize("scenario", [s.name for s in REAL_SCENARIOS])
def test_the_scenarios_pass_for_their_own_purpose_only(scenario):
    """Each of the five real declarations (in the policy's terms, as definition loading checks them) passes for its
    own purpose, and reads purpose-bound data: some other purpose may not read the same."""
    reads, sources = policy_reads(scenario_by_name(scenario))
    assert check_reads(scenario, scenario, reads, sources=sources)
    refused = []
    for other in (s.name for s in REAL_SCENARIOS):
        try:
            check_reads(scenario, other, reads, sources=sources)
        except SharingPolicyError as exc:
            assert f"scenario {scenario} (purpose {other})" in str(exc)
            refused.append(other)
    assert refused and scenario not in refused
