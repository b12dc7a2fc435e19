"""Motor vehicle plate numbers (号牌号码, GA 36): repair, validate, and check against the plate type.

A plate is a province abbreviation (吉), the issuing office's letter (A) and a serial: five letters or digits
for ordinary plates (吉A12345, also motorcycles), ``D``/``F`` + a letter or digit + four digits for small
new-energy plates (吉AD12345), five digits + ``D``/``F`` for large new-energy plates (吉A12345D). The letters
I and O are never used. The province abbreviations and Jilin's office letters are data:
``plate_provinces.csv`` and ``plate_letters_jilin.csv`` beside this module.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import Column, Verdicts, as_strings, labels, string_series, to_numpy_bool
from .result import Reason, Repair, StandardResult
from .text import MIDDLE_DOT, MIDDLE_DOT_LOOKALIKES, clean_code

JILIN = "吉"
KINDS = ("ordinary", "new_energy_small", "new_energy_large")
_SERIAL_FORMS = (r"^[A-HJ-NP-Z0-9]{5}$", r"^[DF][A-HJ-NP-Z0-9][0-9]{4}$", r"^[0-9]{5}[DF]$")  # one per kind
PLATE_TYPES = {  # plate type code (号牌种类) -> the kind of number it carries
    "01": "ordinary",  # large vehicle
    "02": "ordinary",  # small vehicle
    "07": "ordinary",  # motorcycle
    "51": "new_energy_large",
    "52": "new_energy_small",
}
_STRUCTURE = r"^(?P<province>\p{Han})(?P<letter>[A-Z])(?P<serial>[A-Z0-9]{5,6})$"


@functools.cache
def _reference(name: str) -> pd.DataFrame:
    """Return one of the CSV tables shipped beside this module, all columns as text."""
    with resources.files(__package__).joinpath(name).open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def plate_provinces() -> pd.DataFrame:
    """Return the province abbreviations of plates: columns ``prefix`` (吉), ``province``, ``division``."""
    return _reference("plate_provinces.csv")


def plate_letters_jilin() -> pd.DataFrame:
    """Return Jilin's issuing-office letters: columns ``letter`` (A), ``issuer`` (长春市), ``division``."""
    return _reference("plate_letters_jilin.csv")


def validate_plate(plates: Column, plate_types: Column | None = None) -> StandardResult:
    """Validate and repair plate numbers, optionally against their plate types (aligned by position).

    Repairs: full-width characters, spaces, lower case, a separator dot (吉A·12345). Checks, in this order: a
    Chinese character, a letter and 5-6 letters or digits (``format``); no I or O (``forbidden_letter``); a
    known province abbreviation (``province_unknown``); the serial fits one of the kinds (``format``); for
    Jilin plates, an office letter in use (``issuer_unknown``); with ``plate_types``: a known type code,
    leading zero optional (``plate_type_unknown``), whose kind is the number's (``plate_type_mismatch``).

    Returns a :class:`StandardResult` whose ``value`` is the plate and whose ``derived`` column ``kind`` is one of
    ``ordinary``, ``new_energy_small``, ``new_energy_large``.
    """
    strings, index = as_strings(plates)
    verdicts = Verdicts(len(strings))
    spaced = clean_code(strings, verdicts)
    numbers = pc.replace_substring_regex(spaced, f"[{MIDDLE_DOT}{MIDDLE_DOT_LOOKALIKES}]", "")
    verdicts.repaired(to_numpy_bool(pc.not_equal(spaced, numbers)), Repair.SEPARATOR)
    verdicts.reject_empty(numbers)

    parts = pc.extract_regex(numbers, _STRUCTURE)
    verdicts.reject(~to_numpy_bool(pc.is_valid(parts)), Reason.FORMAT)
    verdicts.reject(to_numpy_bool(pc.match_substring_regex(numbers, "[IO]")), Reason.FORBIDDEN_LETTER)
    province, letter = pc.struct_field(parts, "province"), pc.struct_field(parts, "letter")
    verdicts.reject(~to_numpy_bool(pc.is_in(province, pa.array(plate_provinces()["prefix"]))), Reason.PROVINCE_UNKNOWN)
    kind = np.zeros(len(strings), np.uint8)  # 0 = none, k = KINDS[k - 1]
    serial = pc.struct_field(parts, "serial")
    for code, form in enumerate(_SERIAL_FORMS, start=1):
        kind[(kind == 0) & to_numpy_bool(pc.match_substring_regex(serial, form))] = code
    verdicts.reject(kind == 0, Reason.FORMAT)
    jilin = to_numpy_bool(pc.equal(province, JILIN))
    known_letter = to_numpy_bool(pc.is_in(letter, pa.array(plate_letters_jilin()["letter"])))
    verdicts.reject(jilin & ~known_letter, Reason.ISSUER_UNKNOWN)

    if plate_types is not None:
        types, _ = as_strings(plate_types)
        if len(types) != len(strings):
            raise ValueError(f"validate_plate: {len(strings)} plates but {len(types)} plate types")
        types = pc.utf8_lpad(clean_code(types, Verdicts(len(types))), 2, "0")
        verdicts.reject(~to_numpy_bool(pc.is_in(types, pa.array(list(PLATE_TYPES)))), Reason.PLATE_TYPE_UNKNOWN)
        expected = pd.Series(types.to_pandas()).map({t: KINDS.index(k) + 1 for t, k in PLATE_TYPES.items()})
        verdicts.reject(expected.fillna(0).to_numpy(np.uint8) != kind, Reason.PLATE_TYPE_MISMATCH)
    kinds = string_series(labels(kind, list(KINDS)), pd.RangeIndex(len(strings)))
    return verdicts.result(numbers, index, derived={"kind": kinds})
