"""Same arguments, same bytes; another seed, other data; sizes follow ``scale``; rates can be overridden."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from jilin_tools.sample import generate


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_byte_identical_trees(sample, tmp_path):
    """Again, in another process with another string-hash seed (no set-order or hash dependence)."""
    again = tmp_path / "again"
    code = f"from pathlib import Path; from jilin_tools.sample import generate; generate(Path({str(again)!r}))"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONHASHSEED": "12345"})
    first, second = _digests(sample.root), _digests(again)
    assert len(first) > 80
    assert first == second


def test_output_directory_is_replaced_not_mixed(tmp_path):
    root = tmp_path / "src"
    generate(root, days=3, scale=300, seed=5)
    (root / "notes.txt").write_text("mine")
    generate(root, days=2, scale=300, seed=5)
    files = _digests(root)
    assert "notes.txt" in files
    assert not any("20250604" in f for f in files)  # nothing of the longer first run is left
    fresh = tmp_path / "fresh"
    generate(fresh, days=2, scale=300, seed=5)
    assert {k: v for k, v in files.items() if k != "notes.txt"} == _digests(fresh)


def test_another_seed_gives_other_data(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, days=2, scale=300, seed=1)
    generate(b, days=2, scale=300, seed=2)
    da, db = _digests(a), _digests(b)
    assert set(da) == set(db)
    same = [k for k in da if da[k] == db[k]]
    assert same == ["municipal/urban_cases/urban_cases_20250603.csv"]  # the header-only file


@pytest.mark.parametrize(("days", "scale"), [(2, 500), (3, 600), (10, 300)])
def test_rows_follow_scale(tmp_path, days, scale):
    summary = generate(tmp_path / "s", start=date(2024, 12, 30), days=days, scale=scale, seed=9)
    total = sum(sum(v.values()) for v in summary.rows.values())
    assert 0.8 * scale * days <= total <= 1.25 * scale * days, total
    written = json.loads((tmp_path / "s" / "_ground_truth" / "summary.json").read_text())
    assert written["rows"] == summary.rows and written["seed"] == 9
    days_seen = {d for v in summary.rows.values() for d in v}
    assert len(days_seen) == days


def test_a_single_day_has_the_initial_state_and_every_file_problem(tmp_path):
    summary = generate(tmp_path / "one", days=1, scale=400, seed=3)
    assert summary.rows["traffic_police.motor_vehicles"]["2025-06-02"] > 20
    for problem in ("file_header_only", "file_truncated", "file_wrong_encoding", "file_missing"):
        assert summary.problems[problem] == 1


def test_rates_can_be_overridden(tmp_path):
    summary = generate(tmp_path / "s", days=2, scale=400, rates={"id_lowercase_x": 0.0, "plate_spaces": 0.5})
    assert summary.problems.get("id_lowercase_x", 0) == 0
    assert summary.problems["plate_spaces"] > 100
    assert summary.rates["plate_spaces"] == 0.5
    with pytest.raises(ValueError, match="unknown problem"):
        generate(tmp_path / "t", days=1, scale=100, rates={"no_such_problem": 0.1})
    with pytest.raises(ValueError, match="add up"):
        generate(tmp_path / "u", days=1, scale=100, rates={"id_wrong_check_digit": 0.9, "id_legacy_15": 0.9})
