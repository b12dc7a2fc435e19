"""Helpers for the reader tests: real files written the way the departments write them."""

from __future__ import annotations

import csv
import io
from datetime import date

from jilin_pipelines.sources.delivery import BOOKKEEPING_COLUMNS, Delivery

DAY = date(2025, 6, 1)

VEHICLE_COLUMNS = [
    "号牌号码", "号牌种类", "车辆类型", "使用性质", "所有人证件类型", "所有人证件号码",
    "所有人名称", "初次登记日期", "行政区划", "机动车状态", "更新时间",
]
URBAN_COLUMNS = [
    "case_no", "category", "reported_at", "civil_code", "address", "longitude", "latitude",
    "status", "closed_at", "party_uscc", "party_id_number",
]


def vehicle_row(i: int, name: str = "张三") -> list[str]:
    return [f"吉A{i:05d}", "02", "K33", "A", "A", f"22010219800101{i % 10000:04d}", name, "2015-03-01",
            "220102", "A", "2025-06-01 10:11:12"]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def data_rows(delivery: Delivery) -> list[dict]:
    """The rows as dicts without the bookkeeping columns."""
    return [{k: v for k, v in r.items() if k not in BOOKKEEPING_COLUMNS} for r in delivery.table.to_pylist()]


def check_invariants(delivery: Delivery) -> None:
    """What every delivery must satisfy, whatever went wrong."""
    t = delivery.table
    assert t.column_names[-3:] == list(BOOKKEEPING_COLUMNS)
    assert delivery.delivered_rows == delivery.landed_rows + delivery.unparseable_rows
    rows = t.column("_source_row").to_pylist()
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    for r in t.to_pylist():
        if r["_error"] is None:
            assert r["_raw"] is None
        else:
            assert r["_raw"] is not None
            assert all(r[c] is None for c in t.column_names if c not in BOOKKEEPING_COLUMNS)
    for c in t.schema:
        if c.name != "_source_row":
            assert str(c.type) == "string", c

