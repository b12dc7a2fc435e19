"""Malformed deliveries (CSV, XLSX, XML, JSON Lines) give either a Delivery that keeps the reader contract or a
DeliveryError naming the file — never another exception. A short, deterministic run of the harness in
``benchmarks/fuzz_readers.py`` (which fuzzes for minutes)."""

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


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "xml"])
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
