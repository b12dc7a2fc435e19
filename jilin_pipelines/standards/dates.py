"""Dates and date-times in every format the departments use, to one type; unparseable values reported.

Accepted date forms (one column may mix them): ISO ``2025-06-01`` (also ``2025-6-1``), slashes ``2025/6/1``,
compact ``20250601``, Chinese ``2025年6月1日``, and Excel serial numbers of five digits (``45809`` =
2025-06-01; 10000-99999 is 1927-05-18 to 2173-10-13, so a year such as ``2025`` is not mistaken for one).
A date-time is one of those date forms followed by `` HH:MM[:SS[.ffffff]]`` (or ``T``), optionally with a zone
(``Z``, ``+08:00``), or an Excel serial with a day fraction. Times without a zone are Asia/Shanghai.
A value that matches a form but names no real day or time (``2025-02-30``, ``25:00``) is reported as
``date_invalid``, never rolled over.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import STRING, Column, Verdicts, as_arrow, to_numpy_bool
from .result import Reason, Repair, StandardResult
from .text import clean_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
DATE_DTYPE = "datetime64[us]"  # what parse_date gives: midnight, no zone (microseconds, as PostgreSQL)
DATETIME_DTYPE = pd.DatetimeTZDtype("us", SHANGHAI)  # what parse_datetime gives

_DATE_FORMS = (
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})",
    r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})",
    r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})",
    r"(?P<year>\d{4})年(?P<month>\d{1,2})月(?P<day>\d{1,2})日",
)
_TIME = (
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?"
)
_EXCEL_SERIAL = r"^\d{5}(?:\.\d+)?$"
_EXCEL_EPOCH = np.datetime64("1899-12-30", "us")  # serial 0 (Excel's fictitious 1900-02-29 is no concern from 61 on)
_CANONICAL_DATE = r"^\d{4}-\d{2}-\d{2}$"
_CANONICAL_DATETIME = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_MICROSECONDS_PER_DAY = 86_400 * 10**6


def today_in_shanghai() -> date:
    """Return today's date in Asia/Shanghai."""
    return datetime.now(SHANGHAI).date()


def real_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Return, element-wise, whether (year, month, day) is a day of the Gregorian calendar (years 1-9999)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    return (year >= 1) & (year <= 9999) & month_ok & (day >= 1) & (day <= days)


def date_values(year: np.ndarray, month: np.ndarray, day: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Return the days (year, month, day) as ``datetime64[us]`` at midnight, NaT where ``ok`` is False.

    The parts must form real dates where ``ok`` is True (see :func:`real_date`). The day count is the
    proleptic Gregorian "days from civil" arithmetic (H. Hinnant), in int64 throughout.
    """
    year = np.where(ok, year, 1970).astype(np.int64) - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468  # days since 1970-01-01
    microseconds = np.where(ok, days * _MICROSECONDS_PER_DAY, np.iinfo(np.int64).min)  # int64 min is NaT
    return microseconds.view(DATE_DTYPE)


def _integers(digits: pa.Array) -> np.ndarray:
    """Return strings of digits as int64, 0 where empty or null (a regex group that did not take part)."""
    return pc.fill_null(pc.cast(pc.if_else(pc.equal(digits, ""), None, digits), pa.int64()), 0).to_numpy(False)


class _Parts:
    """The fields read from a column of date(-time) text, positionally; ``found`` where some form matched."""

    FIELDS = ("year", "month", "day", "hour", "minute", "second", "microsecond", "zone_minutes")

    def __init__(self, size: int) -> None:
        self.found = np.zeros(size, bool)
        self.has_time = np.zeros(size, bool)
        self.has_zone = np.zeros(size, bool)
        self.serial_us = np.zeros(size, np.int64)  # Excel serials: microseconds after the Excel epoch
        self.is_serial = np.zeros(size, bool)
        for name in self.FIELDS:
            setattr(self, name, np.zeros(size, np.int64))

    def read(self, text: pa.Array) -> None:
        """Fill the fields from ``text``, each value by the first form that matches it.

        Each form is tried on the values no earlier form matched, so a column in one form is read in one pass.
        """
        for form in _DATE_FORMS:
            pending = np.flatnonzero(~self.found)
            parts = pc.extract_regex(text.take(pending), f"^{form}{_TIME}$")
            matched = to_numpy_bool(pc.is_valid(parts))
            at = pending[matched]
            self.found[at] = True
            for name in ("year", "month", "day", "hour", "minute", "second"):
                getattr(self, name)[at] = _integers(pc.struct_field(parts, name))[matched]
            fraction = pc.utf8_rpad(pc.struct_field(parts, "fraction"), 6, "0")  # .5 -> 500000 microseconds
            self.microsecond[at] = _integers(fraction)[matched]
            self.has_time[at] = to_numpy_bool(pc.not_equal(pc.struct_field(parts, "minute"), ""))[matched]
            zone = pc.struct_field(parts, "zone")
            self.has_zone[at] = to_numpy_bool(pc.not_equal(zone, ""))[matched]
            self.zone_minutes[at] = _zone_minutes(zone)[matched]
        pending = np.flatnonzero(~self.found)
        candidates = text.take(pending)
        at = pending[to_numpy_bool(pc.match_substring_regex(candidates, _EXCEL_SERIAL))]
        days = pc.cast(text.take(at), pa.float64()).to_numpy(False)
        self.serial_us[at] = np.rint(days * 86_400).astype(np.int64) * 10**6
        self.is_serial[at] = True
        self.found[at] = True

    def real(self) -> np.ndarray:
        """Return where the fields name a real day, time and zone offset (Excel serials always do)."""
        time_ok = (self.hour <= 23) & (self.minute <= 59) & (self.second <= 59)
        zone_ok = np.abs(self.zone_minutes) <= 14 * 60
        return self.is_serial | (real_date(self.year, self.month, self.day) & time_ok & zone_ok)

    def local_times(self, ok: np.ndarray) -> np.ndarray:
        """Return the wall-clock time of each value as naive ``datetime64[us]`` (NaT where not ``ok``)."""
        days = date_values(self.year, self.month, self.day, ok & ~self.is_serial)
        seconds = self.hour * 3600 + self.minute * 60 + self.second
        times = days + (seconds * 10**6 + self.microsecond).astype("timedelta64[us]")
        serials = _EXCEL_EPOCH + self.serial_us.astype("timedelta64[us]")
        return np.where(self.is_serial & ok, serials, times)


def _zone_minutes(zone: pa.Array) -> np.ndarray:
    """Return zone designators (``Z``, ``+08:00``, ``-0530``, or empty) as minutes east of UTC.

    Minutes of 60 or more give an offset far beyond the real ±14 hours, so that :meth:`_Parts.real` rejects it.
    """
    offset = to_numpy_bool(pc.greater_equal(pc.binary_length(zone), 5))  # not "" or "Z"
    hours = _integers(pc.if_else(pa.array(offset), pc.utf8_slice_codeunits(zone, 1, 3), ""))
    minutes = _integers(pc.if_else(pa.array(offset), pc.utf8_slice_codeunits(zone, -2), ""))
    sign = np.where(to_numpy_bool(pc.starts_with(zone, "-")), -1, 1)
    return sign * (hours * 60 + np.where(minutes < 60, minutes, 10**6))


def _as_text(values: Column) -> tuple[pa.Array, pd.Index, bool]:
    """Return the column as text, its index, and whether it already had a date or time type.

    Typed values (a datetime64 Series, pyarrow timestamps or dates) are rendered in ISO 8601; those with a
    zone in UTC (``Z``), which keeps historical offsets with seconds (Shanghai's +08:05:43 before 1901) exact.
    """
    values, index = as_arrow(values)
    if not (pa.types.is_timestamp(values.type) or pa.types.is_date(values.type)):
        return values.cast(STRING), index, False
    if pa.types.is_timestamp(values.type) and values.type.tz:
        utc = values.cast(pa.timestamp(values.type.unit, "UTC"))
        return pc.strftime(utc, "%Y-%m-%dT%H:%M:%SZ").cast(STRING), index, True
    return pc.strftime(values, "%Y-%m-%dT%H:%M:%S").cast(STRING), index, True


def _read(values: Column) -> tuple[pa.Array, pd.Index, Verdicts, _Parts, np.ndarray]:
    """Clean and read a date(-time) column; reject empty, unreadable and unreal values.

    Returns the cleaned text, the index, the verdicts, the parts and where the parts are real. For values that
    already had a date or time type, the text is blanked for the DATE_FORMAT repair check (nothing was repaired).
    """
    strings, index, typed = _as_text(values)
    verdicts = Verdicts(len(strings))
    text = clean_text(strings, verdicts)
    verdicts.reject_empty(text)
    parts = _Parts(len(strings))
    parts.read(text)
    verdicts.reject(~parts.found, Reason.FORMAT)
    real = parts.real()
    verdicts.reject(~real, Reason.DATE_INVALID)
    if typed:
        text = pa.nulls(len(text), STRING)
    return text, index, verdicts, parts, parts.found & real


def _shanghai_to_utc(local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return Asia/Shanghai wall-clock times (naive ``datetime64[us]``) as UTC instants, and where a wall-clock
    time did not exist or was ambiguous (summer time; the end of local mean time in 1901): there the earliest
    and the latest reading differ.
    """
    wall = pa.array(local)
    readings = [
        pc.assume_timezone(wall, timezone=SHANGHAI.key, ambiguous=choice, nonexistent=choice)
        for choice in ("earliest", "latest")
    ]
    unreal = ~to_numpy_bool(pc.equal(*readings)) & to_numpy_bool(pc.is_valid(wall))
    utc = readings[0].cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
    return utc, unreal


def _record_date_format(verdicts: Verdicts, text: pa.Array, parsed: np.ndarray, canonical: str) -> None:
    """Record the DATE_FORMAT repair for parsed values not written in the ``canonical`` ISO 8601 form
    (null text: the value had a date type, nothing to repair)."""
    written_otherwise = pc.invert(pc.match_substring_regex(text, canonical))
    verdicts.repaired(parsed & to_numpy_bool(written_otherwise), Repair.DATE_FORMAT)


def parse_date(values: Column, *, not_after: date | None = None) -> StandardResult:
    """Parse a column of dates written in any of the accepted forms (see the module docstring).

    Returns a :class:`StandardResult` whose ``value`` is ``datetime64[us]`` (midnight, no zone), NaT where not
    parsed. A value with a time of day is accepted only at midnight (``2025-06-01 00:00:00``, as spreadsheets
    render dates); otherwise it is ``format``. With ``not_after``, days after it are invalid with ``future``
    (the value is kept).
    """
    text, index, verdicts, parts, ok = _read(values)
    midnight = np.where(
        parts.is_serial,
        parts.serial_us % _MICROSECONDS_PER_DAY == 0,
        (parts.hour == 0) & (parts.minute == 0) & (parts.second == 0) & (parts.microsecond == 0) & ~parts.has_zone,
    )
    verdicts.reject(parts.found & ~midnight, Reason.FORMAT)
    ok &= midnight
    _record_date_format(verdicts, text, ok, _CANONICAL_DATE)
    days = parts.local_times(ok)
    if not_after is not None:
        verdicts.reject(ok & (days > np.datetime64(not_after, "us")), Reason.FUTURE)
    return verdicts.result(pd.Series(days, dtype=DATE_DTYPE), index)


def parse_datetime(values: Column, *, not_after: date | None = None) -> StandardResult:
    """Parse a column of date-times written in any of the accepted forms (see the module docstring).

    Returns a :class:`StandardResult` whose ``value`` is ``datetime64[us, Asia/Shanghai]``, NaT where not parsed.
    A time is required (a bare date is ``format``), except for Excel serials. Times without a zone are
    Asia/Shanghai; a local time that did not exist or was ambiguous there (the summer-time changes of
    1986-1991) is ``date_invalid``. With ``not_after``, times after the end of that day in Asia/Shanghai are
    invalid with ``future`` (the value is kept).
    """
    text, index, verdicts, parts, ok = _read(values)
    verdicts.reject(parts.found & ~parts.has_time & ~parts.is_serial, Reason.FORMAT)
    ok &= parts.has_time | parts.is_serial
    _record_date_format(verdicts, text, ok, _CANONICAL_DATETIME)
    local = parts.local_times(ok)
    shanghai_utc, unreal = _shanghai_to_utc(local)
    verdicts.reject(ok & ~parts.has_zone & unreal, Reason.DATE_INVALID)
    ok &= parts.has_zone | ~unreal
    offset_utc = local - (parts.zone_minutes * 60 * 10**6).astype("timedelta64[us]")
    utc = np.where(ok, np.where(parts.has_zone, offset_utc, shanghai_utc), np.datetime64("NaT", "us"))
    times = pd.Series(utc).dt.tz_localize("UTC").dt.tz_convert(SHANGHAI)
    if not_after is not None:
        end_of_day = pd.Timestamp(not_after, tz=SHANGHAI) + pd.Timedelta(days=1)
        verdicts.reject(ok & (times >= end_of_day).to_numpy(), Reason.FUTURE)
    return verdicts.result(times, index)
