"""What SPEC.md says, written down again for the tests (never taken from the generator), and independent
readers of every delivery format (csv, openpyxl, xml.etree, json, sqlite3)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl


@dataclass(frozen=True)
class DS:
    name: str
    fmt: str  # csv-gbk | csv-utf8bom | xlsx | xml | jsonl | sqlite
    columns: tuple[str, ...]
    table: str | None = None
    keys: tuple[str, ...] = ()

    def path(self, root: Path, day: date) -> Path:
        dept, short = self.name.split(".")
        if self.fmt == "sqlite":
            return root / dept / "exchange.sqlite"
        ext = {"csv-gbk": "csv", "csv-utf8bom": "csv", "xlsx": "xlsx", "xml": "xml", "jsonl": "jsonl"}[self.fmt]
        return root / dept / short / f"{short}_{day:%Y%m%d}.{ext}"


SPEC = {
    d.name: d
    for d in (
        DS("traffic_police.motor_vehicles", "csv-gbk",
           ("号牌号码", "号牌种类", "车辆类型", "使用性质", "所有人证件类型", "所有人证件号码", "所有人名称", "初次登记日期", "行政区划", "机动车状态", "更新时间")),
        DS("traffic_police.driving_licences", "jsonl",
           ("sfzmhm", "xm", "xb", "csrq", "zjcx", "cclzrq", "yxqs", "yxqz", "zt", "ljjf", "djzsxzqh", "gxsj")),
        DS("traffic_police.violations", "csv-gbk",
           ("违法编号", "号牌号码", "号牌种类", "违法时间", "违法地点", "行政区划", "违法行为代码", "罚款金额", "违法记分", "当事人证件号码", "处理状态")),
        DS("traffic_police.video_points", "xml",
           ("DeviceID", "Name", "Longitude", "Latitude", "CivilCode", "Owner", "Status", "UpdateTime")),
        DS("transport.road_transport_permits", "xlsx",
           ("道路运输证号", "车辆号牌", "号牌种类", "业户名称", "业户证件号码", "经营范围", "核发日期", "有效期至", "证件状态", "更新时间")),
        DS("transport.practitioner_qualifications", "jsonl",
           ("certNo", "idNumber", "name", "qualificationType", "issueDate", "validTo", "status", "updatedAt")),
        DS("municipal.construction_permits", "xml",
           ("PermitNo", "ProjectName", "BuilderName", "BuilderUSCC", "ContractorName", "ContractorUSCC", "CivilCode", "Address",
            "AreaM2", "ContractPrice", "IssueDate", "Status", "UpdateTime")),
        DS("municipal.urban_cases", "csv-utf8bom",
           ("case_no", "category", "reported_at", "civil_code", "address", "longitude", "latitude", "status", "closed_at",
            "party_uscc", "party_id_number")),
        DS("social_security.employers", "sqlite", ("AAB001", "AAB003", "AAB004", "AAB019", "AAB301", "AAE036"),
           table="SI_EMPLOYER", keys=("AAB001",)),
        DS("social_security.insured_persons", "sqlite",
           ("AAC001", "AAC002", "AAC003", "AAC004", "AAC006", "AAB001", "AAE140", "AAC008", "AAE180", "AAE030", "AAE036"),
           table="SI_INSURED", keys=("AAC002", "AAE140", "AAB001")),
        DS("social_security.benefit_payments", "sqlite", ("AAC002", "AAE140", "AAE002", "AAE019", "AAE036"),
           table="SI_BENEFIT", keys=("AAC002", "AAE140", "AAE002")),
        DS("social_security.assistance_applications", "jsonl",
           ("applicationId", "applicantIdNumber", "applicantName", "householdIdNumbers", "civilCode", "appliedAt", "updatedAt")),
        DS("jishiban.verification_requests", "jsonl",
           ("requestId", "certType", "certNo", "holderId", "holderName", "requestedAt")),
    )
}

# Code lists of SPEC.md
CODES = {
    ("traffic_police.motor_vehicles", "号牌种类"): {"01", "02", "07", "51", "52"},
    ("traffic_police.motor_vehicles", "使用性质"): set("ABCDEFH"),
    ("traffic_police.motor_vehicles", "所有人证件类型"): {"A", "B"},
    ("traffic_police.motor_vehicles", "机动车状态"): {"A", "B", "E", "G"},
    ("traffic_police.driving_licences", "xb"): {"1", "2"},
    ("traffic_police.driving_licences", "zt"): {"A", "B", "E", "G"},
    ("traffic_police.violations", "号牌种类"): {"01", "02", "07", "51", "52"},
    ("traffic_police.violations", "处理状态"): {"0", "1"},
    ("traffic_police.video_points", "Status"): {"ON", "OFF"},
    ("transport.road_transport_permits", "号牌种类"): {"01", "02", "07", "51", "52"},
    ("transport.road_transport_permits", "经营范围"): {"道路旅客运输", "道路普通货物运输", "危险货物运输", "出租客运"},
    ("transport.road_transport_permits", "证件状态"): {"营运", "注销", "吊销"},
    ("transport.practitioner_qualifications", "qualificationType"): {"passenger_driver", "freight_driver", "taxi_driver",
                                                                      "dangerous_goods_driver"},
    ("transport.practitioner_qualifications", "status"): {"valid", "revoked"},
    ("municipal.construction_permits", "Status"): {"valid", "suspended", "revoked", "completed"},
    ("municipal.urban_cases", "status"): {"open", "closed"},
    ("social_security.employers", "AAB019"): {"10", "30", "50", "70", "90"},
    ("social_security.insured_persons", "AAC004"): {"1", "2", "9"},
    ("social_security.insured_persons", "AAE140"): {"110", "120", "210", "310", "410"},
    ("social_security.insured_persons", "AAC008"): {"1", "2", "4"},
    ("social_security.benefit_payments", "AAE140"): {"110", "120", "210", "310", "410"},
    ("jishiban.verification_requests", "certType"): {"driving_licence", "road_transport_permit", "practitioner_qualification",
                                                     "construction_permit"},
}
PATTERNS = {  # code-like fields without a closed list in SPEC.md
    ("traffic_police.motor_vehicles", "车辆类型"): r"[A-Z][0-9A-Z][0-9]",
    ("traffic_police.driving_licences", "zjcx"): r"(A1|A2|A3|B1|B2|C1|C2|C3|C4|C5|C6|D|E|F|M|N|P)+",
    ("traffic_police.violations", "违法行为代码"): r"[0-9]{4,5}",
}
ID_FIELDS = {
    ("traffic_police.driving_licences", "sfzmhm"), ("traffic_police.violations", "当事人证件号码"),
    ("transport.practitioner_qualifications", "idNumber"), ("municipal.urban_cases", "party_id_number"),
    ("social_security.insured_persons", "AAC002"), ("social_security.benefit_payments", "AAC002"),
    ("social_security.assistance_applications", "applicantIdNumber"),
}
PARTY_FIELDS = {  # resident ID or USCC
    ("traffic_police.motor_vehicles", "所有人证件号码"), ("transport.road_transport_permits", "业户证件号码"),
    ("jishiban.verification_requests", "holderId"),
}
USCC_FIELDS = {
    ("municipal.construction_permits", "BuilderUSCC"), ("municipal.construction_permits", "ContractorUSCC"),
    ("municipal.urban_cases", "party_uscc"), ("social_security.employers", "AAB003"),
}
NAME_FIELDS = {
    ("traffic_police.motor_vehicles", "所有人名称"), ("traffic_police.driving_licences", "xm"),
    ("transport.road_transport_permits", "业户名称"), ("transport.practitioner_qualifications", "name"),
    ("municipal.construction_permits", "BuilderName"), ("municipal.construction_permits", "ContractorName"),
    ("social_security.employers", "AAB004"), ("social_security.insured_persons", "AAC003"),
    ("social_security.assistance_applications", "applicantName"), ("jishiban.verification_requests", "holderName"),
}
DIVISION_FIELDS = {
    ("traffic_police.motor_vehicles", "行政区划"), ("traffic_police.driving_licences", "djzsxzqh"), ("traffic_police.violations", "行政区划"),
    ("traffic_police.video_points", "CivilCode"), ("municipal.construction_permits", "CivilCode"), ("municipal.urban_cases", "civil_code"),
    ("social_security.employers", "AAB301"), ("social_security.assistance_applications", "civilCode"),
}
PLATE_FIELDS = {("traffic_police.motor_vehicles", "号牌号码"), ("traffic_police.violations", "号牌号码"),
                ("transport.road_transport_permits", "车辆号牌")}
DATE_FIELDS = {  # dates that cannot lie after the delivery day
    ("traffic_police.motor_vehicles", "初次登记日期"), ("traffic_police.driving_licences", "csrq"),
    ("traffic_police.driving_licences", "cclzrq"), ("traffic_police.driving_licences", "yxqs"),
    ("transport.road_transport_permits", "核发日期"), ("transport.practitioner_qualifications", "issueDate"),
    ("municipal.construction_permits", "IssueDate"), ("social_security.insured_persons", "AAE030"),
}
VALIDITY_END_FIELDS = {("traffic_police.driving_licences", "yxqz"), ("transport.road_transport_permits", "有效期至"),
                       ("transport.practitioner_qualifications", "validTo")}
EVENT_TIME_FIELDS = {("traffic_police.violations", "违法时间"), ("municipal.urban_cases", "reported_at"),
                     ("social_security.assistance_applications", "appliedAt"), ("jishiban.verification_requests", "requestedAt")}
UPDATE_TIME_FIELDS = {("traffic_police.motor_vehicles", "更新时间"), ("traffic_police.driving_licences", "gxsj"),
                      ("traffic_police.video_points", "UpdateTime"), ("transport.road_transport_permits", "更新时间"),
                      ("transport.practitioner_qualifications", "updatedAt"), ("municipal.construction_permits", "UpdateTime"),
                      ("social_security.employers", "AAE036"), ("social_security.insured_persons", "AAE036"),
                      ("social_security.benefit_payments", "AAE036"), ("social_security.assistance_applications", "updatedAt")}
COORD_FIELDS = {("traffic_police.video_points", "Longitude"): "Latitude", ("municipal.urban_cases", "longitude"): "latitude"}
AMOUNT_MAX = {  # plausible maxima; an "absurd" amount is far beyond
    ("traffic_police.violations", "罚款金额"): 20_000, ("traffic_police.driving_licences", "ljjf"): 36,
    ("municipal.construction_permits", "AreaM2"): 5_000_000, ("municipal.construction_permits", "ContractPrice"): 10_000_000,
    ("social_security.insured_persons", "AAE180"): 200_000, ("social_security.benefit_payments", "AAE019"): 100_000,
}
# SPEC §7: what can be repaired without guessing
REPAIRABLE = {
    "id_legacy_15", "id_lowercase_x", "id_fullwidth_digits", "id_spaces_inside", "id_retired_division_code", "uscc_lowercase",
    "date_slash", "date_compact", "date_chinese", "date_excel_serial", "plate_spaces", "plate_lowercase", "name_outer_spaces",
    "name_fullwidth_space", "name_dot_variant", "division_code_retired", "duplicate_in_file", "redelivery", "file_wrong_encoding",
}
UNREPAIRABLE = {
    "id_wrong_check_digit", "id_birth_date_nonexistent", "id_birth_date_future", "uscc_wrong_check_char", "uscc_forbidden_letter",
    "date_nonexistent", "date_future", "plate_letter_io", "coord_swapped", "coord_outside_jilin", "code_out_of_list",
    "amount_negative", "amount_absurd", "required_empty", "row_truncated", "file_header_only", "file_truncated", "file_missing",
}
FILE_PROBLEMS = {"file_header_only", "file_truncated", "file_wrong_encoding", "file_missing"}
# Recently retired division codes and their successors (GB/T 2260)
RECENTLY_RETIRED = {"220381": "220184", "220181": "220113", "220724": "220781", "220625": "220605"}
JILIN_BBOX = (121.6, 40.8, 131.4, 46.4)


# ----------------------------------------------------------------------------------------------- readers


def read_rows(root: Path, ds: DS, day: date, utf8: bool = False) -> list[dict] | None:
    """The day's delivered rows as dicts (raw values: str, int, float, list, None), in delivery order; None
    when there is no file for the day. A cut-off CSV row comes back with the fields it has. ``utf8``: read a
    GBK file as UTF-8 (the manifest says it was delivered in the wrong encoding)."""
    path = ds.path(root, day)
    if ds.fmt == "sqlite":
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            cols = ", ".join(f'"{c}"' for c in ds.columns)
            keys = ", ".join(f'"{k}"' for k in ds.keys)
            cur = conn.execute(f'SELECT {cols} FROM "{ds.table}" WHERE substr("AAE036", 1, 10) = ? ORDER BY {keys}, rowid',
                               (day.isoformat(),))
            return [dict(zip(ds.columns, r, strict=True)) for r in cur.fetchall()]
        finally:
            conn.close()
    if not path.exists():
        return None
    if ds.fmt in ("csv-gbk", "csv-utf8bom"):
        text = path.read_bytes().decode("gbk" if ds.fmt == "csv-gbk" and not utf8 else "utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        assert tuple(header) == ds.columns, header
        return [dict(zip(ds.columns, [v if v != "" else None for v in r], strict=False)) for r in reader]
    if ds.fmt == "xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        ws = wb["道路运输证"]
        rows = list(ws.iter_rows(values_only=True))
        wb.close()
        assert tuple(rows[0]) == ds.columns, rows[0]
        return [dict(zip(ds.columns, r, strict=True)) for r in rows[1:]]
    if ds.fmt == "xml":
        root_el = ET.parse(path).getroot()
        out = []
        for el in root_el:
            assert [c.tag for c in el] == list(ds.columns), [c.tag for c in el]
            out.append({c.tag: c.text for c in el})
        return out
    if ds.fmt == "jsonl":
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            assert tuple(obj) == ds.columns, tuple(obj)
            out.append(obj)
        return out
    raise AssertionError(ds.fmt)


def as_text(ds: DS, col: str, v) -> str | None:
    """A delivered value as text comparable with the clean ground truth's form (None for empty)."""
    if v is None or v == "":
        return None
    if isinstance(v, list):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if ds.name == "social_security.insured_persons" and col == "AAC006":
        s = str(v)
        return f"{s[:4]}-{s[4:6]}-{s[6:]}" if len(s) == 8 else s
    return str(v)


def jilin_codes() -> dict[str, bool]:
    """Every 22xxxx code of stdnum's GB/T 2260 data -> whether it is still in force (a period without end)."""
    from importlib import resources

    text = (resources.files("stdnum") / "cn" / "loc.dat").read_text(encoding="utf-8")
    out, inside = {}, False
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            inside = line.startswith("22 ")
        elif inside and line.startswith("  "):
            code, _, rest = line.strip().partition(" ")
            periods = re.findall(r"\[(\d*)-(\d*)\]", rest)
            out["22" + code] = not periods or any(end == "" for _, end in periods)
    return out
