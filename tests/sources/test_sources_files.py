"""XLSX, XML and JSON Lines deliveries with the reading problems of SPEC §7."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

import openpyxl
import pytest
from sources_testkit import DAY, check_invariants, data_rows

from jilin_pipelines.sources import DeliveryError, collector, read_jsonl, read_xlsx, read_xml

# ------------------------------------------------------------------------------------------------
# XLSX

PERMIT_SHEET = "道路运输证"
PERMIT_COLUMNS = ["道路运输证号", "车辆号牌", "号牌种类", "业户名称", "业户证件号码", "经营范围", "核发日期",
                  "有效期至", "证件状态", "更新时间"]


def permit_workbook(path, rows, *, sheet=PERMIT_SHEET, header=PERMIT_COLUMNS):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.create_sheet("说明").append(["本表为每日增量"])
    wb.save(path)
    return path


def read_permits(path, **kw):
    d = read_xlsx(path, dataset="transport.road_transport_permits", day=DAY, sheet=kw.pop("sheet", PERMIT_SHEET),
                  columns=kw.pop("columns", PERMIT_COLUMNS))
    check_invariants(d)
    return d


def test_xlsx_cells_become_text(tmp_path):
    rows = [
        ["220102000001", "吉A12345", "01", "长春客运有限公司", "91220101MA0000000X", "道路旅客运输",
         date(2023, 5, 2), date(2027, 5, 1), "营运", datetime(2025, 6, 1, 10, 11, 12)],
        # numbers where text was meant, an Excel serial in a date column, other date formats as text
        [220102000002, "吉B 1234O", 2, " 个体户 ", "220102198001011234", "道路普通货物运输",
         45809, "2027/5/1", "营运", datetime(2025, 6, 1, 0, 0, 0)],
        ["220102000002", "吉B12340", "02", "个体户", "220102198001011234", "道路普通货物运输",
         45809.0, "2027年5月1日", "注销", 45809.5],
    ]
    path = permit_workbook(tmp_path / "road_transport_permits_20250601.xlsx", rows)

    d = read_permits(path)

    payload = path.read_bytes()
    assert d.location == str(path) and d.sha256 == hashlib.sha256(payload).hexdigest()
    assert d.size_bytes == len(payload)
    got = data_rows(d)
    assert d.table.column("_source_row").to_pylist() == [1, 2, 3]
    assert got[0]["核发日期"] == "2023-05-02" and got[0]["有效期至"] == "2027-05-01"
    assert got[0]["更新时间"] == "2025-06-01 10:11:12"
    assert got[1]["道路运输证号"] == "220102000002" and got[1]["号牌种类"] == "2"
    assert got[1]["核发日期"] == "45809"  # the serial stays its number: repairing is standardisation's job
    assert got[1]["业户名称"] == " 个体户 " and got[1]["有效期至"] == "2027/5/1"
    assert got[1]["更新时间"] == "2025-06-01 00:00:00"  # a date-time format shows the time
    assert got[2]["核发日期"] == "45809" and got[2]["更新时间"] == "45809.5"
    assert d.warnings == []


def test_xlsx_number_rendering():
    from jilin_pipelines.sources.xlsx_reader import cell_text

    assert cell_text(2.0) == "2" and cell_text(0.1 + 0.2) == "0.3" and cell_text(12.5) == "12.5"
    assert cell_text(1.2345678901234568e17) == "123456789012345680"
    assert cell_text(1e-7) == "0.0000001" and cell_text(True) == "TRUE" and cell_text(None) is None


def test_xlsx_missing_sheet_names_file_and_sheet(tmp_path):
    path = permit_workbook(tmp_path / "p.xlsx", [], sheet="Sheet1")
    with pytest.raises(DeliveryError) as err:
        read_permits(path)
    assert str(path) in str(err.value) and PERMIT_SHEET in str(err.value) and "Sheet1" in str(err.value)


def test_xlsx_cut_off_file_is_refused_clearly(tmp_path):
    full = permit_workbook(tmp_path / "p.xlsx", [["1"] * 10]).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DeliveryError, match="not a readable XLSX") as err:
        read_permits(path)
    assert str(path) in str(err.value)


def test_xlsx_header_only_and_missing_file(tmp_path):
    d = read_permits(permit_workbook(tmp_path / "p.xlsx", []))
    assert d.delivered and d.delivered_rows == 0
    assert any("empty but for its header" in str(w) for w in d.warnings)
    missing = read_permits(tmp_path / "road_transport_permits_20250602.xlsx")
    assert missing.location is None and "no delivery" in str(missing.warnings[0])


def test_xlsx_blank_rows_and_values_beyond_the_header(tmp_path):
    row = ["220102000001", "吉A12345", "01", "甲", "91220101MA0000000X", "道路旅客运输", "2023-05-02",
           "2027-05-01", "营运", "2025-06-01 10:11:12"]
    path = permit_workbook(tmp_path / "p.xlsx", [row, [None] * 10, row + ["多余"], row, [], []])
    d = read_permits(path)
    t = d.table.to_pylist()
    assert [r["_source_row"] for r in t] == [1, 3, 4]
    assert t[1]["_error"] == "values in columns [11], which have no header"
    assert json.loads(t[1]["_raw"]) == row + ["多余"]
    assert any("row 3" in str(w) for w in d.warnings)
    assert any("empty rows between data rows skipped (rows 2)" in str(w) for w in d.warnings)


def test_xlsx_header_mismatch(tmp_path):
    path = permit_workbook(tmp_path / "p.xlsx", [], header=PERMIT_COLUMNS[:-1] + ["更新日期"])
    with pytest.raises(DeliveryError) as err:
        read_permits(path)
    assert "更新时间" in str(err.value) and "更新日期" in str(err.value)


def test_an_xlsx_without_its_header_row_is_refused_without_quoting_the_data_row(tmp_path):
    row = ["DY220100000001", "吉A12345", "01", "黄芬芬", "220102199003071234", "道路普通货物运输", "2015-01-01",
           "2027-01-01", "营运", "2025-06-01 10:00:00"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = PERMIT_SHEET
    ws.append(row)  # the first row is already a data row
    path = tmp_path / "p.xlsx"
    wb.save(path)
    with pytest.raises(DeliveryError) as err:
        read_permits(path)
    message = str(err.value)
    assert "the first row is not the header" in message and "p.xlsx" in message
    assert "220102199003071234" not in message and "黄芬芬" not in message and "吉A12345" not in message


# ------------------------------------------------------------------------------------------------
# XML

PERMIT_XML_COLUMNS = ["PermitNo", "ProjectName", "BuilderName", "BuilderUSCC", "ContractorName", "ContractorUSCC",
                      "CivilCode", "Address", "AreaM2", "ContractPrice", "IssueDate", "Status", "UpdateTime"]


def permit_xml(i: int, **over) -> str:
    v = {
        "PermitNo": f"22010220250601{i:04d}", "ProjectName": f"幸福小区{i}号楼", "BuilderName": "长春建设有限公司",
        "BuilderUSCC": "91220101MA0000000X", "ContractorName": "吉林建工", "ContractorUSCC": "91220000123456789X",
        "CivilCode": "220102", "Address": "长春市南关区", "AreaM2": "12000.5", "ContractPrice": "3500",
        "IssueDate": "2025-06-01", "Status": "valid", "UpdateTime": "2025-06-01 10:00:00",
    } | over
    fields = "".join(
        f'<ContractPrice unit="万元">{v[k]}</ContractPrice>' if k == "ContractPrice" else f"<{k}>{v[k]}</{k}>"
        for k in PERMIT_XML_COLUMNS if v[k] is not None
    )
    return f"  <Permit>{fields}</Permit>\n"


def permits_doc(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Permits>\n{body}</Permits>\n'


def read_permit_xml(path):
    d = read_xml(path, dataset="municipal.construction_permits", day=DAY, record_tag="Permit",
                 columns=PERMIT_XML_COLUMNS)
    check_invariants(d)
    return d


def test_xml_records_with_attributes(tmp_path):
    body = permit_xml(1) + permit_xml(2, ProjectName=" A &amp; B ", Status="", AreaM2=None) + permit_xml(1)
    path = tmp_path / "construction_permits_20250601.xml"
    path.write_bytes(permits_doc(body).encode("utf-8"))

    d = read_permit_xml(path)

    assert d.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and d.location == str(path)
    assert d.table.column_names[: len(PERMIT_XML_COLUMNS) + 1] == PERMIT_XML_COLUMNS + ["ContractPrice@unit"]
    got = data_rows(d)
    assert d.table.column("_source_row").to_pylist() == [1, 2, 3]
    assert got[0]["ContractPrice"] == "3500" and got[0]["ContractPrice@unit"] == "万元"
    assert got[1]["ProjectName"] == " A & B " and got[1]["Status"] == "" and got[1]["AreaM2"] is None
    assert got[2] == got[0]  # duplicate kept as delivered
    assert d.warnings == []


def test_xml_cut_off_mid_element(tmp_path):
    doc = permits_doc(permit_xml(1) + permit_xml(2) + permit_xml(3)).encode("utf-8")
    cut = doc[: doc.index(b"<Permit>", doc.index(b"<Permit>", doc.index(b"<Permit>") + 1) + 1) + 60]
    path = tmp_path / "p.xml"
    path.write_bytes(cut)

    d = read_permit_xml(path)

    assert d.delivered_rows == 3 and d.landed_rows == 2 and d.unparseable_rows == 1
    last = d.table.to_pylist()[-1]
    assert last["_source_row"] == 3 and "cut off" in last["_error"]
    assert last["_raw"] == cut[cut.rindex(b"<Permit>"):].decode("utf-8").strip()
    assert any("cut off" in str(w) and str(path) in str(w) and "line 5" in str(w) for w in d.warnings)


def test_xml_malformed_record_in_the_middle_keeps_the_rest(tmp_path):
    body = permit_xml(1) + permit_xml(2, ProjectName="A & B") + permit_xml(3) + permit_xml(4)
    path = tmp_path / "p.xml"
    path.write_bytes(permits_doc(body).encode("utf-8"))
    d = read_permit_xml(path)
    t = d.table.to_pylist()
    assert [r["_error"] is None for r in t] == [True, False, True, True]
    assert t[1]["_raw"].startswith("<Permit><PermitNo>220102202506010002</PermitNo><ProjectName>A & B")
    assert [r["PermitNo"] for r in t] == ["220102202506010001", None, "220102202506010003", "220102202506010004"]
    assert any("not well-formed" in str(w) for w in d.warnings)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE Permits [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE Permits [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
        '<!DOCTYPE Permits SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '<!DOCTYPE Permits [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x">%remote;]>',
    ],
    ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity"],
)
def test_xml_with_dtd_or_entities_is_refused(tmp_path, doctype):
    doc = f'<?xml version="1.0"?>\n{doctype}\n<Permits><Permit><PermitNo>&lol3;&xxe;</PermitNo></Permit></Permits>\n'
    path = tmp_path / "p.xml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(DeliveryError, match="refused") as err:
        read_permit_xml(path)
    assert str(path) in str(err.value) and "root:" not in str(err.value)


def test_xml_wrong_record_tag_and_missing_file(tmp_path):
    path = tmp_path / "p.xml"
    path.write_bytes(permits_doc(permit_xml(1)).encode("utf-8"))
    d = read_xml(path, dataset="m.c", day=DAY, record_tag="Point", columns=["DeviceID"])
    assert d.delivered and d.delivered_rows == 0
    assert any("no <Point> elements" in str(w) for w in d.warnings)
    assert any("Permit" in str(w) and "ignored" in str(w) for w in d.warnings)
    missing = read_permit_xml(tmp_path / "none.xml")
    assert missing.location is None and "no delivery" in str(missing.warnings[0])


def test_xml_unexpected_element_and_gbk_bytes(tmp_path):
    body = permit_xml(1).replace("<Status>", "<Remark>备注</Remark><Status>")
    path = tmp_path / "p.xml"
    path.write_bytes(permits_doc(body).encode("gbk"))  # declared UTF-8, written GBK
    d = read_permit_xml(path)
    assert d.landed_rows == 1 and data_rows(d)[0]["Remark"] == "备注" and data_rows(d)[0]["ProjectName"] == "幸福小区1号楼"
    r = [str(w) for w in d.warnings]
    assert any("Remark" in x for x in r)
    assert any("wrong encoding" in x and "line 3" in x for x in r)


# ------------------------------------------------------------------------------------------------
# JSON Lines

REQUEST_COLUMNS = ["requestId", "certType", "certNo", "holderId", "holderName", "requestedAt"]


def request(i: int, **over) -> dict:
    return {"requestId": f"R{i}", "certType": "driving_licence", "certNo": f"22010219800101{i:04d}",
            "holderId": f"22010219800101{i:04d}", "holderName": "张三", "requestedAt": "2025-06-01T09:00:00"} | over


def read_requests(path):
    d = read_jsonl(path, dataset="jishiban.verification_requests", day=DAY, columns=REQUEST_COLUMNS)
    check_invariants(d)
    return d


def test_jsonl_values_and_bad_lines(tmp_path):
    lines = [
        json.dumps(request(1), ensure_ascii=False),
        json.dumps(request(2, holderName=None, extra=[1, {"a": "乙"}]), ensure_ascii=False),
        '{"requestId": "R3", "certNo": 22010219800101, "score": 3500.50, "ok": true}',
        "",
        '{"requestId": "R4", certType}',
        "[1, 2]",
        json.dumps(request(1), ensure_ascii=False),  # duplicate, kept
    ]
    path = tmp_path / "verification_requests_20250601.jsonl"
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(payload)

    d = read_requests(path)

    assert d.sha256 == hashlib.sha256(payload).hexdigest() and d.size_bytes == len(payload)
    t = d.table.to_pylist()
    assert [r["_source_row"] for r in t] == [1, 2, 3, 5, 6, 7]
    assert t[0]["holderName"] == "张三" and t[1]["holderName"] is None
    assert t[1]["extra"] == '[1,{"a":"乙"}]'
    assert t[2]["certNo"] == "22010219800101" and t[2]["score"] == "3500.50" and t[2]["ok"] == "true"
    assert t[3]["_raw"] == '{"requestId": "R4", certType}' and t[3]["_error"].startswith("not valid JSON")
    assert t[4]["_raw"] == "[1, 2]" and "not a JSON object" in t[4]["_error"]
    assert data_rows(d)[5] == data_rows(d)[0]
    r = [str(w) for w in d.warnings]
    assert f"{path}, row 5: unparseable: {t[3]['_error']}" in r
    assert any("extra" in x and "score" in x for x in r)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_jsonl_chunked_collection_reads_the_same(tmp_path, monkeypatch, chunk_rows):
    """Objects become Arrow columns a chunk at a time (bounded memory): whatever the chunk, the same table and
    warnings, keys first seen in a later chunk included."""
    lines = [json.dumps(request(1), ensure_ascii=False), '{"requestId": "R2", certType}',
             json.dumps(request(3, extra={"a": "乙"}), ensure_ascii=False), json.dumps(request(4), ensure_ascii=False),
             '{"requestId": "R5", "late": 1}', "[1]", json.dumps(request(7), ensure_ascii=False)]
    path = tmp_path / "verification_requests_20250601.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = read_requests(path)
    monkeypatch.setattr(collector, "CHUNK_ROWS", chunk_rows)
    chunked = read_requests(path)
    assert chunked.table.equals(whole.table)
    assert [str(w) for w in chunked.warnings] == [str(w) for w in whole.warnings]
    assert chunked.table.column("late").to_pylist() == [None, None, None, None, "1", None, None]
    assert chunked.table.column("extra").to_pylist()[2] == '{"a":"乙"}'


def test_jsonl_cut_off_last_line(tmp_path):
    payload = (json.dumps(request(1)) + "\n" + json.dumps(request(2))[:25]).encode("utf-8")
    path = tmp_path / "r.jsonl"
    path.write_bytes(payload)
    d = read_requests(path)
    assert d.landed_rows == 1 and d.unparseable_rows == 1
    last = d.table.to_pylist()[-1]
    assert last["_source_row"] == 2 and last["_raw"] == json.dumps(request(2))[:25] and "cut off" in last["_error"]
    assert any("cut off" in str(w) and "row 2" in str(w) for w in d.warnings)


def test_jsonl_missing_file(tmp_path):
    d = read_requests(tmp_path / "verification_requests_20250601.jsonl")
    assert d.location is None and d.delivered_rows == 0 and "no delivery" in str(d.warnings[0])


@pytest.mark.parametrize("chunk_rows", [1, 7])
def test_xml_and_xlsx_deliveries_read_the_same_in_any_chunks(tmp_path, monkeypatch, chunk_rows):
    """XML and XLSX records also become Arrow columns a chunk at a time: the committed sample's deliveries, one of
    its XML files cut off in the middle and a workbook with a row beyond the header and empty rows read the same,
    table and warnings, whatever the chunk."""
    from jilin_pipelines.catalogue import catalogue
    from jilin_pipelines.raw import read_delivery, source_file
    from jilin_pipelines.settings import Settings

    settings = Settings.from_env({})
    days = [date.fromordinal(date(2025, 6, 2).toordinal() + i) for i in range(7)]
    found = [(e, d) for e in catalogue().entries if e.dataset.format.kind in ("xml", "xlsx") for d in days
             if source_file(e, d, settings).exists()]
    assert {e.dataset.format.kind for e, _ in found} == {"xml", "xlsx"}
    reads = [lambda e=e, d=d: read_delivery(e, d, settings) for e, d in found]
    xml = next(source_file(e, d, settings) for e, d in found if e.dataset.format.kind == "xml")
    cut = tmp_path / "construction_permits_20250602.xml"
    cut.write_bytes(xml.read_bytes()[: xml.stat().st_size * 2 // 3])
    reads.append(lambda: read_xml(cut, dataset="m.c", day=DAY, record_tag="Permit", columns=["PermitNo"]))
    book = permit_workbook(tmp_path / "p.xlsx", [[f"吉{i}"] * 10 for i in range(9)] + [[None] * 10]
                           + [["x"] * 11, ["y"] * 10, [None] * 10])
    reads.append(lambda: read_permits(book))
    whole = [read() for read in reads]
    assert whole[-2].unparseable_rows and whole[-1].unparseable_rows  # the broken ones are among them
    monkeypatch.setattr(collector, "CHUNK_ROWS", chunk_rows)
    for read, w in zip(reads, whole):
        chunked = read()
        check_invariants(chunked)
        assert chunked.table.equals(w.table), w.location
        assert [str(x) for x in chunked.warnings] == [str(x) for x in w.warnings], w.location


@pytest.mark.parametrize("chunk_rows", [1, 5, 10**6])
def test_xlsx_read_into_the_landing_a_chunk_at_a_time(tmp_path, monkeypatch, chunk_rows):
    """The raw landing's way: a workbook's rows pass to the writer a chunk at a time as openpyxl streams them (a row
    beyond the header and empty rows included); the file landed is the table read whole, and the counts and
    warnings are the same."""
    import pyarrow.parquet as pq

    from jilin_pipelines.lake import PartitionWriter

    book = permit_workbook(tmp_path / "p.xlsx", [[f"吉{i}"] * 10 for i in range(9)] + [[None] * 10]
                           + [["x"] * 11, ["y"] * 10, [None] * 10])
    whole = read_permits(book)
    monkeypatch.setattr(collector, "CHUNK_ROWS", chunk_rows)
    landed = tmp_path / "landed.parquet"
    with PartitionWriter(landed) as writer:
        streamed = read_xlsx(book, dataset="transport.road_transport_permits", day=DAY, sheet=PERMIT_SHEET,
                             columns=PERMIT_COLUMNS, sink=writer)
        writer.commit()
    assert pq.read_table(landed).equals(whole.table)
    assert streamed.table.num_rows == 0 and streamed.streamed == (whole.delivered_rows, whole.unparseable_rows)
    assert [str(x) for x in streamed.warnings] == [str(x) for x in whole.warnings]


def test_xlsx_merged_cells_are_filled_and_formulas_without_values_are_named(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = PERMIT_SHEET
    ws.append(PERMIT_COLUMNS)
    for i in range(1, 5):
        ws.append([f"DY{i:012d}", f"吉A0000{i}", "01", "长春货运有限公司" if i == 1 else None, None, "道路普通货物运输",
                   "2015-01-01", "2027-01-01", "营运", "2025-06-01 10:00:00"])
    ws.merge_cells("D2:D4")  # one operator for the first three permits, written once
    ws["E5"] = "=D5&\"\""  # a formula the file holds no value of (openpyxl does not calculate)
    path = tmp_path / "p.xlsx"
    wb.save(path)
    d = read_permits(path)
    check_invariants(d)
    operators = d.table.column("业户名称").to_pylist()
    assert operators == ["长春货运有限公司"] * 3 + [None]
    warnings = [str(w) for w in d.warnings]
    assert any("业户名称" in w and "3 cells" not in w and "merged" in w and "rows 2, 3" in w for w in warnings), warnings
    assert any("row 4, field 业户证件号码" in w and "formula without a value" in w for w in warnings), warnings
