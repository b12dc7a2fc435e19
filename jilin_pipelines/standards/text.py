"""Text normalisation: full-width to half-width, whitespace (U+3000 included), the middle dot of names.

The two cleaning steps every other validator starts with live here too: :func:`clean_code` for codes
(whitespace removed, upper case) and :func:`clean_text` for text (whitespace trimmed and collapsed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import STRING, Column, Verdicts, as_strings, to_numpy_bool
from .result import Reason, Repair, StandardResult

MIDDLE_DOT = "\u00b7"  # · the separator in transcribed minority and foreign names (阿卜杜拉·买买提)

# Characters written for the middle dot: . (also full-width ． after half-width conversion), • ‧ ・ ･ and ⋅ ∙.
MIDDLE_DOT_LOOKALIKES = ".\u2022\u2027\u30fb\uff65\u22c5\u2219"

# Full-width ASCII variants U+FF01-U+FF5E to their ASCII counterparts (０ → 0, Ａ → A, ｘ → x, ． → .).
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}

# Every Unicode whitespace character (U+3000, U+00A0, tabs, ...) to a plain space; zero-width characters dropped.
_SPACES = {code: " " for code in range(0x10000) if chr(code).isspace() and code != 0x20}
_SPACES.update({0x200B: None, 0xFEFF: None})  # zero-width space, byte-order mark

# The characters the two tables change, as a regex class: only values containing one need translating.
_TRANSLATED = "[" + "".join(f"\\x{{{code:04X}}}" for code in sorted(_FULL_WIDTH.keys() | _SPACES.keys())) + "]"

_ASCII_WHITESPACE_RUN = r"\s+"  # after _SPACES, all whitespace left is ASCII
_NOT_ONE_SPACE = r"\s\s|[\t\n\v\f\r]"  # whitespace that collapsing would change


def _changed(before: pa.Array, after: pa.Array) -> np.ndarray:
    """Return where ``after`` differs from ``before`` (numpy bool)."""
    return to_numpy_bool(pc.not_equal(before, after))


def _to_half_width(values: pa.Array, verdicts: Verdicts, where: np.ndarray) -> pa.Array:
    """Return the values at ``where`` (a shorter array, same order) with full-width characters made half-width and
    Unicode whitespace made a plain space (zero-width characters dropped). Plain ASCII values need not be in
    ``where``: their whitespace is the callers' own whitespace step's business.

    Records the repairs FULL_WIDTH and WHITESPACE where they changed a value.
    """
    subset = values.filter(where)
    needed = to_numpy_bool(pc.match_substring_regex(subset, _TRANSLATED))
    if not needed.any():
        return subset
    at = np.flatnonzero(where)[needed]
    after = pd.Series(pd.arrays.ArrowStringArray(subset.filter(needed)))
    for table, repair in ((_FULL_WIDTH, Repair.FULL_WIDTH), (_SPACES, Repair.WHITESPACE)):
        translated = after.str.translate(table)
        verdicts.repaired_at(at, (translated != after).to_numpy(bool, na_value=False), repair)
        after = translated
    return pc.replace_with_mask(subset, pa.array(needed), pa.array(after.array, STRING))


def clean_code(values: pa.Array, verdicts: Verdicts) -> pa.Array:
    """Return codes with full-width characters made half-width, all whitespace removed and letters upper-cased.

    Records the repairs FULL_WIDTH, WHITESPACE and CASE. Only values that are not plain ASCII letters and
    digits need the first two steps, so clean columns pass quickly.
    """
    dirty = ~to_numpy_bool(pc.ascii_is_alnum(values)) & to_numpy_bool(pc.is_valid(values))
    if dirty.any():
        half = _to_half_width(values, verdicts, dirty)
        compact = pc.replace_substring_regex(half, _ASCII_WHITESPACE_RUN, "")
        verdicts.repaired_at(np.flatnonzero(dirty), _changed(half, compact), Repair.WHITESPACE)
        values = pc.replace_with_mask(values, pa.array(dirty), compact)
    upper = pc.utf8_upper(values)
    verdicts.repaired(_changed(values, upper), Repair.CASE)
    return upper


def digit_codes(values: Column, length: int) -> tuple[pd.Index, Verdicts, pa.Array, np.ndarray]:
    """The prologue of a standard whose codes are ``length`` decimal digits: the values as cleaned codes
    (:func:`clean_code`), their index and verdicts with the empty ones rejected and those not of ``length`` digits
    rejected as ``format``, and which codes are well formed."""
    strings, index = as_strings(values)
    verdicts = Verdicts(len(strings))
    codes = clean_code(strings, verdicts)
    verdicts.reject_empty(codes)
    well_formed = to_numpy_bool(pc.and_(pc.equal(pc.binary_length(codes), length), pc.ascii_is_decimal(codes)))
    verdicts.reject(~well_formed, Reason.FORMAT)
    return index, verdicts, codes, well_formed


def clean_text(values: pa.Array, verdicts: Verdicts) -> pa.Array:
    """Return text with full-width characters made half-width, whitespace trimmed and runs collapsed to one space.

    Records the repairs FULL_WIDTH and WHITESPACE.
    """
    non_ascii = ~to_numpy_bool(pc.string_is_ascii(values)) & to_numpy_bool(pc.is_valid(values))
    if non_ascii.any():
        values = pc.replace_with_mask(values, pa.array(non_ascii), _to_half_width(values, verdicts, non_ascii))
    trimmed = pc.utf8_trim_whitespace(values)
    messy = to_numpy_bool(pc.match_substring_regex(trimmed, _NOT_ONE_SPACE))
    collapsed = pc.replace_substring_regex(trimmed.filter(messy), _ASCII_WHITESPACE_RUN, " ")
    collapsed = pc.replace_with_mask(trimmed, pa.array(messy), collapsed)
    verdicts.repaired(_changed(values, collapsed), Repair.WHITESPACE)
    return collapsed


def _replace_until_stable(values: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """Return ``values`` with ``pattern`` replaced until nothing matches (for matches that share characters)."""
    while pc.any(pc.match_substring_regex(values, pattern)).as_py():
        values = pc.replace_substring_regex(values, pattern, replacement)
    return values


def normalise_text(values: Column) -> StandardResult:
    """Normalise free text: full-width characters to half-width, whitespace (U+3000 included) trimmed and collapsed.

    Returns a :class:`StandardResult` whose ``value`` is the normalised text; valid unless empty.
    """
    strings, index = as_strings(values)
    verdicts = Verdicts(len(strings))
    text = clean_text(strings, verdicts)
    verdicts.reject_empty(text)
    return verdicts.result(text, index)


def normalise_name(values: Column) -> StandardResult:
    """Normalise personal names: as :func:`normalise_text`, then every ``.``, ``•``, ``‧``, ``・`` (and full-width
    ``．``) becomes the middle dot ``·``, and spaces next to the middle dot or between two Chinese characters go.

    Returns a :class:`StandardResult` whose ``value`` is the normalised name; valid unless empty.
    ``"　阿卜杜拉 • 买买提 "`` → ``"阿卜杜拉·买买提"``, ``"张 三"`` → ``"张三"``, ``"John Smith"`` stays.
    """
    strings, index = as_strings(values)
    verdicts = Verdicts(len(strings))
    text = clean_text(strings, verdicts)
    dotted = pc.replace_substring_regex(text, f"[{MIDDLE_DOT_LOOKALIKES}]", MIDDLE_DOT)
    verdicts.repaired(_changed(text, dotted), Repair.MIDDLE_DOT)
    joined = pc.replace_substring_regex(dotted, f" ?{MIDDLE_DOT} ?", MIDDLE_DOT)
    joined = _replace_until_stable(joined, r"(\p{Han}) (\p{Han})", r"\1\2")
    verdicts.repaired(_changed(dotted, joined), Repair.WHITESPACE)
    verdicts.reject_empty(joined)
    return verdicts.result(joined, index)
