"""Identifiers of the sample world, computed column-wise: resident ID numbers (GB 11643) and unified social
credit codes (GB 32100, with the organisation code of GB 11714 inside).

These are the generator's own implementations; the tests check them against python-stdnum.
"""

from __future__ import annotations

import numpy as np

# GB 11643: weights 2^(17-i) mod 11, check = "10X98765432"[sum mod 11]
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
ID_CHECK = np.array(list("10X98765432"))

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ORG_LETTERS = "ABCDEFGHJKLMNPQRTUWXY"  # letters an organisation code may use inside a USCC

_ALPHA_INDEX = {c: i for i, c in enumerate(USCC_ALPHABET)}


def id_check_digits(body17: np.ndarray) -> np.ndarray:
    """Check characters for 17-digit bodies given as int64."""
    body = np.asarray(body17, dtype=np.int64)
    total = np.zeros(body.shape, dtype=np.int64)
    rest = body.copy()
    for i in range(16, -1, -1):
        total += (rest % 10) * ID_WEIGHTS[i]
        rest //= 10
    return ID_CHECK[total % 11]


def id_check_of(body: str) -> str:
    """Check character of one 17-character body (digits only)."""
    return str(id_check_digits(np.array([int(body)]))[0])


def make_ids(code6: np.ndarray, birth_yyyymmdd: np.ndarray, seq3: np.ndarray) -> np.ndarray:
    """18-character ID numbers from address code, birth date (YYYYMMDD ints) and order code."""
    body = np.asarray(code6, dtype=np.int64) * 10**11 + np.asarray(birth_yyyymmdd, dtype=np.int64) * 1000 + seq3
    return np.char.add(body.astype("U17"), id_check_digits(body))


def org_check(values: np.ndarray) -> np.ndarray:
    """GB 11714 check characters for an (n, 8) array of character values (digit 0-9, letter A=10 … Z=35)."""
    c = 11 - (values.astype(np.int64) @ ORG_WEIGHTS) % 11
    out = c.astype("U2")
    out[c == 10] = "X"
    out[c == 11] = "0"
    return out.astype("U1")


def make_usccs(prefix2: np.ndarray, division6: np.ndarray, rng: np.random.Generator, letter_share: float = 0.1) -> np.ndarray:
    """Valid USCCs: registration authority + entity type (``prefix2``), division code, an organisation code
    (8 characters + GB 11714 check) and the GB 32100 check character."""
    n = len(prefix2)
    digits = rng.integers(0, 10, size=(n, 8))
    letters = rng.integers(0, len(ORG_LETTERS), size=(n, 8))
    use_letter = rng.random((n, 8)) < letter_share
    # character values for the GB 11714 check (A=10 … Z=35)
    letter_values = np.array([10 + ord(c) - ord("A") for c in ORG_LETTERS])
    values = np.where(use_letter, letter_values[letters], digits)
    org_chars = np.where(use_letter, np.array(list(ORG_LETTERS))[letters], digits.astype("U1"))
    org_body = org_chars[:, 0] if n else np.array([], dtype="U8")
    for k in range(1, 8):
        org_body = np.char.add(org_body, org_chars[:, k]) if n else org_body
    org = np.char.add(org_body, org_check(values))
    first17 = np.char.add(np.char.add(np.asarray(prefix2, dtype="U2"), np.asarray(division6, dtype="U6")), org)
    return np.char.add(first17, uscc_check_chars(first17))


def uscc_check_chars(first17: np.ndarray) -> np.ndarray:
    """GB 32100 check characters for 17-character USCC bodies."""
    alphabet = np.array(list(USCC_ALPHABET))
    if len(first17) == 0:
        return np.array([], dtype="U1")
    lookup = np.full(128, -1, dtype=np.int64)
    for i, c in enumerate(USCC_ALPHABET):
        lookup[ord(c)] = i
    codes = np.frombuffer(np.asarray(first17, dtype="U17").astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17)
    total = lookup[codes] @ USCC_WEIGHTS
    return alphabet[(31 - total % 31) % 31]
