"""CSV deliveries (GBK and UTF-8 with BOM) with each reading problem of SPEC §7."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from sources_testkit import (
    DAY,
    URBAN_COLUMNS,
    VEHICLE_COLUMNS,
    check_invariants,
    csv_text,
    data_rows,
    vehicle_row,
)

from jilin_pipelines.sources import DeliveryError, delivery_path, read_csv

DATASET = "traffic_police.motor_vehicles"


def write(tmp_path, name: str, payload: bytes):
    path = tmp_path / name
    path.write_bytes(payload)
    return path


def read_gbk(path, columns=VEHICLE_COLUMNS):
    d = read_csv(path, dataset=DATASET, day=DAY, encoding="gbk", columns=columns)
    check_invariants(d)
    return d


def reasons(delivery) -> list[str]:
    return [str(w) for w in delivery.warnings]


def test_gbk_csv_lands_values_exactly_as_delivered(tmp_path):
    rows = [
        vehicle_row(1),
        vehicle_row(2, name="吉林市, 某某运输有限公司"),  # quoted comma
        vehicle_row(3, name="多行\n名称"),  # quoted newline
        vehicle_row(3, name="多行\n名称"),  # the same record twice: kept as delivered
        ["吉A00004", "02", "K33", "A", "A", "", "NULL", "", "220102", "NA", "2025-06-01 10:11:12"],
        vehicle_row(5, name=' 王"五 '),
    ]
    payload = csv_text(VEHICLE_COLUMNS, rows).encode("gbk")
    path = write(tmp_path, "motor_vehicles_20250601.csv", payload)

    d = read_gbk(path)

    assert d.delivered and d.location == str(path)
    assert d.sha256 == hashlib.sha256(payload).hexdigest() and d.size_bytes == len(payload)
    assert d.dataset == DATASET and d.day == DAY
    assert d.delivered_rows == 6 and d.unparseable_rows == 0
    assert d.table.column("_source_row").to_pylist() == [1, 2, 3, 4, 5, 6]
    got = data_rows(d)
    assert got == [dict(zip(VEHICLE_COLUMNS, r)) for r in rows]
    assert got[4]["所有人证件号码"] == "" and got[4]["所有人名称"] == "NULL" and got[4]["机动车状态"] == "NA"
    assert got[0]["号牌种类"] == "02"  # no type inference
    assert d.warnings == []


def test_bom_utf8_csv(tmp_path):
    row = ["C1", "占道经营", "2025-06-01 08:00:00", "220102", "长春市南关区人民大街1号", "125.3", "43.9",
           "open", "", "91220101MA0000000X", ""]
    payload = b"\xef\xbb\xbf" + csv_text(URBAN_COLUMNS, [row]).encode("utf-8")
    path = write(tmp_path, "urban_cases_20250601.csv", payload)

    d = read_csv(path, dataset="municipal.urban_cases", day=DAY, encoding="utf-8-sig", columns=URBAN_COLUMNS)

    check_invariants(d)
    assert d.table.column_names[:11] == URBAN_COLUMNS  # the BOM is not part of the first name
    assert data_rows(d) == [dict(zip(URBAN_COLUMNS, row))]
    assert d.warnings == []


def test_crlf_line_ends(tmp_path):
    text = csv_text(VEHICLE_COLUMNS, [vehicle_row(1), vehicle_row(2)]).replace("\n", "\r\n")
    d = read_gbk(write(tmp_path, "v.csv", text.encode("gbk")))
    assert d.delivered_rows == 2 and d.unparseable_rows == 0
    assert data_rows(d)[1]["更新时间"] == "2025-06-01 10:11:12"


def test_header_only_file(tmp_path):
    path = write(tmp_path, "v.csv", csv_text(VEHICLE_COLUMNS, []).encode("gbk"))
    d = read_gbk(path)
    assert d.delivered and d.delivered_rows == 0
    assert d.table.column_names[:11] == VEHICLE_COLUMNS
    assert any("empty but for its header" in r and str(path) in r for r in reasons(d))


def test_zero_byte_file(tmp_path):
    d = read_gbk(write(tmp_path, "v.csv", b""))
    assert d.delivered and d.delivered_rows == 0
    assert any("empty" in r for r in reasons(d))


def test_missing_file_is_no_delivery(tmp_path):
    path = tmp_path / "motor_vehicles_20250601.csv"
    d = read_gbk(path)
    assert not d.delivered and d.location is None and d.delivered_rows == 0
    assert d.table.column_names[:11] == VEHICLE_COLUMNS
    assert len(d.warnings) == 1 and "no delivery" in str(d.warnings[0]) and str(path) in str(d.warnings[0])


def test_cut_off_in_the_middle_of_a_row(tmp_path):
    full = csv_text(VEHICLE_COLUMNS, [vehicle_row(i) for i in range(1, 6)]).encode("gbk")
    cut = full[: full.index("吉A00005".encode("gbk")) + 30]  # inside row 5, after a few fields
    path = write(tmp_path, "v.csv", cut)

    d = read_gbk(path)

    assert d.delivered_rows == 5 and d.landed_rows == 4 and d.unparseable_rows == 1
    last = d.table.to_pylist()[-1]
    assert last["_source_row"] == 5
    assert last["_raw"] == cut.split(b"\n")[-1].decode("gbk")
    assert "cut off" in last["_error"]
    assert any("cut off" in r and "row 5" in r and str(path) in r for r in reasons(d))
    assert d.sha256 == hashlib.sha256(cut).hexdigest()


def test_cut_off_inside_the_last_field_is_still_caught(tmp_path):
    full = csv_text(VEHICLE_COLUMNS, [vehicle_row(1), vehicle_row(2)]).encode("gbk")
    cut = full[:-4]  # "...10:11:1" with every field present but no line end
    d = read_gbk(write(tmp_path, "v.csv", cut))
    assert d.landed_rows == 1 and d.unparseable_rows == 1
    last = d.table.to_pylist()[-1]
    assert last["_source_row"] == 2 and last["_raw"].endswith("2025-06-01 10:11")
    assert "cut off" in last["_error"]


def test_cut_off_inside_a_gbk_character(tmp_path):
    full = csv_text(VEHICLE_COLUMNS, [vehicle_row(1), vehicle_row(2)]).encode("gbk")
    cut = full[: full.rindex("张".encode("gbk")) + 1]  # half of the last 张
    d = read_gbk(write(tmp_path, "v.csv", cut))
    assert d.landed_rows == 1 and d.unparseable_rows == 1
    last = d.table.to_pylist()[-1]
    assert last["_source_row"] == 2
    assert last["_raw"].endswith(",\\xd5")  # the dangling byte, shown, not dropped
    assert not any("wrong encoding" in r for r in reasons(d))


def test_wrong_number_of_fields_after_a_quoted_newline(tmp_path):
    lines = csv_text(VEHICLE_COLUMNS, [vehicle_row(1, name="甲\n乙"), vehicle_row(2)]).encode("gbk")
    lines += "吉A00003,02,K33\n".encode("gbk")  # too few fields
    lines += csv_text(VEHICLE_COLUMNS, [vehicle_row(4)]).split("\n", 1)[1].encode("gbk")
    lines += ("吉A00005,02,K33,A,A,1,某,2015-03-01,220102,A,2025-06-01 10:11:12,多余\n").encode("gbk")
    lines += csv_text(VEHICLE_COLUMNS, [vehicle_row(6)]).split("\n", 1)[1].encode("gbk")
    path = write(tmp_path, "v.csv", lines)

    d = read_gbk(path)

    assert d.delivered_rows == 6 and d.landed_rows == 4 and d.unparseable_rows == 2
    t = d.table.to_pylist()
    assert [r["_source_row"] for r in t] == [1, 2, 3, 4, 5, 6]
    assert [r["号牌号码"] for r in t] == ["吉A00001", "吉A00002", None, "吉A00004", None, "吉A00006"]
    assert t[0]["所有人名称"] == "甲\n乙"
    assert t[2]["_raw"] == "吉A00003,02,K33" and t[2]["_error"] == "expected 11 fields, found 3"
    assert t[4]["_raw"].endswith(",多余") and t[4]["_error"] == "expected 11 fields, found 12"
    r = reasons(d)
    assert any(f"{path}, row 3: unparseable: expected 11 fields, found 3" == x for x in r)
    assert any(f"{path}, row 5: unparseable" in x for x in r)


def test_blank_line_between_rows_is_kept_as_unparseable(tmp_path):
    text = csv_text(VEHICLE_COLUMNS, [vehicle_row(1)]) + "\n" + csv_text(VEHICLE_COLUMNS, [vehicle_row(3)]).split("\n", 1)[1]
    text += "\n\n"  # blank lines at the very end are no rows
    d = read_gbk(write(tmp_path, "v.csv", text.encode("gbk")))
    t = d.table.to_pylist()
    assert [(r["_source_row"], r["_error"]) for r in t] == [(1, None), (2, "blank line"), (3, None)]
    assert t[1]["_raw"] == ""


def test_all_empty_fields_row_is_a_row(tmp_path):
    text = csv_text(VEHICLE_COLUMNS, [vehicle_row(1), [""] * 11])
    d = read_gbk(write(tmp_path, "v.csv", text.encode("gbk")))
    assert d.landed_rows == 2 and data_rows(d)[1] == dict.fromkeys(VEHICLE_COLUMNS, "")


def test_gbk_declared_file_that_is_utf8(tmp_path):
    rows = [vehicle_row(1), vehicle_row(2, name="李四")]
    path = write(tmp_path, "v.csv", csv_text(VEHICLE_COLUMNS, rows).encode("utf-8"))
    d = read_gbk(path)
    assert d.landed_rows == 2 and data_rows(d) == [dict(zip(VEHICLE_COLUMNS, r)) for r in rows]
    w = [r for r in reasons(d) if "wrong encoding" in r]
    assert len(w) == 1 and str(path) in w[0] and "gbk" in w[0] and "utf-8" in w[0] and "header" in w[0]


def test_utf8_declared_file_that_is_gbk_names_the_first_bad_row(tmp_path):
    rows = [
        ["C1", "a", "2025-06-01 08:00:00", "220102", "x", "125.3", "43.9", "open", "", "", ""],
        ["C2", "b", "2025-06-01 08:00:00", "220102", "y", "125.3", "43.9", "open", "", "", ""],
        ["C3", "占道经营", "2025-06-01 08:00:00", "220102", "长春市", "125.3", "43.9", "open", "", "", ""],
    ]
    path = write(tmp_path, "u.csv", csv_text(URBAN_COLUMNS, rows).encode("gbk"))

    d = read_csv(path, dataset="municipal.urban_cases", day=DAY, encoding="utf-8-sig", columns=URBAN_COLUMNS)

    check_invariants(d)
    assert d.landed_rows == 3 and data_rows(d)[2]["category"] == "占道经营"
    w = [x for x in d.warnings if "wrong encoding" in x.reason]
    assert len(w) == 1 and w[0].row == 3 and w[0].location == str(path)
    assert "gb18030" in w[0].reason


def test_undecodable_bytes_make_their_row_unparseable(tmp_path):
    payload = csv_text(VEHICLE_COLUMNS, [vehicle_row(1)]).encode("gbk")
    payload += b"\xff\xfe\x80," + ",".join(vehicle_row(2)[1:]).encode("gbk") + b"\n"
    payload += csv_text(VEHICLE_COLUMNS, [vehicle_row(3)]).split("\n", 1)[1].encode("gbk")
    path = write(tmp_path, "v.csv", payload)

    d = read_gbk(path)

    t = d.table.to_pylist()
    assert [r["_error"] is None for r in t] == [True, False, True]
    assert t[1]["_raw"].startswith("\\xff\\xfe\\x80,02,K33")
    assert t[2]["所有人名称"] == "张三"
    w = [x for x in d.warnings if "wrong encoding" in x.reason]
    assert len(w) == 1 and w[0].row == 2


def test_header_missing_or_renamed_column_is_refused(tmp_path):
    header = ["号牌号码", "号牌类型"] + VEHICLE_COLUMNS[2:]  # 号牌种类 renamed
    path = write(tmp_path, "v.csv", csv_text(header, [vehicle_row(1)]).encode("gbk"))
    with pytest.raises(DeliveryError) as err:
        read_gbk(path)
    msg = str(err.value)
    assert str(path) in msg and "号牌种类" in msg and "号牌类型" in msg


def test_a_csv_without_its_header_row_is_refused_without_quoting_the_data_row(tmp_path):
    rows = [vehicle_row(1, name="黄芬芬"), vehicle_row(2)]
    text = csv_text(VEHICLE_COLUMNS, rows).split("\n", 1)[1]  # the header row left out
    path = write(tmp_path, "v.csv", text.encode("gbk"))
    with pytest.raises(DeliveryError) as err:
        read_gbk(path)
    msg = str(err.value)
    assert str(path) in msg and "the first row is not the header" in msg
    assert "黄芬芬" not in msg and not any(value in msg for value in rows[0] if len(value) >= 6)


def test_header_with_an_extra_column_keeps_it(tmp_path):
    header = VEHICLE_COLUMNS + ["备注"]
    path = write(tmp_path, "v.csv", csv_text(header, [vehicle_row(1) + ["x"]]).encode("gbk"))
    d = read_gbk(path)
    assert d.table.column_names[:12] == header and data_rows(d)[0]["备注"] == "x"
    assert any("备注" in r and str(path) in r for r in reasons(d))


def test_header_in_another_order_is_reordered(tmp_path):
    header = list(reversed(VEHICLE_COLUMNS))
    path = write(tmp_path, "v.csv", csv_text(header, [list(reversed(vehicle_row(1)))]).encode("gbk"))
    d = read_gbk(path)
    assert d.table.column_names[:11] == VEHICLE_COLUMNS
    assert data_rows(d) == [dict(zip(VEHICLE_COLUMNS, vehicle_row(1)))]


def test_delivery_path_builds_and_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    (root / "traffic_police" / "motor_vehicles").mkdir(parents=True)
    p = delivery_path(root, "traffic_police", "motor_vehicles", DAY, "csv")
    assert p == (root / "traffic_police" / "motor_vehicles" / "motor_vehicles_20250601.csv").resolve()
    for department, dataset in [("..", "x"), ("traffic_police", "../../etc"), ("a/b", "c"), ("traffic_police", "..")]:
        with pytest.raises(DeliveryError, match="refused"):
            delivery_path(root, department, dataset, DAY, "csv")
    with pytest.raises(DeliveryError, match="refused"):
        delivery_path(root, "traffic_police", "motor_vehicles", DAY, "../csv")
    # a symlink that leads out of the root
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "evil")
    with pytest.raises(DeliveryError, match="outside"):
        delivery_path(root, "evil", "x", DAY, "csv")


def test_many_rows_with_bad_rows_scattered(tmp_path):
    """The vectorised path keeps exact row numbers at scale."""
    n = 200_000
    bad = {17, 5_000, 123_457, n}
    parts = [",".join(VEHICLE_COLUMNS)]
    for i in range(1, n + 1):
        if i in bad:
            parts.append(f"吉A{i:05d},02,坏")
        elif i % 1000 == 0:
            parts.append(",".join(vehicle_row(i)[:6]) + ',"多\n行",' + ",".join(vehicle_row(i)[7:]))
        else:
            parts.append(",".join(vehicle_row(i)))
    payload = ("\n".join(parts) + "\n").encode("gbk")
    path = write(tmp_path, "big.csv", payload)

    started = time.perf_counter()
    d = read_csv(path, dataset=DATASET, day=DAY, encoding="gbk", columns=VEHICLE_COLUMNS)
    elapsed = time.perf_counter() - started

    assert d.delivered_rows == n and d.unparseable_rows == len(bad)
    t = d.table
    assert t.column("_source_row").to_pylist() == list(range(1, n + 1))
    errors = t.column("_error").to_pylist()
    assert {i + 1 for i, e in enumerate(errors) if e is not None} == bad
    plates = t.column("号牌号码").to_pylist()
    assert plates[123_455] == "吉A123456" and plates[123_456] is None and plates[123_457] == "吉A123458"
    assert t.column("_raw")[4_999].as_py() == "吉A05000,02,坏"
    assert t.column("所有人名称")[999].as_py() == "多\n行"
    assert elapsed < 15, f"{n} rows took {elapsed:.1f}s"


def test_raw_texts_located_exactly_at_scale(tmp_path):
    """Blank lines, undecodable bytes and a cut-off last row, after many multi-line values."""
    n = 200_000
    parts = [",".join(VEHICLE_COLUMNS).encode("gbk")]
    for i in range(1, n + 1):
        if i == 150_000:
            parts.append(b"")
        elif i == 180_001:
            parts.append(b"\xff" + ",".join(vehicle_row(i)).encode("gbk"))
        elif i % 997 == 0:
            parts.append((",".join(vehicle_row(i)[:6]) + ',"多\r\n行",' + ",".join(vehicle_row(i)[7:])).encode("gbk"))
        else:
            parts.append(",".join(vehicle_row(i)).encode("gbk"))
    payload = b"\n".join(parts)[:-3]  # no line end, last field cut: "...10:11:12" -> "...10:1"
    d = read_gbk(write(tmp_path, "big.csv", payload))

    assert d.delivered_rows == n and d.unparseable_rows == 3
    t = d.table
    bad = {i + 1: (t.column("_error")[i].as_py(), t.column("_raw")[i].as_py())
           for i, e in enumerate(t.column("_error").to_pylist()) if e is not None}
    assert sorted(bad) == [150_000, 180_001, n]
    assert bad[150_000] == ("blank line", "")
    assert bad[180_001][1] == "\\xff" + ",".join(vehicle_row(180_001))
    assert bad[n][1] == ",".join(vehicle_row(n))[:-3] and "cut off" in bad[n][0]
    assert t.column("所有人名称")[996].as_py() == "多\r\n行"
    assert t.column("号牌号码")[180_001].as_py() == "吉A180002"
    enc = [w for w in d.warnings if "wrong encoding" in w.reason]
    assert len(enc) == 1 and enc[0].row == 180_001


def test_a_delivered_column_named_like_the_provider_column_is_refused(tmp_path):
    """``_provider`` names each row's provider in a dataset of many: a delivery may not bring its own."""
    text = ",".join(VEHICLE_COLUMNS) + ",_provider\r\n" + ",".join("x" * (len(VEHICLE_COLUMNS) + 1)) + "\r\n"
    path = write(tmp_path, "motor_vehicles_20250601.csv", text.encode("gbk"))
    with pytest.raises(DeliveryError, match=r"\['_provider'\] clash with the bookkeeping columns"):
        read_gbk(path, columns=None)
