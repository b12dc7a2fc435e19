"""Unified social credit codes (统一社会信用代码, GB 32100-2015): repair and validate.

18 characters from the alphabet ``0-9 A-Z`` without ``I O Z S V``: registering authority (1), entity type
(1), GB/T 2260 division of registration (6 digits), organisation code (9, GB 11714: 8 characters and a check
character ``0-9`` or ``X``), check character (1, MOD 31).
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from ._columns import Column, Verdicts, as_strings, char_matrix
from .result import Reason, StandardResult
from .text import clean_code

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 code characters; the position is the character's value
FORBIDDEN_LETTERS = "IOZSV"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714

# Byte -> value lookups (-1: not allowed). GB 11714 values every letter A-Z as 10-35, GB 32100 only its alphabet.
_VALUE = np.full(256, -1, np.int16)
_VALUE[np.frombuffer(ALPHABET.encode(), np.uint8)] = np.arange(len(ALPHABET))
_ORG_VALUE = np.full(256, -1, np.int16)
_ORG_VALUE[np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(36)
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode(), np.uint8)
_ORG_CHECK_BYTES = np.frombuffer(b"0123456789X0", np.uint8)  # for 11 - sum mod 11 = 0..11


def _weighted_sum(values: np.ndarray, weights: tuple[int, ...]) -> np.ndarray:
    total = np.zeros(len(values), np.int32)
    for position, weight in enumerate(weights):
        total += values[:, position].astype(np.int32) * weight
    return total


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
    verdicts.reject(length == 0, Reason.EMPTY)
    candidates = length == 18
    verdicts.reject(~candidates, Reason.FORMAT)
    at = np.flatnonzero(candidates)
    chars = char_matrix(codes.filter(candidates), 18)

    org_values = _ORG_VALUE[chars]
    division_digits = (chars[:, 2:8] >= ord("0")) & (chars[:, 2:8] <= ord("9"))
    verdicts.reject_at(at, (org_values < 0).any(axis=1) | ~division_digits.all(axis=1), Reason.FORMAT)
    code_values = _VALUE[chars]
    verdicts.reject_at(at, (code_values < 0).any(axis=1), Reason.FORBIDDEN_LETTER)

    check = _ALPHABET_BYTES[(31 - _weighted_sum(np.maximum(code_values[:, :17], 0), _WEIGHTS) % 31) % 31]
    verdicts.reject_at(at, check != chars[:, 17], Reason.CHECK_DIGIT)
    org_check = _ORG_CHECK_BYTES[11 - _weighted_sum(np.maximum(org_values[:, 8:16], 0), _ORG_WEIGHTS) % 11]
    verdicts.reject_at(at, org_check != chars[:, 16], Reason.ORG_CODE_CHECK_DIGIT)
    return verdicts.result(codes, index)
