"""GB/T 2260 administrative division codes with their history: valid, valid in a year, current successor.

The reference data is python-stdnum's ``cn/loc`` database (compiled from Wikipedia's tables of the
codes since 1980), read through stdnum's own ``numdb`` API. Each code there carries one or more
periods such as ``[1989-2020]公主岭市``; a period without years has been in force throughout.
The years are inclusive: 220381 公主岭市 [1989-2020] and 220184 公主岭市 [2020-] are both in force in 2020.

Successors are derived from the data (see :func:`_derive_successors`); where the data cannot tell, the
small table ``division_successor_overrides.csv`` beside this module says so explicitly.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from stdnum import numdb

from ._columns import Column, labels, string_series
from .result import Reason, Repair, StandardResult
from .text import digit_codes

OPEN = 9999  # the last year of a code still in force
_PERIOD = re.compile(r"^(?:\[(?P<first>\d*)-(?P<last>\d*)\])?(?P<name>.+)$")

# Names that say what kind of division a code is rather than which place (市辖区 "the city's districts"):
# two codes sharing one of them are not the same place, so they never make one the other's successor.
GENERIC_NAMES = frozenset({"市辖区", "郊区", "城区", "矿区", "市区", "县", "区", "省直辖县级行政单位"})
# Type suffixes, longest first: 九台县, 九台市 and 九台区 are one place (九台) of changing type.
_TYPE_SUFFIXES = ("自治县", "自治旗", "自治州", "特区", "林区", "地区", "县", "市", "区", "旗", "盟", "州")


@functools.cache
def division_periods() -> pd.DataFrame:
    """Return the GB/T 2260 history, one row per period of a code, in the order stdnum lists them.

    Columns: ``code`` (6-digit string), ``name``, ``first_year`` and ``last_year`` (Int64, inclusive; null
    where the period is open on that side).
    """
    rows = []

    def walk(prefixes: list, prefix: str) -> None:
        for _length, low, high, props, children in prefixes:
            for number in range(int(low), int(high) + 1):
                code = prefix + str(number).zfill(len(low))
                if "county" in props:
                    for period in props["county"].split(","):
                        match = _PERIOD.match(period)
                        rows.append((code, match["name"], match["first"] or None, match["last"] or None))
                walk(children, code)

    walk(numdb.get("cn/loc").prefixes, "")
    frame = pd.DataFrame(rows, columns=["code", "name", "first_year", "last_year"])
    frame = frame[frame["code"].str.len() == 6].reset_index(drop=True)
    for column in ("first_year", "last_year"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    return frame


def _stem(name: str) -> str:
    """Return a division name without its type suffix (九台县 → 九台)."""
    for suffix in _TYPE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _is_prefecture(code: str) -> bool:
    return code.endswith("00")


def _derive_successors(periods: pd.DataFrame) -> dict[str, str]:
    """Return, for each retired code the data can tell it for, the code that took it over.

    A retired code's successor is a code that begins, in the year the retired code's last period ends or
    in the year after, a period under a matching name. The first of these tiers to find candidates decides:
    the same name in the same province; the same place under another type suffix in the same province
    (九台县 → 九台市); the same name in another province (Hainan 1988, Chongqing 1997). A prefecture-level
    code (xxxx00) is never taken over by a county-level one, and generic names (:data:`GENERIC_NAMES`) never
    match. Several candidates are narrowed to those of the retired code's own level; if several remain, the
    data cannot tell and the code gets no successor. Successors may themselves be retired (chains).
    """
    by_name: dict[tuple, set[str]] = defaultdict(set)
    for code, name, first in periods[["code", "name", "first_year"]].itertuples(index=False):
        if pd.notna(first) and name not in GENERIC_NAMES:
            by_name[("name", name, int(first))].add(code)
            by_name[("stem", _stem(name), int(first))].add(code)
    ends = periods["last_year"].fillna(OPEN)
    last = periods.assign(end=ends).sort_values(["code", "end"], kind="stable").groupby("code").tail(1)
    successors = {}
    for code, name, last_year in last[["code", "name", "last_year"]].itertuples(index=False):
        if pd.isna(last_year) or name in GENERIC_NAMES:
            continue
        tiers = [
            (kind, key, year, same_province)
            for kind, key, same_province in (("name", name, True), ("stem", _stem(name), True), ("name", name, False))
            for year in (int(last_year), int(last_year) + 1)
        ]
        for kind, key, year, same_province in tiers:
            candidates = {
                other
                for other in by_name.get((kind, key, year), ())
                if other != code
                and (other[:2] == code[:2]) == same_province
                and not (_is_prefecture(code) and not _is_prefecture(other))
            }
            if len(candidates) > 1:
                candidates = {other for other in candidates if _is_prefecture(other) == _is_prefecture(code)}
            if candidates:
                if len(candidates) == 1:
                    successors[code] = candidates.pop()
                break
    return successors


def _successor_overrides() -> dict[str, str]:
    """Return the explicit successors of ``division_successor_overrides.csv`` (code → successor)."""
    with resources.files(__package__).joinpath("division_successor_overrides.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=str)
    return dict(zip(table["code"], table["successor"]))


@dataclass(frozen=True)
class _DivisionTable:
    """The history as arrays: every code has a row; ``row_of`` maps the code's integer value to it."""

    codes: np.ndarray  # row -> 6-digit code
    names: np.ndarray  # row -> the name of its last period
    row_of: np.ndarray  # int(code) -> row, -1 where unknown
    first_year: int  # the years the data covers; earlier and later years are read as these
    last_year_covered: int
    in_force: np.ndarray  # [row, year - first_year] -> bool
    last_year: np.ndarray  # row -> last year in force (OPEN if still in force)
    current_row: np.ndarray  # row -> row of the code in force today that took it over (itself if in force), -1 none

    def rows(self, code_values: np.ndarray) -> np.ndarray:
        """Return the rows of 6-digit codes given as integers (-1 where unknown)."""
        return self.row_of[code_values]


@functools.cache
def _table() -> _DivisionTable:
    """Return the history as arrays, built once per process (about half a second)."""
    periods = division_periods()
    codes = np.array(sorted(periods["code"].unique()))
    row_by_code = {code: row for row, code in enumerate(codes)}
    row_of = np.full(10**6, -1, np.int32)
    row_of[codes.astype(np.int64)] = np.arange(len(codes))
    years = pd.concat([periods["first_year"], periods["last_year"]]).dropna()
    first_year, last_covered = int(years.min()), int(years.max())
    in_force = np.zeros((len(codes), last_covered - first_year + 1), bool)
    last_year = np.zeros(len(codes), np.int32)
    names = np.empty(len(codes), object)
    for code, name, first, last in periods.itertuples(index=False):
        row = row_by_code[code]
        start = first_year if pd.isna(first) else int(first)
        end = OPEN if pd.isna(last) else int(last)
        in_force[row, start - first_year : min(end, last_covered) - first_year + 1] = True
        if end >= last_year[row]:
            last_year[row], names[row] = end, name
    successors = _derive_successors(periods) | _successor_overrides()
    current_row = np.full(len(codes), -1, np.int32)
    for row, code in enumerate(codes):
        heir, seen = code, set()  # follow the chain of successors to a code in force today
        while heir is not None and last_year[row_by_code[heir]] != OPEN and heir not in seen:
            seen.add(heir)
            heir = successors.get(heir)
        if heir is not None and last_year[row_by_code[heir]] == OPEN:
            current_row[row] = row_by_code[heir]
    return _DivisionTable(codes, names, row_of, first_year, last_covered, in_force, last_year, current_row)


def division_last_years(code_values: np.ndarray) -> np.ndarray:
    """Return, for 6-digit codes given as integers, the last year each was in force.

    ``OPEN`` (9999) for codes in force today, 0 for codes that never were GB/T 2260 codes.
    """
    table = _table()
    rows = table.rows(code_values)
    return np.where(rows >= 0, table.last_year[rows], 0)


def _per_value_years(year, size: int) -> np.ndarray:
    """Return ``year`` (one int, or one per value) as a float per value, NaN where not given."""
    years = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(year, dtype=object))), errors="coerce")
    return np.broadcast_to(years.to_numpy(float, na_value=np.nan), size)


def validate_division(
    values: Column, *, year: int | Column | None = None, to_current: bool = False
) -> StandardResult:
    """Validate GB/T 2260 division codes: six digits, a code at some time (``division_unknown`` otherwise).

    ``year`` (an int, or one per value as a Series/array; null means "any time") additionally requires the
    code to have been in force in that year (``division_not_in_force``); years outside the data's range
    (1980 to the latest edition) are read as its first or last year. With ``to_current``, a retired code is
    replaced by the code in force today that took it over (repair ``division_successor``: 220381 → 220184);
    a retired code without a known successor is ``division_retired``.

    Returns a :class:`StandardResult` whose ``value`` is the code (its successor with ``to_current``) and whose
    ``derived`` column ``name`` is that code's latest name.
    """
    index, verdicts, codes, six_digits = digit_codes(values, 6)
    table = _table()
    code_values = pc.cast(pc.if_else(pa.array(six_digits), codes, "0"), pa.int64()).to_numpy(False)
    rows = table.rows(code_values)
    verdicts.reject(rows < 0, Reason.DIVISION_UNKNOWN)
    known = rows >= 0
    if year is not None:
        years = _per_value_years(year, len(rows))
        checked = known & ~np.isnan(years)
        columns = np.clip(np.nan_to_num(years), table.first_year, table.last_year_covered).astype(np.int64)
        in_force = table.in_force[np.where(checked, rows, 0), columns - table.first_year]
        verdicts.reject(checked & ~in_force, Reason.DIVISION_NOT_IN_FORCE)
    if to_current:
        current = np.where(known, table.current_row[rows], -1)
        verdicts.reject(known & (current < 0), Reason.DIVISION_RETIRED)
        replaced = known & (current >= 0) & (current != rows)
        verdicts.repaired(replaced, Repair.DIVISION_SUCCESSOR)
        codes = pc.replace_with_mask(codes, pa.array(replaced), pa.array(table.codes[current[replaced]], codes.type))
        rows = np.where(replaced, current, rows)
    names = string_series(labels(np.where(rows >= 0, rows + 1, 0), list(table.names)), pd.RangeIndex(len(rows)))
    return verdicts.result(codes, index, derived={"name": names})
