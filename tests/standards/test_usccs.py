"""Unified social credit codes: the defects of SPEC.md §7, and agreement with python-stdnum where the rules agree.

The literal codes below were made with python-stdnum's ``calc_check_digit`` and the GB 11714 rule written
out in :func:`gb11714_check` (this file's own, independent implementation).

Where our rules and python-stdnum's differ (the property test adjusts for exactly these):
* stdnum requires positions 1-8 to be digits; GB 32100 allows any code character in positions 1-2
  (registering authority and entity type, e.g. ``N`` for agriculture, ``Y`` for others) - we follow GB 32100;
* stdnum does not check the embedded organisation code's own check character (position 17); we do;
* stdnum also removes ``-``; we do not (no department writes it).
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from jilin_pipelines.standards import validate_uscc

CODE_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FAST = settings(max_examples=60, deadline=None)


def gb11714_check(body: str) -> str:
    """Return the GB 11714 check character of an 8-character organisation code body (letters A-Z are 10-35)."""
    total = sum(int(char, 36) * weight for char, weight in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def check(values) -> pd.DataFrame:
    return validate_uscc(pd.Series(values, dtype="object")).to_frame()


VALID = ["91110000600037341L", "91220101123912472G", "92220381MA0Y8G2K14", "122200004123765228", "932224017B2M5K9A6P"]


def test_gb11714_helper_matches_a_published_code():
    # 91110000600037341L is python-stdnum's documented example; its organisation code is 60003734-1
    assert gb11714_check("60003734") == "1"


def test_valid_codes_pass():
    frame = check(VALID)
    assert frame["valid"].all() and frame["reason"].isna().all() and not frame["repaired"].any()
    assert frame["value"].tolist() == VALID


def test_wrong_check_character_is_reported():
    frame = check(["91110000600037341M", "91220101123912472H"])
    assert frame["reason"].tolist() == ["check_digit", "check_digit"]


def test_wrong_organisation_code_check_character_is_reported():
    # the organisation code 60003734 must end in 1; with 2 and a recomputed main check character stdnum accepts it
    partial = "911100006000373420"[:17]
    code = partial + uscc.calc_check_digit(partial + "0")
    assert uscc.is_valid(code)
    assert check([code])["reason"].tolist() == ["org_code_check_digit"]


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_letters_i_o_z_s_v_are_forbidden(letter):
    code = "9122010112391247" + letter + "G"
    frame = check([code, code.lower()])
    assert frame["reason"].tolist() == ["forbidden_letter", "forbidden_letter"]


def test_lower_case_is_upper_cased():
    frame = check(["92220381ma0y8g2k14", "932224017b2m5k9a6p"])
    assert frame["value"].tolist() == ["92220381MA0Y8G2K14", "932224017B2M5K9A6P"]
    assert frame["valid"].all()
    assert frame["repair"].tolist() == ["case", "case"]


def test_spaces_and_full_width_characters_are_repaired():
    frame = check([" 9122 0101 1239 1247 2G ", "９１２２０１０１１２３９１２４７２Ｇ", "91220101\u3000123912472G"])
    assert frame["value"].tolist() == ["91220101123912472G"] * 3
    assert frame["valid"].all()
    assert frame["repair"].tolist() == ["whitespace", "full_width", "whitespace"]


@pytest.mark.parametrize(
    "value",
    ["9122010112391247", "91220101123912472GG", "91A20101123912472G", "9122010112391247-G", "9122010112391247?G"],
)
def test_malformed_codes_are_format_errors(value):
    assert check([value])["reason"].tolist() == ["format"]


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000"])
def test_empty_codes(empty):
    frame = check([empty])
    assert frame["value"].isna().all() and frame["reason"].tolist() == ["empty"]


# ---------------------------------------------------------------- properties


@st.composite
def usccs(draw) -> str:
    """A USCC that is valid, or spoilt in one character or in one of its check characters."""
    head = draw(st.text(CODE_CHARACTERS, min_size=2, max_size=2))
    region = draw(st.from_regex(r"\A[0-9]{6}\Z"))
    body = draw(st.text(CODE_CHARACTERS, min_size=8, max_size=8))
    org_check = draw(st.one_of(st.just(gb11714_check(body)), st.sampled_from("0123456789X")))
    partial = head + region + body + org_check
    code = partial + draw(st.one_of(st.just(uscc.calc_check_digit(partial + "0")), st.sampled_from(CODE_CHARACTERS)))
    if draw(st.booleans()):  # replace one character by any letter or digit, the forbidden ones included
        position = draw(st.integers(0, 17))
        code = code[:position] + draw(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")) + code[position + 1 :]
    return code


def expected_valid(code: str) -> bool:
    """stdnum's verdict plus the organisation code's check character (which stdnum does not check)."""
    return uscc.is_valid(code) and gb11714_check(code[8:16]) == code[16]


@FAST
@given(st.lists(usccs(), min_size=1, max_size=40))
def test_verdict_agrees_with_stdnum(codes):
    comparable = [code for code in codes if code[:2].isdigit()]  # stdnum rejects letters in positions 1-2
    frame = check(comparable)
    assert frame["valid"].tolist() == [expected_valid(code) for code in comparable]


@st.composite
def valid_usccs_with_letters_first(draw) -> str:
    head = draw(st.sampled_from("123456789ANY")) + draw(st.sampled_from(CODE_CHARACTERS))
    body = draw(st.text(CODE_CHARACTERS, min_size=8, max_size=8))
    partial = head + draw(st.from_regex(r"\A[0-9]{6}\Z")) + body + gb11714_check(body)
    return partial + uscc.calc_check_digit(partial + "0")


@FAST
@given(st.lists(valid_usccs_with_letters_first(), min_size=1, max_size=40))
def test_letters_in_the_first_two_positions_are_allowed(codes):
    # GB 32100 registering authorities include N (agriculture) and Y (others); stdnum wants digits there
    assert check(codes)["valid"].all()


@st.composite
def spoilt(draw, code: str) -> str:
    chars = list(code.lower() if draw(st.booleans()) else code)
    for position in draw(st.lists(st.integers(0, len(chars) - 1), max_size=4, unique=True)):
        chars[position] = chr(ord(chars[position]) + 0xFEE0)
    for _ in range(draw(st.integers(0, 3))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from([" ", "\u3000", "\t"])))
    return "".join(chars)


@FAST
@given(st.lists(usccs().flatmap(lambda code: st.tuples(st.just(code), spoilt(code))), min_size=1, max_size=30))
def test_spoilt_codes_get_the_clean_codes_verdict_and_normalisation_is_idempotent(pairs):
    codes, spoilt_codes = [code for code, _ in pairs], [spoilt_code for _, spoilt_code in pairs]
    clean, repaired = validate_uscc(pd.Series(codes)), validate_uscc(pd.Series(spoilt_codes))
    assert repaired.value.tolist() == codes
    assert repaired.reason.fillna("").tolist() == clean.reason.fillna("").tolist()
    assert repaired.repaired.tolist() == [a != b for a, b in zip(codes, spoilt_codes)]
    again = validate_uscc(repaired.value)
    assert again.value.tolist() == codes and not again.repaired.any()
