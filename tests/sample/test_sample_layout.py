"""The sample has every dataset of SPEC.md in its exact path and format, read with independent means."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
import zipfile

import openpyxl
import pytest
from sample_spec import SPEC

FILE_PATTERNS = [
    re.compile(rf"{dept}/{short}/{short}_2025060[2-8]\.{ext}")
    for dept, short, ext in (
        ("traffic_police", "motor_vehicles", "csv"), ("traffic_police", "violations", "csv"),
        ("traffic_police", "video_points", "xml"), ("traffic_police", "driving_licences", "jsonl"),
        ("transport", "road_transport_permits", "xlsx"), ("transport", "practitioner_qualifications", "jsonl"),
        ("municipal", "construction_permits", "xml"), ("municipal", "urban_cases", "csv"),
        ("social_security", "assistance_applications", "jsonl"), ("jishiban", "verification_requests", "jsonl"),
    )
]


def test_every_file_is_a_spec_delivery_or_ground_truth(sample):
    files = [p.relative_to(sample.root).as_posix() for p in sample.root.rglob("*") if p.is_file()]
    strays = [f for f in files if not f.startswith("_ground_truth/") and f != "social_security/exchange.sqlite"
              and not any(p.fullmatch(f) for p in FILE_PATTERNS)]
    assert not strays
    assert "social_security/exchange.sqlite" in files
    # every dataset delivers on every day, but for the one documented missing day
    missing = [(name, day) for (name, day), rows in sample.rows.items() if rows is None]
    assert missing == [("transport.road_transport_permits", "2025-06-06")]


@pytest.mark.parametrize("name", [n for n, ds in SPEC.items() if ds.fmt == "csv-gbk"])
def test_gbk_csv_files(sample, name):
    ds = SPEC[name]
    for day in sample.days:
        path = ds.path(sample.root, day)
        if name == "traffic_police.motor_vehicles" and day.isoformat() == "2025-06-05":
            continue  # the file delivered in the wrong encoding (see test_problems)
        text = path.read_bytes().decode("gbk")
        assert text.split("\r\n", 1)[0] == ",".join(ds.columns)
        assert not text.startswith("\ufeff")


def test_urban_cases_are_utf8_with_bom(sample):
    ds = SPEC["municipal.urban_cases"]
    for day in sample.days:
        raw = ds.path(sample.root, day).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        assert raw[3:].decode("utf-8").split("\r\n", 1)[0] == ",".join(ds.columns)


def test_xlsx_sheet_and_header(sample):
    ds = SPEC["transport.road_transport_permits"]
    seen_number_cells = 0
    for day in sample.days:
        path = ds.path(sample.root, day)
        if not path.exists():
            continue
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["道路运输证"]
        ws = wb["道路运输证"]
        assert [c.value for c in ws[1]] == list(ds.columns)
        for row in ws.iter_rows(min_row=2):
            assert row[0].value is None or row[0].data_type == "s"  # permit numbers are text (or missing)
            assert row[2].data_type in ("s", "n") and (row[2].value is None or isinstance(row[2].value, (str, int)))
            seen_number_cells += sum(1 for c in (row[6], row[7]) if c.data_type == "n" and c.value is not None)
        # pinned zip entry times and document timestamps: no wall clock
        with zipfile.ZipFile(path) as z:
            assert {i.date_time for i in z.infolist()} == {(2025, 1, 1, 0, 0, 0)}
            core = z.read("docProps/core.xml").decode()
            assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core) == ["2025-01-01T00:00:00Z"] * 2
    assert seen_number_cells > 0  # Excel serial dates are numeric cells


def test_xml_structure(sample):
    for name, root_tag, row_tag in (("traffic_police.video_points", "VideoPoints", "Point"),
                                    ("municipal.construction_permits", "Permits", "Permit")):
        ds = SPEC[name]
        for day in sample.days:
            raw = ds.path(sample.root, day).read_bytes()
            assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
            root = ET.fromstring(raw)
            assert root.tag == root_tag
            assert len(root) > 0 and all(el.tag == row_tag and [c.tag for c in el] == list(ds.columns) for el in root)
            if name == "municipal.construction_permits":
                assert {el.find("ContractPrice").get("unit") for el in root} == {"万元"}


def test_jsonl_objects(sample):
    for name in ("traffic_police.driving_licences", "transport.practitioner_qualifications",
                 "social_security.assistance_applications", "jishiban.verification_requests"):
        for day in sample.days:
            rows = sample.rows[(name, day.isoformat())]
            assert rows, (name, day)
            if name == "social_security.assistance_applications":
                assert all(isinstance(r["householdIdNumbers"], list) and 1 <= len(r["householdIdNumbers"]) <= 5 for r in rows)
            if name == "traffic_police.driving_licences":
                assert all(r["ljjf"] is None or isinstance(r["ljjf"], int) for r in rows)


def test_front_end_database(sample):
    path = sample.root / "social_security" / "exchange.sqlite"
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"SI_EMPLOYER", "SI_INSURED", "SI_BENEFIT"}
        for name in ("social_security.employers", "social_security.insured_persons", "social_security.benefit_payments"):
            ds = SPEC[name]
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{ds.table}")')]
            assert cols == list(ds.columns)
            bad = conn.execute(f"""SELECT count(*) FROM "{ds.table}" WHERE "AAE036" NOT GLOB
                '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'""").fetchone()[0]
            assert bad == 0
            days = {r[0] for r in conn.execute(f'SELECT DISTINCT substr("AAE036", 1, 10) FROM "{ds.table}"')}
            assert days <= {d.isoformat() for d in sample.days}
        types = {r[0] for r in conn.execute('SELECT DISTINCT typeof("AAC006") FROM SI_INSURED')}
        assert types <= {"integer", "null"} and "integer" in types
        birth = conn.execute('SELECT "AAC006" FROM SI_INSURED WHERE typeof("AAC006") = \'integer\' LIMIT 1').fetchone()[0]
        assert 19000101 <= birth <= 20991231
    finally:
        conn.close()
