"""The result type every validator shares: index, dtypes, input kinds, counts."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from jilin_pipelines import standards
from jilin_pipelines.standards import StandardResult, validate_resident_id, validate_uscc

VALIDATORS = [
    standards.validate_resident_id,
    standards.validate_uscc,
    standards.validate_division,
    standards.validate_plate,
    standards.validate_device_id,
    standards.parse_date,
    standards.parse_datetime,
    standards.normalise_text,
    standards.normalise_name,
]


@pytest.mark.parametrize("validate", VALIDATORS, ids=lambda f: f.__name__)
def test_every_validator_answers_with_the_input_index_and_the_shared_dtypes(validate):
    values = pd.Series(["  ", "x", None, "2025-06-01"], index=[10, 3, 7, 1])
    result = validate(values)
    assert isinstance(result, StandardResult)
    for member in (result.value, result.valid, result.reason, result.repaired, result.repair, result.derived):
        assert list(member.index) == [10, 3, 7, 1]
    assert result.valid.dtype == bool and result.repaired.dtype == bool
    assert result.reason.dtype == "string" and result.repair.dtype == "string"
    assert result.reason.tolist()[0] == "empty" and result.reason.tolist()[2] == "empty"
    assert result.value.iloc[[0, 2]].isna().all()
    assert result.reason[result.valid].isna().all() and result.reason[~result.valid].notna().all()


@pytest.mark.parametrize("validate", VALIDATORS, ids=lambda f: f.__name__)
def test_every_validator_accepts_empty_columns(validate):
    result = validate(pd.Series([], dtype="string"))
    assert len(result.value) == 0 and len(result.valid) == 0


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["11010519491231002x", None], dtype="object"),
        pd.Series(["11010519491231002x", None], dtype="string[pyarrow]"),
        pd.Series(["11010519491231002x", None], dtype="string[python]"),
        pd.Series(["11010519491231002x", None], dtype="category"),
        pa.array(["11010519491231002x", None]),
        pa.array(["11010519491231002x", None], pa.large_string()),
        pa.chunked_array([["11010519491231002x"], [None]]),
        pa.array(["11010519491231002x", None]).dictionary_encode(),
        ["11010519491231002x", None],
    ],
    ids=lambda column: type(column).__name__ + ("-" + str(column.dtype) if hasattr(column, "dtype") else ""),
)
def test_input_kinds(column):
    result = validate_resident_id(column)
    assert result.value.fillna("-").tolist() == ["11010519491231002X", "-"]
    assert result.valid.tolist() == [True, False]


def test_numbers_are_read_as_text():
    result = standards.parse_date(pd.Series([45809, 20250601]))
    assert result.value.tolist() == [pd.Timestamp("2025-06-01")] * 2


def test_counts_and_frame():
    result = validate_uscc(pd.Series(["91110000600037341l", "9111 0000 6000 3734 1l", "91110000600037341M", None]))
    assert result.reason_counts() == {"check_digit": 1, "empty": 1}
    assert result.repair_counts() == {"case": 2, "whitespace": 1}
    assert list(result.to_frame().columns) == ["value", "valid", "reason", "repaired", "repair"]
    assert list(validate_resident_id(pd.Series(["x"])).to_frame().columns)[-2:] == ["birth_date", "sex"]


def test_standards_import_nothing_else_of_ours_and_no_dagster():
    import ast
    from pathlib import Path

    package = Path(standards.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            for name in names:
                assert not name.startswith(("dagster", "jilin_pipelines")), f"{path.name} imports {name}"


def test_a_repeated_index_is_kept_as_it_is():
    # e.g. the ID numbers of a household list exploded to one row per member, indexed by the application
    values = pd.Series(["11010519491231002x", "110105491231002", None], index=[7, 7, 8], dtype="string")
    result = validate_resident_id(values)
    assert list(result.value.index) == [7, 7, 8] and list(result.derived.index) == [7, 7, 8]
    assert result.repair.fillna("").tolist() == ["case", "legacy_15", ""]
    assert result.derived["sex"].fillna("").tolist() == ["2", "2", ""]
