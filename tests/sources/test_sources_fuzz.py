"""Malformed deliveries (CSV, XLSX, XML, JSON Lines, a front-end database, an API page on loopback) give either a
Delivery that keeps the reader contract or a DeliveryError naming the source — never another exception — and every
record a second, naive reading of the same bytes finds complete lands (``fuzz.whole_records``). A short,
deterministic run of the harness in ``benchmarks/fuzz_readers.py`` (which fuzzes for minutes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_readers.py"
_spec = importlib.util.spec_from_file_location("fuzz_readers", _PATH)
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_readers"] = fuzz
_spec.loader.exec_module(fuzz)



@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz_readers")

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def test_the_seeds_are_valid_deliveries(workdir):
    """The mutations start from deliveries the readers land in full (else the fuzzing would test little)."""
    for fmt, seeds in fuzz.seeds().items():
        for label, data in seeds:
            outcome, detail = fuzz.read(fuzz.Case(fmt, data, "seed", label if fmt == "csv" else "utf-8"), workdir)
            assert outcome == "delivery" and " 0 unparseable" in detail, (fmt, label, detail)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "xml", "frontdb", "api"])
def test_malformed_deliveries_give_a_delivery_or_a_typed_error(fmt, workdir):
    @SETTINGS
    @given(case=fuzz.cases(fmt))
    def prop(case):
        fuzz.read(case, workdir)  # raises ReaderCrash for anything but a good Delivery or a DeliveryError

    prop()


def test_malformed_jsonl_gives_a_delivery_or_a_typed_error(workdir):
    @SETTINGS
    @given(case=fuzz.cases("jsonl", deep_nesting=False))
    def prop(case):
        fuzz.read(case, workdir)

    prop()


def test_a_deeply_nested_jsonl_line_is_unparseable_not_a_crash(workdir):
    data = b'{"certNo": "Q1"}\n' + b"[" * 3000 + b"\n"
    outcome, detail = fuzz.read(fuzz.Case("jsonl", data, "deep nesting"), workdir)
    assert outcome == "delivery" and "1 unparseable" in detail


def test_the_benchmark_runs_for_its_time_and_prints_what_it_tried(capsys, tmp_path):
    assert fuzz.main(["--minutes", "0.03", "--formats", "xml,csv", "--batch", "20", "--seed", "5",
                      "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "round 1, xml:" in out and "round 1, csv:" in out
    assert "  ->  " in out  # the cases tried and their outcomes
    assert "no crash:" in out and "gave a Delivery" in out


def test_a_lone_surrogate_escape_is_an_unparseable_line_not_a_crash(workdir):
    data = b'{"certNo": "Q1", "name": "\\ud800"}\n{"certNo": "Q2", "name": "\\ud83d\\ude00"}\n'
    outcome, detail = fuzz.read(fuzz.Case("jsonl", data, "lone surrogate"), workdir)
    assert outcome == "delivery" and detail.startswith("1 landed, 1 unparseable")  # the pair is one character


def test_an_api_item_with_a_lone_surrogate_is_unparseable_not_a_crash(workdir):
    page = (b'{"total": 2, "page": 1, "items": [{"certNo": "Q1", "name": "\\udfff"}, {"certNo": "Q2"}]}')
    outcome, detail = fuzz.read(fuzz.Case("api", page, "lone surrogate"), workdir)
    assert outcome == "delivery" and detail.startswith("1 landed, 1 unparseable")


def test_front_end_handling_times_no_day_selects_are_all_counted(workdir):
    """A BLOB, a float, NULL and a YYYY-MM-DD that is no real day (2025-13-45) are selected for no day and counted;
    a real day in another layout, or as the integer 20250601, is read for its day."""
    rows = [("A1", "x", "2025-06-01 09:00"), ("A2", "x", 20250601), ("A3", "x", "2025/6/1"), ("A4", "x", None),
            ("A5", "x", b"\x00\xff"), ("A6", "x", 20250601.5), ("A7", "x", "2025-13-45 10:00"),
            ("A8", "x", "2025-06-02")]
    outcome, detail = fuzz.read(fuzz.Case("frontdb", fuzz._frontdb(rows), "hostile days", handled=(3, 4)), workdir)
    assert outcome == "delivery" and detail.startswith("3 landed, 0 unparseable")


def test_a_front_end_database_with_text_that_is_no_utf8_is_refused_naming_the_table(workdir, tmp_path):
    data = fuzz._frontdb([("A1", "张三", "2025-06-01 09:00")])
    data = data.replace("张三".encode(), b"\xff\xfe\xfd\xfc\xfb\xfa")  # same length: the file stays sound
    outcome, detail = fuzz.read(fuzz.Case("frontdb", data, "not UTF-8"), workdir)
    assert outcome == "error" and "AC01@" in detail and "not UTF-8" in detail


def test_a_complete_xml_record_followed_by_junk_after_a_fault_lands(workdir):
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n<Permits>\x00  <Permit><PermitNo>220102202506010001</PermitNo>'
            '<Builder>吉林省建工集团</Builder></Permit>\n  <').encode()
    outcome, detail = fuzz.read(fuzz.Case("xml", data, "NUL, then a record, then a cut"), workdir)
    assert outcome == "delivery" and detail.startswith("1 landed, 2 unparseable")
