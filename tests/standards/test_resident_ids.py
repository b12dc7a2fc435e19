"""Resident ID numbers: the defects of SPEC.md §7, and agreement with python-stdnum where the rules agree.

The literal numbers below were made with python-stdnum's ``calc_check_digit`` and are written out here, so
no expected value is computed by the code under test.

Where our rules and python-stdnum's differ (the property test adjusts for exactly these):
* a birth date after today: stdnum accepts it, we reject it (``birth_date_future``);
* the address code: stdnum requires it to be in force in the birth year; we require it to have been in
  force at some time from the birth year on (a number is issued years after birth and keeps its code), so
  we accept e.g. 220381 for someone born in 1985 although the code dates from 1989;
* an unknown county in a known province makes stdnum raise KeyError instead of returning False;
* stdnum does not repair spaces inside, full-width characters or legacy 15-digit numbers.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent, ValidationError

from jilin_pipelines.standards import validate_resident_id

TODAY = date(2025, 6, 1)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(values, **kwargs) -> pd.DataFrame:
    return validate_resident_id(pd.Series(values, dtype="object"), today=TODAY, **kwargs).to_frame()


# ---------------------------------------------------------------- examples: every §7 defect


def test_valid_numbers_pass_with_birth_date_and_sex():
    frame = check(["11010519491231002X", "220102198810124562", "360426199101010071"])
    assert frame["valid"].tolist() == [True, True, True]
    assert frame["reason"].isna().all() and not frame["repaired"].any()
    assert frame["birth_date"].tolist() == [pd.Timestamp(d) for d in ("1949-12-31", "1988-10-12", "1991-01-01")]
    assert frame["sex"].tolist() == ["2", "2", "1"]  # sequence 002, 456, 007: even, even, odd


def test_wrong_check_digit_is_reported():
    frame = check(["11010519491231002X", "110105194912310021", "220102199001011230"])
    assert frame["valid"].tolist() == [True, False, False]
    assert frame["reason"].tolist()[1:] == ["check_digit", "check_digit"]
    assert frame["value"].tolist()[1] == "110105194912310021"  # kept for the quarantine


def test_legacy_15_digit_number_is_upgraded():
    frame = check(["110105491231002"])
    assert frame["value"].tolist() == ["11010519491231002X"]
    assert frame["valid"].tolist() == [True]
    assert frame["repair"].tolist() == ["legacy_15"]
    assert frame["birth_date"].tolist() == [pd.Timestamp("1949-12-31")]


def test_lower_case_x_is_upper_cased():
    frame = check(["11010519491231002x"])
    assert (frame["value"].tolist(), frame["valid"].tolist(), frame["repair"].tolist()) == (
        ["11010519491231002X"], [True], ["case"]
    )


def test_full_width_digits_are_made_half_width():
    frame = check(["１１０１０５１９４９１２３１００２Ｘ", "１１０１０５１９４９１２３１００２ｘ"])
    assert frame["value"].tolist() == ["11010519491231002X"] * 2
    assert frame["valid"].all()
    assert frame["repair"].tolist() == ["full_width", "full_width,case"]


@pytest.mark.parametrize(
    "spaced",
    ["110105 19491231002X", " 11010519491231002X ", "110105\u300019491231\u3000002X", "1101 0519 4912 3100 2X"],
)
def test_spaces_inside_are_removed(spaced):
    frame = check([spaced])
    assert frame["value"].tolist() == ["11010519491231002X"]
    assert frame["valid"].tolist() == [True]
    assert "whitespace" in frame["repair"].iloc[0]


def test_retired_code_220381_stays_valid_in_an_old_number():
    # 公主岭市 was 220381 in 1989-2020 and is 220184 since 2020 (moved from 四平 to 长春).
    frame = check(
        ["220381199503150016", "220381198501011237", "220381202101011237", "220184201901011239", "220381202012310024"]
    )
    assert frame["valid"].tolist() == [True, True, False, True, True]  # the years are inclusive: 2020 is in
    assert frame["reason"].tolist()[2] == "division_not_in_force"  # born 2021, after the code was retired
    assert frame["value"].tolist()[0] == "220381199503150016"  # the number keeps the code it was issued with


def test_birth_date_that_does_not_exist_is_reported():
    frame = check(["220102199002301238"])  # 30 February 1990
    assert frame["reason"].tolist() == ["birth_date_invalid"]
    assert frame["birth_date"].isna().all()


def test_birth_date_in_the_future_is_reported():
    frame = check(["220102203001011238"])  # born 2030-01-01; stdnum accepts this number
    assert ric.is_valid("220102203001011238")
    assert frame["reason"].tolist() == ["birth_date_future"]
    later = validate_resident_id(pd.Series(["220102203001011238"]), today=date(2030, 1, 1))
    assert later.valid.tolist() == [True]


def test_unknown_address_code_is_reported():
    frame = check(["22999919900101123X", "990000199001011239"])
    assert frame["reason"].tolist() == ["division_unknown", "division_unknown"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1101051949123100", "format"),  # 16 characters
        ("1101051949123100XX", "format"),
        ("11010519491231002Y", "format"),
        ("ABCDEFGHIJKLMNOPQR", "format"),
        ("11010519491231002X1", "format"),
        ("11010549123100", "format"),  # 14 digits
        ("1101054912310A2", "format"),  # 15 characters, not all digits: no upgrade
        ("身份证号码身份证号", "format"),  # 27 bytes, 9 characters
        ("身份证号码身", "format"),  # 18 bytes: must not pass as 18 characters
    ],
)
def test_malformed_numbers_are_format_errors(value, reason):
    assert check([value])["reason"].tolist() == [reason]


@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000", float("nan")])
def test_empty_values_are_null_and_invalid(empty):
    frame = check([empty])
    assert frame["value"].isna().all()
    assert frame["valid"].tolist() == [False]
    assert frame["reason"].tolist() == ["empty"]


def test_first_failing_check_is_the_reason():
    # wrong check digit AND a non-existent birth date: the check digit comes first, as in GB 11643 and stdnum
    assert check(["220102199002301230"])["reason"].tolist() == ["check_digit"]


def test_derived_columns_are_null_where_invalid():
    frame = check(["110105194912310021", "11010519491231002X"])
    assert frame["birth_date"].isna().tolist() == [True, False]
    assert frame["sex"].isna().tolist() == [True, False]


def test_result_keeps_the_index_and_accepts_pyarrow():
    series = pd.Series(["11010519491231002x", None], index=["a", "b"])
    result = validate_resident_id(series, today=TODAY)
    assert list(result.value.index) == ["a", "b"] and list(result.derived.index) == ["a", "b"]
    chunked = pa.chunked_array([["11010519491231002x"], [None, "110105491231002"]])
    result = validate_resident_id(chunked, today=TODAY)
    assert result.value.fillna("-").tolist() == ["11010519491231002X", "-", "11010519491231002X"]
    assert result.valid.tolist() == [True, False, True]


# ---------------------------------------------------------------- properties: agreement with python-stdnum


def stdnum_verdict(number: str) -> str:
    """Return python-stdnum's verdict: ``valid``, or the check that failed: ``structure``, ``birth_date``, ``place``."""
    try:
        ric.validate(number)
        return "valid"
    except KeyError:  # stdnum's own lookup fails this way for an unknown county in a known province
        return "place"
    except InvalidComponent:
        try:
            ric.get_birth_date(number)
        except InvalidComponent:
            return "birth_date"
        return "place"
    except ValidationError:
        return "structure"


def birth_date_of(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


@st.composite
def resident_ids(draw, known_codes: list[str]) -> str:
    """An 18-digit number: a known or random address code, a real or impossible birth date, right or wrong check."""
    code = draw(st.one_of(st.sampled_from(known_codes), st.from_regex(r"\A[0-9]{6}\Z")))
    birth = draw(
        st.one_of(
            st.dates(date(1940, 1, 1), date(2035, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
            st.from_regex(r"\A(19|20)[0-9][0-9](0[0-9]|1[0-3])([0-2][0-9]|3[0-2])\Z"),  # often no such day
        )
    )
    body = code + birth + draw(st.from_regex(r"\A[0-9]{3}\Z"))
    return body + draw(st.one_of(st.just(ric.calc_check_digit(body + "0")), st.sampled_from("0123456789X")))


def expected_outcome(number: str, known_codes: set[str]) -> set[str | None] | None:
    """Return the reasons we may give (None = valid) given stdnum's verdict, or None where the rules differ."""
    verdict = stdnum_verdict(number)
    born = birth_date_of(number)
    if verdict == "structure":
        return {"check_digit"}  # our generated numbers always have the right length and characters
    if verdict == "birth_date":
        return {"birth_date_invalid"}
    if born is not None and born > TODAY:
        return {"birth_date_future"}  # stdnum accepts future birth dates
    if verdict == "place":
        if number[:6] not in known_codes:
            return {"division_unknown"}
        return {None, "division_not_in_force"}  # stdnum judges by the birth year alone: the rules differ
    return {None}


@FAST
@given(data=st.data())
def test_verdict_agrees_with_stdnum(stdnum_locations, data):
    known = sorted(stdnum_locations)
    numbers = data.draw(st.lists(resident_ids(known), min_size=1, max_size=40))
    frame = check(numbers)
    for number, reason in zip(numbers, frame["reason"].tolist()):
        assert (None if pd.isna(reason) else reason) in expected_outcome(number, set(known)), number


@st.composite
def spoilt(draw, number: str) -> str:
    """The number as a department might deliver it: lower-case x, full-width characters, spaces anywhere."""
    chars = list(number.lower() if draw(st.booleans()) else number)
    full_width = draw(st.lists(st.integers(0, len(chars) - 1), max_size=5, unique=True))
    for position in full_width:
        chars[position] = chr(ord(chars[position]) + 0xFEE0)
    for _ in range(draw(st.integers(0, 3))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from([" ", "\u3000", "\t", "  "])))
    return "".join(chars)


@FAST
@given(data=st.data())
def test_spoilt_numbers_get_the_clean_numbers_verdict(stdnum_locations, data):
    known = sorted(stdnum_locations)
    numbers = data.draw(st.lists(resident_ids(known), min_size=1, max_size=20))
    spoilt_numbers = [data.draw(spoilt(number)) for number in numbers]
    clean, repaired = check(numbers), check(spoilt_numbers)
    assert repaired["value"].tolist() == numbers
    assert repaired["reason"].fillna("").tolist() == clean["reason"].fillna("").tolist()
    changed = [a != b for a, b in zip(numbers, spoilt_numbers)]
    assert repaired["repaired"].tolist() == changed


@FAST
@given(data=st.data())
def test_legacy_numbers_get_the_verdict_of_their_18_digit_form(stdnum_locations, data):
    known = sorted(stdnum_locations)
    legacy = data.draw(st.lists(resident_ids(known).map(lambda n: n[:6] + n[8:17]), min_size=1, max_size=30))
    upgraded = [n[:6] + "19" + n[6:] + ric.calc_check_digit(n[:6] + "19" + n[6:] + "0") for n in legacy]
    frame = check(legacy)
    assert frame["value"].tolist() == upgraded
    assert frame["repair"].tolist() == ["legacy_15"] * len(legacy)
    for number, reason in zip(upgraded, frame["reason"].tolist()):
        assert (None if pd.isna(reason) else reason) in expected_outcome(number, set(known)), number


@FAST
@given(data=st.data())
def test_normalisation_is_idempotent(stdnum_locations, data):
    known = sorted(stdnum_locations)
    numbers = data.draw(st.lists(resident_ids(known).flatmap(spoilt) | st.text(max_size=20), min_size=1, max_size=20))
    once = validate_resident_id(pd.Series(numbers, dtype="object"), today=TODAY)
    twice = validate_resident_id(once.value, today=TODAY)
    assert twice.value.fillna("").tolist() == once.value.fillna("").tolist()
    assert not twice.repaired.any()
    assert twice.reason.fillna("").tolist() == once.reason.fillna("").tolist()


# ---------------------------------------------------------------- residence permits and implausible birth years


def _with_check(first17: str) -> str:
    """The number with its MOD 11-2 check character, computed by python-stdnum (not by the code under test)."""
    return first17 + ric.calc_check_digit(first17 + "0")  # stdnum takes the number with a placeholder check


def test_residence_permits_of_hong_kong_macau_and_taiwan_are_valid_alike():
    numbers = [_with_check(code + "19900101002") for code in ("810000", "820000", "830000")]
    frame = check(numbers)
    assert frame["valid"].tolist() == [True, True, True], frame["reason"].tolist()
    assert frame["sex"].tolist() == ["2", "2", "2"]


def test_a_birth_year_before_1800_is_no_real_birth_date():
    numbers = [_with_check("220102" + year + "0101003") for year in ("1799", "1800", "1066")]
    frame = check(numbers)
    assert frame["valid"].tolist() == [False, True, False]
    assert frame["reason"].tolist()[0] == frame["reason"].tolist()[2] == "birth_date_invalid"
