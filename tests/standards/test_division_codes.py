"""GB/T 2260 division codes: validity, validity in a year, current successors.

Expected codes and years are read off python-stdnum's ``cn/loc.dat`` by hand (quoted in the comments) or
from the ``stdnum_locations`` fixture, which parses that file independently of the code under test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from jilin_pipelines.standards import division_periods, validate_division


def frame(values, **kwargs) -> pd.DataFrame:
    return validate_division(pd.Series(values, dtype="object"), **kwargs).to_frame()


def test_current_and_retired_codes_are_valid_without_a_year():
    result = frame(["220184", "220381", "220102", "110103"])  # 110103 崇文区 [-2010]
    assert result["valid"].all()
    assert result["name"].tolist() == ["公主岭市", "公主岭市", "南关区", "崇文区"]


def test_unknown_and_malformed_codes():
    result = frame(["229999", "2203", "22038A", "2203810", None, " "])
    assert result["reason"].tolist() == ["division_unknown", "format", "format", "format", "empty", "empty"]


def test_validity_in_a_year_uses_the_inclusive_year_ranges():
    # 0381 county="[1989-2020]公主岭市" under 四平; 0184 county="[2020-]公主岭市" under 长春
    codes = ["220381", "220381", "220381", "220381", "220184", "220184"]
    years = [1988, 1989, 2020, 2021, 2019, 2020]
    result = frame(codes, year=years)
    assert result["valid"].tolist() == [False, True, True, False, False, True]
    assert set(result["reason"].dropna()) == {"division_not_in_force"}


def test_year_may_be_one_int_and_may_be_missing_per_value():
    assert frame(["220381", "220184"], year=2021)["valid"].tolist() == [False, True]
    result = frame(["220381", "220381"], year=pd.Series([2021, None], dtype="Int64"))
    assert result["valid"].tolist() == [False, True]  # a missing year means "at any time"


def test_years_outside_the_data_read_as_its_first_or_last_year():
    # the data covers 1980-2025: 1970 reads as 1980, when 2521 county="[1982-1983]榆树县" was not yet in force
    assert frame(["222521"], year=1970)["valid"].tolist() == [False]
    assert frame(["222421"], year=1970)["valid"].tolist() == [True]  # 2421 county="[-1982]延吉县,[1983-1987]龙井县"
    assert frame(["220102"], year=2100)["valid"].tolist() == [True]
    assert frame(["220381"], year=2100)["valid"].tolist() == [False]


@pytest.mark.parametrize(
    ("retired", "current", "name"),
    [
        ("220381", "220184", "公主岭市"),  # the same name from the year the old code ended
        ("220181", "220113", "九台区"),  # 九台市 [1989-2014] -> 九台区 [2014-]: same place, other type
        ("220123", "220113", "九台区"),  # 九台县 [1983-1988] -> 229005 九台市 [1988-1989] -> 220181 -> 220113
        ("222221", "220581", "梅河口市"),  # 海龙县 renamed 梅河口市 1985: an explicit override, then the data
        ("510202", "500103", "渝中区"),  # Chongqing left Sichuan in 1997: same name, another province
        ("222100", "220300", "四平市"),  # 四平地区 [-1983] -> 四平市 [1983-]
        ("222421", "222405", "龙井市"),  # 2421 "[-1982]延吉县,[1983-1987]龙井县" -> 2405 "[1988-]龙井市": the year after
    ],
)
def test_retired_codes_are_replaced_by_their_current_successor(retired, current, name):
    result = frame([retired], to_current=True)
    assert result["value"].tolist() == [current]
    assert result["valid"].tolist() == [True]
    assert result["repair"].tolist() == ["division_successor"]
    assert result["name"].tolist() == [name]


def test_current_codes_are_kept_and_unsuccessed_codes_are_reported():
    # 110103 崇文区 was merged into 东城区 in 2010 under another name: the data cannot tell, and no override says so
    result = frame(["220184", "110103", "220111"], to_current=True)  # 0111 county="[1983-1995]郊区"
    assert result["value"].tolist() == ["220184", "110103", "220111"]
    assert result["reason"].fillna("").tolist() == ["", "division_retired", "division_retired"]
    assert not result["repaired"].any()


def test_a_prefecture_is_not_taken_over_by_a_county_of_the_same_name():
    # 2600 county="[1982-1983]永吉地区" went into 吉林市; 0221 county="[1983-]永吉县" is only its namesake county
    result = frame(["222600", "222500"], to_current=True)  # 2500 county="[1982-1983]德惠地区", 0124 "[1983-1994]德惠县"
    assert result["reason"].tolist() == ["division_retired", "division_retired"]


def test_year_is_checked_on_the_delivered_code_before_it_is_replaced():
    result = frame(["220381", "220381"], year=[2019, 2021], to_current=True)
    assert result["value"].tolist() == ["220184", "220184"]
    assert result["valid"].tolist() == [True, False]


def test_periods_are_exactly_stdnums(stdnum_locations):
    periods = division_periods()
    ours = {
        code: [
            (None if pd.isna(first) else int(first), None if pd.isna(last) else int(last), name)
            for first, last, name in zip(group["first_year"], group["last_year"], group["name"])
        ]
        for code, group in periods.groupby("code", sort=False)
    }
    assert ours == dict(stdnum_locations)


def test_every_known_code_is_valid_and_every_successor_is_in_force(stdnum_locations):
    codes = sorted(stdnum_locations)
    result = validate_division(pd.Series(codes), to_current=True)
    in_force_today = {code for code, periods in stdnum_locations.items() if any(last is None for _, last, _ in periods)}
    replaced = result.value[result.valid]
    assert set(replaced) <= in_force_today
    kept = [code for code in codes if code in in_force_today]
    assert result.value[pd.Series(codes).isin(kept)].tolist() == kept
    assert set(result.reason.dropna()) == {"division_retired"}
    assert result.reason.isna().sum() > len(kept)  # most retired codes have a successor
