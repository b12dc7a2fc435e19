"""Dates and date-times in the mixed forms of SPEC.md §7; unreal dates reported, never rolled over.

Expected values are written out, or come from Python's own ``datetime`` and ``zoneinfo``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jilin_pipelines.standards import DATETIME_DTYPE, parse_date, parse_datetime

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = settings(max_examples=60, deadline=None)
EXCEL_DAY_ZERO = date(1899, 12, 30)


def test_mixed_date_forms_in_one_column():
    values = ["2025-06-01", "2025/6/1", "20250601", "2025年6月1日", "45809", "2025-6-1", "2025/06/01", "45809.0"]
    result = parse_date(pd.Series(values))
    assert result.value.tolist() == [pd.Timestamp("2025-06-01")] * len(values)
    assert result.valid.all()
    assert result.repair.fillna("").tolist() == [""] + ["date_format"] * (len(values) - 1)
    assert str(result.value.dtype) == "datetime64[us]"


def test_excel_serial_numbers():
    result = parse_date(pd.Series(["45809", "10000", "99999", "44621"]))
    assert result.value.tolist() == [
        pd.Timestamp("2025-06-01"), pd.Timestamp("1927-05-18"), pd.Timestamp("2173-10-13"), pd.Timestamp("2022-03-01")
    ]


@pytest.mark.parametrize("value", ["2025", "9999", "123456", "4580", "45809.5"])
def test_numbers_that_are_no_excel_date_serial_are_format_errors(value):
    # a year alone, six digits, a four-digit serial (could be a year), a day fraction in a date column
    assert parse_date(pd.Series([value])).reason.tolist() == ["format"]


@pytest.mark.parametrize(
    "value",
    ["2025-02-30", "2023-02-29", "2025-13-01", "2025-00-10", "2025/4/31", "20250631", "2025年2月29日", "0000-01-01"],
)
def test_dates_that_do_not_exist_are_reported_not_rolled_over(value):
    result = parse_date(pd.Series([value]))
    assert result.reason.tolist() == ["date_invalid"]
    assert result.value.isna().all()


def test_leap_days():
    result = parse_date(pd.Series(["2024-02-29", "2000-02-29", "1900-02-29"]))
    assert result.valid.tolist() == [True, True, False]


@pytest.mark.parametrize(
    "value", ["abc", "2025-06", "06/01/2025", "2025-6/1", "2025.06.01", "1. Juni 2025", "2025-06-01x"]
)
def test_unreadable_dates_are_format_errors(value):
    assert parse_date(pd.Series([value])).reason.tolist() == ["format"]


def test_spreadsheet_midnight_is_a_date_but_another_time_is_not():
    result = parse_date(pd.Series(["2025-06-01 00:00:00", "2025-06-01 08:00:00"]))
    assert result.value.tolist()[0] == pd.Timestamp("2025-06-01")
    assert result.reason.fillna("").tolist() == ["", "format"]


def test_whitespace_and_full_width_digits_are_repaired():
    result = parse_date(pd.Series([" 2025-06-01 ", "２０２５－０６－０１", "2025-06-01\u3000"]))
    assert result.value.tolist() == [pd.Timestamp("2025-06-01")] * 3
    assert result.repair.tolist() == ["whitespace", "full_width", "whitespace"]


def test_future_dates_relative_to_a_reference_day():
    result = parse_date(pd.Series(["2025-06-01", "2025-06-02", "2025-02-30"]), not_after=date(2025, 6, 1))
    assert result.reason.fillna("").tolist() == ["", "future", "date_invalid"]
    assert result.value.tolist()[1] == pd.Timestamp("2025-06-02")  # kept, so the quarantine can show it


@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000"])
def test_empty_dates(empty):
    result = parse_date(pd.Series([empty], dtype="object"))
    assert result.reason.tolist() == ["empty"] and result.value.isna().all()


def test_datetimes_in_every_date_form_are_asia_shanghai():
    values = [
        "2025-06-01 08:30:00",
        "2025/6/1 8:30:00",
        "20250601 08:30:00",
        "2025年6月1日 08:30:00",
        "2025-06-01T08:30:00",
        "2025-06-01 08:30",
        "45809.3541666667",  # Excel: 0.3541666667 of a day is 08:30:00
        "2025-06-01T00:30:00Z",
        "2025-06-01T09:30:00+09:00",
    ]
    result = parse_datetime(pd.Series(values))
    expected = datetime(2025, 6, 1, 8, 30, tzinfo=SHANGHAI)
    assert [t.to_pydatetime() for t in result.value] == [expected] * len(values)
    assert str(result.value.dtype) == "datetime64[us, Asia/Shanghai]" and result.value.dtype == DATETIME_DTYPE
    iso, other = "", "date_format"
    assert result.repair.fillna("").tolist() == [iso, other, other, other, iso, other, other, iso, iso]


def test_fractions_of_a_second_are_kept():
    result = parse_datetime(pd.Series(["2025-06-01 08:30:00.123456", "2025-06-01 08:30:00.5"]))
    assert [t.microsecond for t in result.value] == [123456, 500000]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2025-06-01", "format"),  # no time: not guessed to be midnight
        ("2025-06-01 24:00:00", "date_invalid"),
        ("2025-06-01 08:60:00", "date_invalid"),
        ("2025-06-01 08:30:60", "date_invalid"),
        ("2025-02-30 08:00:00", "date_invalid"),
        ("2025-06-01 08:30:00+08:75", "date_invalid"),
        ("2025-06-01 8.30", "format"),
    ],
)
def test_unreal_or_incomplete_datetimes(value, reason):
    assert parse_datetime(pd.Series([value])).reason.tolist() == [reason]


def test_local_times_lost_or_doubled_by_the_summer_time_of_1986_1991_are_reported():
    # China kept summer time 1986-1991; zoneinfo knows that 1988-04-17 02:30 never happened there
    start = datetime(1988, 4, 17, 2, 30, tzinfo=SHANGHAI)
    assert start.astimezone(timezone.utc).astimezone(SHANGHAI).hour != 2
    result = parse_datetime(pd.Series(["1988-04-17 02:30:00", "1988-09-11 01:30:00", "1988-04-17 03:30:00"]))
    assert result.reason.fillna("").tolist() == ["date_invalid", "date_invalid", ""]
    assert result.value.iloc[2].utcoffset() == timedelta(hours=9)


def test_future_datetimes_after_the_end_of_the_reference_day():
    result = parse_datetime(pd.Series(["2025-06-01 23:59:59", "2025-06-02 00:00:00"]), not_after=date(2025, 6, 1))
    assert result.reason.fillna("").tolist() == ["", "future"]


# ---------------------------------------------------------------- properties


@FAST
@given(st.lists(st.dates(date(1, 1, 1), date(9999, 12, 31)), min_size=1, max_size=30), st.data())
def test_every_form_of_a_date_parses_to_that_date(days, data):
    forms = [
        lambda d: d.isoformat(),
        lambda d: f"{d.year:04d}/{d.month}/{d.day}",
        lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}",
        lambda d: f"{d.year:04d}年{d.month}月{d.day}日",
    ]
    texts = [data.draw(st.sampled_from(forms))(day) for day in days]
    result = parse_date(pd.Series(texts))
    assert result.valid.all()
    assert [t.date() for t in result.value] == days


@FAST
@given(st.lists(st.dates(date(1927, 5, 18), date(2173, 10, 13)), min_size=1, max_size=30))
def test_excel_serials_count_days_from_1899_12_30(days):
    serials = [str((day - EXCEL_DAY_ZERO).days) for day in days]
    assert [t.date() for t in parse_date(pd.Series(serials)).value] == days


@FAST
@given(st.lists(st.tuples(st.integers(1, 9999), st.integers(0, 13), st.integers(0, 32)), min_size=1, max_size=40))
def test_a_date_is_valid_exactly_when_the_calendar_has_it(parts):
    def exists(year, month, day):
        try:
            date(year, month, day)
            return True
        except ValueError:
            return False

    texts = [f"{year:04d}-{month:02d}-{day:02d}" for year, month, day in parts]
    result = parse_date(pd.Series(texts))
    assert result.valid.tolist() == [exists(*p) for p in parts]
    assert set(result.reason.dropna()) <= {"date_invalid"}


@FAST
@given(st.lists(st.datetimes(datetime(1992, 1, 1), datetime(2200, 1, 1)), min_size=1, max_size=30))
def test_datetimes_without_zone_are_shanghai_wall_clock(moments):
    texts = [moment.isoformat(sep=" ") for moment in moments]
    result = parse_datetime(pd.Series(texts))
    assert [t.to_pydatetime() for t in result.value] == [moment.replace(tzinfo=SHANGHAI) for moment in moments]


@FAST
@given(st.lists(st.text(alphabet="0123456789-/年月日 :.TZ+　２０", max_size=22), min_size=1, max_size=30))
def test_date_normalisation_is_idempotent(texts):
    once = parse_date(pd.Series(texts))
    twice = parse_date(once.value)
    parsed = once.value.notna()
    assert twice.value[parsed].tolist() == once.value[parsed].tolist()
    assert twice.valid.tolist() == once.valid.tolist()
    assert not twice.repaired.any()


@FAST
@given(st.lists(st.datetimes(datetime(1000, 1, 1), datetime(9999, 1, 1)), min_size=1, max_size=20))
def test_datetime_normalisation_is_idempotent(moments):
    once = parse_datetime(pd.Series([moment.isoformat() for moment in moments]))
    twice = parse_datetime(once.value)
    assert twice.value.tolist() == once.value.tolist()
    assert twice.reason.fillna("").tolist() == once.reason.fillna("").tolist()
    assert not twice.repaired.any()
