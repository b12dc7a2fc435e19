"""Every dataset of SPEC.md: where and how it is delivered, and what may go wrong in which field."""

from __future__ import annotations

from dataclasses import dataclass

from jilin_tools.sample.problems import Field as F


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # "<department>.<dataset>"
    format: str  # csv | xlsx | xml | jsonl | sqlite
    fields: tuple[F, ...]
    encoding: str = "utf-8"  # csv: gbk or utf-8-sig
    table: str | None = None  # sqlite table
    root_tag: str | None = None  # xml
    row_tag: str | None = None  # xml
    sheet: str | None = None  # xlsx
    json_ints: tuple[str, ...] = ()  # jsonl fields delivered as JSON numbers

    @property
    def department(self) -> str:
        return self.name.split(".")[0]

    @property
    def short(self) -> str:
        return self.name.split(".")[1]

    def relpath(self, yyyymmdd: str) -> str:
        """Path of the day's file under the sources root (the front-end database is one file for all days)."""
        if self.format == "sqlite":
            return f"{self.department}/exchange.sqlite"
        ext = {"csv": "csv", "xlsx": "xlsx", "xml": "xml", "jsonl": "jsonl"}[self.format]
        return f"{self.department}/{self.short}/{self.short}_{yyyymmdd}.{ext}"

    @property
    def utf8(self) -> bool:
        """Whether the file can carry characters outside GBK."""
        return self.encoding != "gbk"


SPECS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec(
            "traffic_police.motor_vehicles", "csv", encoding="gbk",
            fields=(
                F("号牌号码", "plate", required=True), F("号牌种类", "code", required=True, codes="plate_type"),
                F("车辆类型", "code", codes="vehicle_type"), F("使用性质", "code", codes="use"),
                F("所有人证件类型", "code", codes="owner_id_type"), F("所有人证件号码", "party", required=True),
                F("所有人名称", "person_name", required=True), F("初次登记日期", "date", required=True, excel=True),
                F("行政区划", "division", codes="division"), F("机动车状态", "code", codes="vehicle_status"),
            ),
        ),
        DatasetSpec(
            "traffic_police.driving_licences", "jsonl", json_ints=("ljjf",),
            fields=(
                F("sfzmhm", "id", required=True), F("xm", "person_name", required=True), F("xb", "code", codes="sex12"),
                F("csrq", "date"), F("zjcx", "code", codes="licence_classes"), F("cclzrq", "date"), F("yxqs", "date"),
                F("yxqz", "date", future_ok=True, required=True), F("zt", "code", required=True, codes="licence_status"),
                F("ljjf", "amount", absurd=9999), F("djzsxzqh", "division", codes="division"),
            ),
        ),
        DatasetSpec(
            "traffic_police.violations", "csv", encoding="gbk",
            fields=(
                F("违法编号", "text", required=True), F("号牌号码", "plate", required=True), F("号牌种类", "code", codes="plate_type"),
                F("违法时间", "event_time", required=True), F("行政区划", "division", codes="division"),
                F("违法行为代码", "code", codes="offence"), F("罚款金额", "amount", absurd=5_000_000),
                F("当事人证件号码", "id"), F("处理状态", "code", codes="processed"),
            ),
        ),
        DatasetSpec(
            "traffic_police.video_points", "xml", root_tag="VideoPoints", row_tag="Point",
            fields=(
                F("DeviceID", "text", required=True), F("Name", "text", required=True),
                F("Longitude", "lon", pair="Latitude", required=True), F("CivilCode", "division", codes="division"),
                F("Status", "code", codes="video_status"),
            ),
        ),
        DatasetSpec(
            "transport.road_transport_permits", "xlsx", sheet="道路运输证",
            fields=(
                F("道路运输证号", "text", required=True), F("车辆号牌", "plate", required=True), F("号牌种类", "code", codes="plate_type"),
                F("业户名称", "person_name", required=True), F("业户证件号码", "party", required=True),
                F("经营范围", "code", codes="scope"), F("核发日期", "date", excel=True),
                F("有效期至", "date", excel=True, future_ok=True, required=True), F("证件状态", "code", codes="permit_status"),
            ),
        ),
        DatasetSpec(
            "transport.practitioner_qualifications", "jsonl",
            fields=(
                F("certNo", "text", required=True), F("idNumber", "id", required=True), F("name", "person_name"),
                F("qualificationType", "code", codes="qualification_type"), F("issueDate", "date"),
                F("validTo", "date", future_ok=True, required=True), F("status", "code", codes="qualification_status"),
            ),
        ),
        DatasetSpec(
            "municipal.construction_permits", "xml", root_tag="Permits", row_tag="Permit",
            fields=(
                F("PermitNo", "text", required=True), F("ProjectName", "text"), F("BuilderName", "entity_name", required=True),
                F("BuilderUSCC", "uscc", required=True), F("ContractorName", "entity_name"), F("ContractorUSCC", "uscc"),
                F("CivilCode", "division", codes="division"), F("AreaM2", "amount", absurd=5_000_000_000),
                F("ContractPrice", "amount", absurd=10_000_000_000), F("IssueDate", "date", required=True),
                F("Status", "code", codes="construction_status"),
            ),
        ),
        DatasetSpec(
            "municipal.urban_cases", "csv", encoding="utf-8-sig",
            fields=(
                F("case_no", "text", required=True), F("reported_at", "event_time", required=True),
                F("civil_code", "division", codes="division"), F("address", "text", required=True),
                F("longitude", "lon", pair="latitude"), F("status", "code", codes="case_status"),
                F("party_uscc", "uscc"), F("party_id_number", "id"),
            ),
        ),
        DatasetSpec(
            "social_security.employers", "sqlite", table="SI_EMPLOYER",
            fields=(
                F("AAB001", "text", required=True), F("AAB003", "uscc", required=True), F("AAB004", "entity_name"),
                F("AAB019", "code", codes="employer_type"), F("AAB301", "division", codes="division"),
            ),
        ),
        DatasetSpec(
            "social_security.insured_persons", "sqlite", table="SI_INSURED",
            fields=(
                F("AAC002", "id", required=True), F("AAC003", "person_name", required=True), F("AAC004", "code", codes="sex129"),
                F("AAC006", "date_int"), F("AAB001", "text", required=True), F("AAE140", "code", codes="insurance_type"),
                F("AAC008", "code", codes="insured_status"), F("AAE180", "amount", absurd=200_000_000), F("AAE030", "date"),
            ),
        ),
        DatasetSpec(
            "social_security.benefit_payments", "sqlite", table="SI_BENEFIT",
            fields=(
                F("AAC002", "id", required=True), F("AAE140", "code", codes="insurance_type"),
                F("AAE019", "amount", absurd=100_000_000, required=True),
            ),
        ),
        DatasetSpec(
            "social_security.assistance_applications", "jsonl",
            fields=(
                F("applicationId", "text", required=True), F("applicantIdNumber", "id", required=True),
                F("applicantName", "person_name", required=True), F("householdIdNumbers", "id_list"),
                F("civilCode", "division", codes="division"), F("appliedAt", "event_time"),
            ),
        ),
        DatasetSpec(
            "jishiban.verification_requests", "jsonl",
            fields=(
                F("requestId", "text", required=True), F("certType", "code", codes="cert_type"), F("certNo", "text", required=True),
                F("holderId", "party"), F("holderName", "person_name"), F("requestedAt", "event_time"),
            ),
        ),
    )
}

SQLITE_TYPES: dict[str, dict[str, str]] = {
    "SI_EMPLOYER": {"AAB001": "TEXT", "AAB003": "TEXT", "AAB004": "TEXT", "AAB019": "TEXT", "AAB301": "TEXT", "AAE036": "TEXT"},
    "SI_INSURED": {
        "AAC001": "TEXT", "AAC002": "TEXT", "AAC003": "TEXT", "AAC004": "TEXT", "AAC006": "INTEGER", "AAB001": "TEXT",
        "AAE140": "TEXT", "AAC008": "TEXT", "AAE180": "NUMERIC", "AAE030": "TEXT", "AAE036": "TEXT",
    },
    "SI_BENEFIT": {"AAC002": "TEXT", "AAE140": "TEXT", "AAE002": "TEXT", "AAE019": "NUMERIC", "AAE036": "TEXT"},
}

# File-level problems: (problem, dataset, preferred day index); on shorter periods the day is the last one.
FILE_PROBLEMS = (
    ("file_header_only", "municipal.urban_cases", 1),
    ("file_truncated", "traffic_police.violations", 2),
    ("file_wrong_encoding", "traffic_police.motor_vehicles", 3),
    ("file_missing", "transport.road_transport_permits", 4),
)
# With a single day the initial state cannot go missing: an event dataset does instead.
FILE_MISSING_SINGLE_DAY = "jishiban.verification_requests"
