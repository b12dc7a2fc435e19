"""Unified social credit codes (统一社会信用代码, GB 32100-2015): repair and validate.

18 characters from the alphabet ``0-9 A-Z`` without ``I O Z S V``: registering authority (1), entity type
(1), GB/T 2260 division of registration (6 digits), organisation code (9, GB 11714: 8 characters and a check
character ``0-9`` or ``X``), check character (1, MOD 31).
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from ._columns import Column, Verdicts, as_strings, char_columns, weighted_sum
from .result import Reason, StandardResult
from .text import clean_code

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 code characters; the position is the character's value
FORBIDDEN_LETTERS = "IOZSV"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714

# Byte -> value lookups (NOT_ALLOWED elsewhere). GB 11714 values every letter A-Z as 10-35; GB 32100 only its alphabet.
NOT_ALLOWED = 255
_VALUE = np.full(256, NOT_ALLOWED, np.uint8)
_VALUE[np.frombuffer(ALPHABET.encode(), np.uint8)] = np.arange(len(ALPHABET))
_ORG_VALUE = np.full(256, NOT_ALLOWED, np.uint8)
_ORG_VALUE[np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(36)
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode(), np.uint8)
_ORG_CHECK_BYTES = np.frombuffer(b"0123456789X0", np.uint8)  # indexed by 11 - (sum mod 11), which is 1..11


def validate_uscc(values: Column) -> StandardResult:
    """Validate and repair unified social credit codes.

    Repairs: full-width characters, spaces, lower case. Checks, in this order: 18 characters of ``0-9 A-Z``,
    positions 3-8 digits (``format``); none of the letters I, O, Z, S, V (``forbidden_letter``); the check
    character (``check_digit``); the embedded organisation code's own GB 11714 check character, position 17
    (``org_code_check_digit``).

    Returns a :class:`StandardResult` whose ``value`` is the upper-case code.
    """
    strings, index = as_strings(values)
    verdicts = Verdicts(len(strings))
    codes = clean_code(strings, verdicts)
    length = pc.fill_null(pc.binary_length(codes), 0).to_numpy(False)
    verdicts.reject_empty(codes)
    candidates = length == 18
    verdicts.reject(~candidates, Reason.FORMAT)
    at = np.flatnonzero(candidates)
    chars = char_columns(codes.filter(candidates), 18)

    org_values = _ORG_VALUE[chars]  # every letter and digit has a value here
    division_digits = org_values[2:8].max(axis=0, initial=0) <= 9
    verdicts.reject_at(at, (org_values.max(axis=0, initial=0) == NOT_ALLOWED) | ~division_digits, Reason.FORMAT)
    code_values = _VALUE[chars]
    allowed = code_values.max(axis=0, initial=0) != NOT_ALLOWED
    verdicts.reject_at(at, ~allowed, Reason.FORBIDDEN_LETTER)

    code_values[:, ~allowed] = 0
    org_values[:, ~allowed] = 0
    check = _ALPHABET_BYTES[(31 - weighted_sum(code_values[:17], _WEIGHTS) % 31) % 31]
    verdicts.reject_at(at, check != chars[17], Reason.CHECK_DIGIT)
    org_check = _ORG_CHECK_BYTES[11 - weighted_sum(org_values[8:16], _ORG_WEIGHTS) % 11]
    verdicts.reject_at(at, org_check != chars[16], Reason.ORG_CODE_CHECK_DIGIT)
    return verdicts.result(codes, index)
