"""Every delivery of the sample lands, nothing lost: delivered rows, counted here with independent means,
equal landed rows plus rows kept as unparseable, for every dataset and day."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import date

import openpyxl
import pyarrow.parquet as pq
import pytest

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.raw import days_in_sources, land_day, landed_summary, source_file
from jilin_pipelines.sources import ERROR, RAW
from jilin_tools.api_server import ApiServer
from jilin_pipelines.settings import Settings

ENTRIES = catalogue().entries


def count_delivered(entry, day: date, settings: Settings) -> int:
    """Rows in the day's delivery, counted without the pipeline's readers."""
    fmt = entry.dataset.format
    if fmt.kind == "frontdb":
        with sqlite3.connect(settings.sources_dir / "social_security" / "exchange.sqlite") as db:
            (n,) = db.execute(
                f'select count(*) from "{fmt.table}" where substr({fmt.day_column}, 1, 10) = ?', (day.isoformat(),)
            ).fetchone()
        return n
    path = source_file(entry, day, settings)
    if not path.exists():
        return 0
    data = path.read_bytes()
    if fmt.kind == "csv":
        text = data.decode(fmt.encoding, errors="replace")
        return sum(1 for row in csv.reader(io.StringIO(text)) if row) - 1
    if fmt.kind == "xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True)[fmt.sheet]
        return sum(1 for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)) - 1
    if fmt.kind == "xml":
        return len(re.findall(rf"<{fmt.record_tag}[\s>]".encode(), data))
    return sum(1 for line in data.splitlines() if line.strip())


def sample_days(settings):
    return days_in_sources(settings, list(ENTRIES))


def test_the_sample_spans_seven_days(settings):
    days = sample_days(settings)
    assert days[0] == date(2025, 6, 2) and len(days) == 7


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_delivered_equals_landed_plus_unparseable(entry, settings):
    for day in sample_days(settings):
        landing = land_day(entry, day, settings)
        expected = count_delivered(entry, day, settings)
        table = pq.read_table(landing.path)
        facts = landed_summary(landing.path)
        assert table.num_rows == expected == facts["delivered_rows"], (entry.id, day)
        unparseable = table.num_rows - table.column(ERROR).null_count
        assert facts["landed_rows"] + facts["unparseable_rows"] == facts["delivered_rows"]
        assert facts["unparseable_rows"] == unparseable
        # every unparseable row keeps its raw text
        errors = table.filter(table.column(ERROR).is_valid())
        assert errors.column(RAW).null_count == 0, (entry.id, day)
        assert list(table.column("_source_row").to_pylist()) == list(range(1, table.num_rows + 1))


def test_file_level_problems_land_with_a_warning(manifest, settings):
    file_problems = [m for m in manifest if m["source_row"] is None]
    assert {m["problem"] for m in file_problems} >= {"file_header_only", "file_truncated", "file_wrong_encoding", "file_missing"}
    for m in file_problems:
        entry = catalogue().entry(m["dataset"])
        facts = land_day(entry, date.fromisoformat(m["day"]), settings).summary()
        if m["problem"] == "file_missing":
            assert not facts["delivered"] and facts["delivered_rows"] == 0
            assert any("no delivery" in w for w in facts["warnings"]), facts["warnings"]
            continue
        assert facts["delivered"] and facts["warnings"], m
        where = facts["location"]
        assert all(w.startswith(where) for w in facts["warnings"]), facts["warnings"]
        if m["problem"] == "file_header_only":
            assert facts["delivered_rows"] == 0
        if m["problem"] == "file_truncated":
            assert facts["unparseable_rows"] >= 1
        if m["problem"] == "file_wrong_encoding":
            assert facts["unparseable_rows"] == 0 and facts["landed_rows"] > 0


def test_api_datasets_read_over_http_land_the_same_rows(settings, sample_dir):
    token = "test-token-0123"
    with ApiServer(sample_dir, token=token) as server:
        over_http = Settings.from_env(
            {
                "JILIN_SOURCES_DIR": str(sample_dir),
                "JILIN_DATA_DIR": str(settings.data_dir / "http"),
                "JILIN_SOURCES_API_URL": server.url,
                "JILIN_SOURCES_API_TOKEN": token,
            }
        )
        day = date(2025, 6, 3)
        for entry in [e for e in ENTRIES if e.dataset.format.kind == "api"]:
            from_file = pq.read_table(land_day(entry, day, settings).path)
            landing = land_day(entry, day, over_http)
            from_http = pq.read_table(landing.path)
            assert landing.delivery.location.startswith(server.url)
            assert token not in json.dumps(landing.summary())
            columns = entry.dataset.source_columns + ["_source_row", ERROR]
            assert from_http.select(columns).to_pylist() == from_file.select(columns).to_pylist(), entry.id
