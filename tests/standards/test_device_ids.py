"""GB/T 28181 video device IDs: 20 digits, the first six a GB/T 2260 code."""

from __future__ import annotations

import pandas as pd
import pytest

from jilin_pipelines.standards import validate_device_id


def test_valid_ids_including_a_retired_division():
    result = validate_device_id(pd.Series(["22010200001320000001", "22038100001310000017"]))  # 220381: 1989-2020
    assert result.valid.all()


def test_repairs_spaces_and_full_width_digits():
    result = validate_device_id(pd.Series(["220102 0000 1320 000001", "２２０１０２00001320000001"]))
    assert result.value.tolist() == ["22010200001320000001"] * 2
    assert result.repair.tolist() == ["whitespace", "full_width"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2201020000132000000", "format"),
        ("220102000013200000011", "format"),
        ("2201020000132000000A", "format"),
        ("22999900001320000001", "division_unknown"),
        ("", "empty"),
    ],
)
def test_invalid_ids(value, reason):
    assert validate_device_id(pd.Series([value])).reason.tolist() == [reason]
