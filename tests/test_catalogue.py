"""The catalogue covers the spec exactly, and a broken catalogue fails at load naming file, entry and field."""

from pathlib import Path

import pytest
import yaml

from jilin_pipelines.catalogue import CatalogueError, catalogue, load_catalogue
from jilin_pipelines.catalogue.loader import CATALOGUE_DIR

# Written by hand from docs/sources-SPEC.md: every dataset and every source field it names.
SPEC_FIELDS = {
    "traffic_police.motor_vehicles": "号牌号码 号牌种类 车辆类型 使用性质 所有人证件类型 所有人证件号码 所有人名称 初次登记日期 行政区划 机动车状态 更新时间",
    "traffic_police.driving_licences": "sfzmhm xm xb csrq zjcx cclzrq yxqs yxqz zt ljjf djzsxzqh gxsj",
    "traffic_police.violations": "违法编号 号牌号码 号牌种类 违法时间 违法地点 行政区划 违法行为代码 罚款金额 违法记分 当事人证件号码 处理状态",
    "traffic_police.video_points": "DeviceID Name Longitude Latitude CivilCode Owner Status UpdateTime",
    "transport.road_transport_permits": "道路运输证号 车辆号牌 号牌种类 业户名称 业户证件号码 经营范围 核发日期 有效期至 证件状态 更新时间",
    "transport.practitioner_qualifications": "certNo idNumber name qualificationType issueDate validTo status updatedAt",
    "municipal.construction_permits": "PermitNo ProjectName BuilderName BuilderUSCC ContractorName ContractorUSCC CivilCode Address AreaM2 ContractPrice ContractPrice@unit IssueDate Status UpdateTime",
    "municipal.urban_cases": "case_no category reported_at civil_code address longitude latitude status closed_at party_uscc party_id_number",
    "social_security.employers": "AAB001 AAB003 AAB004 AAB019 AAB301 AAE036",
    "social_security.insured_persons": "AAC001 AAC002 AAC003 AAC004 AAC006 AAB001 AAE140 AAC008 AAE180 AAE030 AAE036",
    "social_security.benefit_payments": "AAC002 AAE140 AAE002 AAE019 AAE036",
    "social_security.assistance_applications": "applicationId applicantIdNumber applicantName householdIdNumbers civilCode appliedAt updatedAt",
    "jishiban.verification_requests": "requestId certType certNo holderId holderName requestedAt",
}

SPEC_FORMATS = {
    "traffic_police.motor_vehicles": "csv",
    "traffic_police.driving_licences": "api",
    "traffic_police.violations": "csv",
    "traffic_police.video_points": "xml",
    "transport.road_transport_permits": "xlsx",
    "transport.practitioner_qualifications": "api",
    "municipal.construction_permits": "xml",
    "municipal.urban_cases": "csv",
    "social_security.employers": "frontdb",
    "social_security.insured_persons": "frontdb",
    "social_security.benefit_payments": "frontdb",
    "social_security.assistance_applications": "api",
    "jishiban.verification_requests": "jsonl",
}


def test_every_dataset_and_field_of_the_spec_is_catalogued():
    cat = catalogue()
    assert {e.id for e in cat.entries} == set(SPEC_FIELDS)
    for entry in cat.entries:
        assert entry.dataset.source_columns == SPEC_FIELDS[entry.id].split(), entry.id
        assert entry.dataset.format.kind == SPEC_FORMATS[entry.id], entry.id


def test_personal_fields_are_marked():
    cat = catalogue()
    for dataset_id, source in [
        ("traffic_police.driving_licences", "sfzmhm"),
        ("traffic_police.driving_licences", "xm"),
        ("social_security.insured_persons", "AAC002"),
        ("social_security.assistance_applications", "householdIdNumbers"),
        ("jishiban.verification_requests", "holderId"),
    ]:
        fields = {f.source: f for f in cat.entry(dataset_id).dataset.fields}
        assert fields[source].personal, (dataset_id, source)


def test_catalogue_metadata_is_complete():
    for entry in catalogue().entries:
        ds = entry.dataset
        assert ds.resource_code and ds.title and ds.summary and ds.legal_basis
        assert ds.key, entry.id


def _broken_copy(tmp_path: Path, mutate) -> Path:
    for f in CATALOGUE_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    target = tmp_path / "traffic_police.yaml"
    doc = yaml.safe_load(target.read_text(encoding="utf-8"))
    mutate(doc)
    target.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_a_key_that_is_not_a_field_names_file_and_dataset(tmp_path):
    def mutate(doc):
        doc["datasets"][2]["key"] = ["no_such_field"]

    with pytest.raises(CatalogueError) as err:
        load_catalogue(_broken_copy(tmp_path, mutate))
    message = str(err.value)
    assert "traffic_police.yaml" in message and "dataset violations" in message and "no_such_field" in message


def test_a_code_field_without_codes_names_the_field(tmp_path):
    def mutate(doc):
        del doc["datasets"][0]["fields"][1]["codes"]

    with pytest.raises(CatalogueError) as err:
        load_catalogue(_broken_copy(tmp_path, mutate))
    message = str(err.value)
    assert "dataset motor_vehicles" in message and "plate_type" in message and "codes" in message


def test_an_unknown_standard_names_the_field(tmp_path):
    def mutate(doc):
        doc["datasets"][1]["fields"][0]["standard"] = "gb_9999"

    with pytest.raises(CatalogueError) as err:
        load_catalogue(_broken_copy(tmp_path, mutate))
    message = str(err.value)
    assert "dataset driving_licences" in message and "field id_number (sfzmhm)" in message and "standard" in message


def test_invalid_yaml_names_the_file(tmp_path):
    _broken_copy(tmp_path, lambda doc: None)
    (tmp_path / "municipal.yaml").write_text("department: municipal\ndatasets: [\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="municipal.yaml: not valid YAML"):
        load_catalogue(tmp_path)
