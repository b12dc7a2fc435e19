"""Resident identity numbers (公民身份号码, GB 11643-1999): repair, validate, derive birth date and sex.

An 18-character number is: address code (6, GB/T 2260), birth date ``YYYYMMDD`` (8), sequence (3, odd for
men, even for women), check character (ISO 7064 MOD 11-2, ``0``-``9`` or ``X``). The legacy 15-digit
numbers lack the century (always 19) and the check character.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import (
    Column,
    Verdicts,
    as_strings,
    char_columns,
    labels,
    string_series,
    strings_from_columns,
    to_numpy_bool,
    weighted_sum,
)
from .dates import date_values, real_date, today_in_shanghai
from .divisions import OPEN, division_last_years
from .result import Reason, Repair, StandardResult
from .text import clean_code

# MOD 11-2 weights 2^(17-i) mod 11 of the first 17 digits, and the check character for each remainder.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARACTERS = np.frombuffer(b"10X98765432", np.uint8)
_ZERO = ord("0")
#: Address codes of the residence permits of Hong Kong, Macau and Taiwan residents (港澳台居民居住证, since 2018):
#: the permit numbers follow GB 11643 with these codes, which no county of the mainland carries.
RESIDENCE_PERMIT_CODES = np.array([810000, 820000, 830000], np.int64)
#: The earliest plausible birth year: a number claiming an earlier one is not a person's.
EARLIEST_BIRTH_YEAR = 1800


def check_characters(digits: np.ndarray) -> np.ndarray:
    """Return the MOD 11-2 check character (ASCII byte) of each number, given as a (17, n) matrix of digit values."""
    return _CHECK_CHARACTERS[weighted_sum(digits, _WEIGHTS) % 11]


def _upgrade_legacy(numbers: np.ndarray) -> np.ndarray:
    """Return 15-digit numbers, a (15, n) ASCII matrix, as 18-character ones: century 19 and check character."""
    upgraded = np.empty((18, numbers.shape[1]), np.uint8)
    upgraded[:6] = numbers[:6]
    upgraded[6:8] = np.frombuffer(b"19", np.uint8)[:, None]
    upgraded[8:17] = numbers[6:]
    upgraded[17] = check_characters(upgraded[:17] - _ZERO)
    return upgraded


def _number(digits: np.ndarray) -> np.ndarray:
    """Return the decimal number spelt by the digit values of each column of a (width, n) matrix (int64)."""
    result = np.zeros(digits.shape[1], np.int64)
    for row in digits:
        result = result * 10 + row
    return result


def validate_resident_id(values: Column, *, today: date | None = None) -> StandardResult:
    """Validate and repair resident ID numbers.

    Repairs: full-width characters, spaces, lower-case ``x``, legacy 15-digit numbers upgraded to 18.
    Checks, in this order (the first failure is the reason): 18 characters, 17 digits then a digit or ``X``
    (``format``); the MOD 11-2 check character (``check_digit``); the birth date exists
    (``birth_date_invalid``) and is not after ``today`` (default: today in Asia/Shanghai,
    ``birth_date_future``; a birth year before 1800 is no real birth date either); the address code is a GB/T 2260 code (``division_unknown``) that was in force at
    some time from the birth year on (``division_not_in_force``) - a number keeps the code it was issued with,
    so the retired 220381 stays valid for anyone born up to 2020. The residence permits of Hong Kong, Macau and
    Taiwan residents (address codes 810000, 820000, 830000) are valid alike.

    Returns a :class:`StandardResult` whose ``value`` is the 18-character number and whose ``derived`` columns
    are ``birth_date`` (``datetime64[us]``) and ``sex`` (``"1"`` male, ``"2"`` female, as GB/T 2261.1).
    """
    strings, index = as_strings(values)
    verdicts = Verdicts(len(strings))
    numbers = clean_code(strings, verdicts)
    length = pc.fill_null(pc.binary_length(numbers), 0).to_numpy(False).copy()
    verdicts.reject_empty(numbers)

    legacy = (length == 15) & to_numpy_bool(pc.ascii_is_decimal(numbers))
    if legacy.any():
        upgraded = _upgrade_legacy(char_columns(numbers.filter(legacy), 15))
        numbers = pc.replace_with_mask(numbers, pa.array(legacy), strings_from_columns(upgraded))
        verdicts.repaired(legacy, Repair.LEGACY_15)
        length[legacy] = 18

    candidates = length == 18
    verdicts.reject(~candidates, Reason.FORMAT)
    at = np.flatnonzero(candidates)
    chars = char_columns(numbers.filter(candidates), 18)
    digits = chars[:17] - _ZERO  # uint8: anything but 0-9 wraps to > 9
    last = chars[17]
    well_formed = (digits.max(axis=0, initial=0) <= 9) & (((last >= _ZERO) & (last <= ord("9"))) | (last == ord("X")))
    verdicts.reject_at(at, ~well_formed, Reason.FORMAT)
    digits[:, ~well_formed] = 0
    verdicts.reject_at(at, check_characters(digits) != last, Reason.CHECK_DIGIT)

    year, month, day = _number(digits[6:10]), _number(digits[10:12]), _number(digits[12:14])
    real = real_date(year, month, day) & (year >= EARLIEST_BIRTH_YEAR)
    verdicts.reject_at(at, ~real, Reason.BIRTH_DATE_INVALID)
    today = today or today_in_shanghai()
    born_after_today = year * 10_000 + month * 100 + day > today.year * 10_000 + today.month * 100 + today.day
    verdicts.reject_at(at, born_after_today, Reason.BIRTH_DATE_FUTURE)
    address = _number(digits[:6])
    last_in_force = np.where(np.isin(address, RESIDENCE_PERMIT_CODES), OPEN, division_last_years(address))
    verdicts.reject_at(at, last_in_force == 0, Reason.DIVISION_UNKNOWN)
    verdicts.reject_at(at, last_in_force < year, Reason.DIVISION_NOT_IN_FORCE)

    birth_date = np.full(len(strings), np.datetime64("NaT", "us"))
    birth_date[at] = date_values(year, month, day, real)
    sex_codes = np.zeros(len(strings), np.uint8)
    sex_codes[at] = np.where(digits[16] % 2 == 1, 1, 2)  # the sequence number: odd for men
    sex = string_series(labels(sex_codes, ["1", "2"]), pd.RangeIndex(len(strings)))
    return verdicts.result(numbers, index, derived={"birth_date": pd.Series(birth_date), "sex": sex})
