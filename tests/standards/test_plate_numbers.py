"""Plate numbers: the defects of SPEC.md §7 (spaces, lower case, I / O), formats, Jilin office letters, types."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jilin_pipelines.standards import plate_letters_jilin, plate_provinces, validate_plate

FAST = settings(max_examples=60, deadline=None)


def frame(plates, types=None) -> pd.DataFrame:
    return validate_plate(pd.Series(plates, dtype="object"), None if types is None else pd.Series(types)).to_frame()


def test_ordinary_and_new_energy_plates():
    result = frame(["吉A12345", "吉AD12345", "吉AFA1234", "吉A12345D", "吉B1C2D3", "京N8H8H8", "吉HF12345"])
    assert result["valid"].all()
    assert result["kind"].tolist() == [
        "ordinary",
        "new_energy_small",
        "new_energy_small",
        "new_energy_large",
        "ordinary",
        "ordinary",
        "new_energy_small",
    ]


def test_spaces_lower_case_and_separator_dots_are_repaired():
    result = frame(["吉A 12345", " 吉a12345", "吉A·12345", "吉ad 12345", "吉Ａ１２３４５", "吉A\u300012345"])
    assert result["value"].tolist() == ["吉A12345", "吉A12345", "吉A12345", "吉AD12345", "吉A12345", "吉A12345"]
    assert result["valid"].all()
    assert result["repair"].tolist() == [
        "whitespace", "whitespace,case", "separator", "whitespace,case", "full_width", "whitespace"
    ]


@pytest.mark.parametrize("plate", ["吉AI2345", "吉A1O345", "吉AD1I234", "吉A12O45D", "吉ai2345", "吉I12345"])
def test_letters_i_and_o_are_rejected(plate):
    assert frame([plate])["reason"].tolist() == ["forbidden_letter"]


@pytest.mark.parametrize(
    ("plate", "reason"),
    [
        ("吉A1234", "format"),  # too short
        ("吉A1234567", "format"),  # too long
        ("吉12345A", "format"),  # no office letter
        ("AA12345", "format"),  # no province
        ("吉AX12345", "format"),  # 6 characters that are no new-energy form
        ("吉A1234DD", "format"),
        ("吉A12345G", "format"),  # large new-energy plates end in D or F only
        ("吉AG12345", "format"),  # small new-energy plates start with D or F only
        ("港A12345", "province_unknown"),
        ("中A12345", "province_unknown"),
        ("吉L12345", "issuer_unknown"),  # Jilin uses A-K (no I)
        ("吉Z12345", "issuer_unknown"),
        ("", "empty"),
        (None, "empty"),
    ],
)
def test_malformed_plates(plate, reason):
    assert frame([plate])["reason"].tolist() == [reason]


def test_other_provinces_letters_are_not_checked():
    assert frame(["辽L12345", "黑Z12345"])["valid"].all()


def test_plate_type_must_fit_the_format():
    plates = ["吉A12345", "吉A12345", "吉A12345", "吉AD12345", "吉A12345D", "吉AD12345", "吉A12345D", "吉A12345", "吉A12345"]
    types = ["01", "2", " 07 ", "52", "51", "02", "52", "51", "99"]
    result = frame(plates, types)
    assert result["reason"].fillna("").tolist() == [
        "", "", "", "", "", "plate_type_mismatch", "plate_type_mismatch", "plate_type_mismatch", "plate_type_unknown"
    ]


def test_plate_types_must_align_with_plates():
    with pytest.raises(ValueError):
        validate_plate(pd.Series(["吉A12345"]), pd.Series(["01", "02"]))


def test_reference_tables_are_data():
    provinces = plate_provinces()
    assert len(provinces) == 31 and provinces["prefix"].is_unique
    assert provinces.set_index("prefix").loc["吉", "division"] == "220000"
    letters = plate_letters_jilin().set_index("letter")
    assert letters.loc["A", "issuer"] == "长春市" and letters.loc["H", "issuer"] == "延边朝鲜族自治州"
    assert not {"I", "O"} & set(letters.index)


@st.composite
def messy_plates(draw) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abcdfio"
    plate = draw(st.sampled_from("吉京辽黑港")) + draw(st.text(letters, min_size=1, max_size=8))
    for _ in range(draw(st.integers(0, 2))):
        position = draw(st.integers(0, len(plate)))
        plate = plate[:position] + draw(st.sampled_from([" ", "·", "\u3000", "."])) + plate[position:]
    return plate


@FAST
@given(st.lists(messy_plates(), min_size=1, max_size=40))
def test_normalisation_is_idempotent_and_never_keeps_spaces_dots_or_lower_case(plates):
    once = validate_plate(pd.Series(plates))
    twice = validate_plate(once.value)
    assert twice.value.tolist() == once.value.tolist()
    assert twice.valid.tolist() == once.valid.tolist()
    assert not twice.repaired.any()
    for value in once.value.dropna():
        assert value == value.upper() and not set(value) & {" ", "·", ".", "\u3000"}
